"""The stack config as typed, versioned models (pydantic v2, unknown keys rejected).

Each field of `ClusterConfig` is one Pulumi config key `kubev6:<camelCaseName>`.
Field-level rules (types, families, ranges) live here; rules that relate several
keys (overlaps, membership, counts) live in `topology_checks.py` so each can name
every key involved.

Every field is documented where it is declared: `Field(default, description=...)` says
what the key does, and the rules of `topology_checks.py` that concern it. The README's
config reference is generated from these (`python -m config_schemas.reference`), so a
description is what operators read: Markdown, short, for someone writing the YAML.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import netaddr
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from config_schemas.addresses import (
    IPv4Prefix,
    IPv6Address,
    IPv6Prefix,
    Nat64Prefix,
    UnicastIPv4Address,
    UnicastIPv4Interface,
    UnicastIPv4Prefix,
    UnicastIPv6Prefix,
)
from config_schemas.strings import (
    AbsolutePath,
    DnsDomain,
    DnsZone,
    Hostname,
    HttpUrl,
    ImageReference,
    ImageRepository,
    ImageSource,
    InterfaceName,
    LibvirtUri,
    SshHost,
    UserName,
    WholeNumber,
    go_duration,
)
from config_schemas.versions import CONTAINERD_VERSION, KUBERNETES_VERSION, RUNC_VERSION

# Empty-list defaults are `default=[]`, which pydantic copies for each model: with
# `default_factory=list` it takes the signature of the builtin `list`, and the first such call
# compiles tokenize's regular expressions, about 10 ms of every preview.
API_VERSION = "kubev6.dev/v1alpha1"
# artifacts/versions.env: the version scripts/build-artifacts.sh builds (kubeadm refuses a
# control plane older than its own minor minus one).
DEFAULT_KUBERNETES_VERSION = KUBERNETES_VERSION
WELL_KNOWN_NAT64_PREFIX = netaddr.IPNetwork("64:ff9b::/96")
OLDEST_KUBERNETES_MINOR = 31  # kubeadm's v1beta4 config API


class Strict(BaseModel):
    """Base for every config object: camelCase keys, unknown keys are an error."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


_CMDLINE_WORD = re.compile(r"[A-Za-z0-9_.,:/=+-]+")


def _kernel_word(value: str) -> str:
    if not _CMDLINE_WORD.fullmatch(value):
        raise ValueError(f"{value!r} is not a kernel command-line word (key=value or a flag)")
    return value


KernelWord = Annotated[str, AfterValidator(_kernel_word)]


class LibvirtPlatform(Strict):
    """The stack declares the machines as libvirt domains: a storage pool, a base image with a
    copy-on-write disk per machine, the IPv6-only cluster network, the gateway's IPv4 uplink (a
    libvirt NAT network) and a cloud-init disk per machine."""

    kind: Literal["libvirt"] = Field(description="Selects this platform.")
    uri: LibvirtUri = Field(
        "qemu:///system",
        description="libvirt connection URI, e.g. `qemu+ssh://user@host/system`. A local URI (`qemu:///system`) "
        "also turns on the check that `network.nodePrefix` overlaps no route of the machine running `pulumi up` "
        "except through `clusterBridge`.",
    )
    domain_type: Literal["kvm", "qemu"] = Field(
        "kvm",
        description="`kvm` where (nested) virtualisation works; `qemu` (software emulation, TCG) elsewhere, "
        "much slower: raise `kubernetes.timeouts` with it.",
    )
    base_image: ImageSource = Field(
        description="The cloud image (qcow2 or raw) under every machine's copy-on-write disk: an http(s) URL or "
        "an absolute path on the libvirt host."
    )
    pool_path: AbsolutePath = Field(
        "/var/lib/libvirt/images/kube-v6",
        description="Folder of the stack's storage pool on the libvirt host (base image, disks, cloud-init disks).",
    )
    cluster_bridge: InterfaceName = Field(
        "kv6br0",
        description="Bridge of the IPv6-only cluster network. The libvirt host takes `network.nodePrefix`'s "
        "first address on it, which no machine may use.",
    )
    uplink_bridge: InterfaceName = Field(
        "kv6up0", description="Bridge of the gateway's IPv4 uplink (a libvirt NAT network); not `clusterBridge`."
    )
    uplink_prefix: UnicastIPv4Prefix = Field(
        netaddr.IPNetwork("192.168.164.0/24"),
        description="IPv4 prefix of the uplink network; the libvirt host takes its first address. "
        "`gateway.uplinkAddress` must lie inside it.",
    )
    vcpus: Annotated[WholeNumber, Field(ge=1, le=64)] = Field(2, description="Virtual CPUs of every machine.")
    memory_mib: Annotated[WholeNumber, Field(ge=512)] = Field(
        2048, description="Memory of each Kubernetes node, in MiB."
    )
    gateway_memory_mib: Annotated[WholeNumber, Field(ge=256)] = Field(512, description="Memory of the gateway, in MiB.")
    disk_gib: Annotated[WholeNumber, Field(ge=4)] = Field(20, description="Size of every machine's disk, in GiB.")
    kernel: AbsolutePath | None = Field(
        None,
        description="Direct kernel boot: a kernel file on the libvirt host, booted instead of the image's boot "
        "loader. Unset: the image boots itself.",
    )
    initrd: AbsolutePath | None = Field(
        None, description="The initrd for `kernel`, a file on the libvirt host; only with `kernel`."
    )
    kernel_cmdline: Annotated[list[KernelWord], Field(min_length=1)] | None = Field(
        None,
        description="The kernel command line for `kernel`, one word per entry (`key=value` or a bare flag), "
        "e.g. `[root=LABEL=kv6root, ro, console=ttyS0]`; only with `kernel`.",
    )
    uplink_dns: bool = Field(
        True,
        description="libvirt's resolver (dnsmasq) on the uplink's first address; `false` where another resolver "
        "serves that address.",
    )


class ExistingPlatform(Strict):
    """The machines already exist: the stack configures them over SSH, at each machine's `host`, else
    its address. It creates no machine and removes only what it wrote."""

    kind: Literal["existing"] = Field(description="Selects this platform.")


Platform = Annotated[LibvirtPlatform | ExistingPlatform, Field(discriminator="kind")]


class BgpConfig(Strict):
    """The BGP sessions of `network.routing: bgp`: one iBGP autonomous system, every node a client
    of the gateway's route reflector over IPv6."""

    asn: Annotated[WholeNumber, Field(ge=1, le=4294967294)] = Field(
        64512,
        description="The cluster's autonomous system number (iBGP: the gateway and every node share it), e.g. a "
        "private one from 64512-65534 or 4200000000-4294967294.",
    )
    hold_time: Annotated[WholeNumber, Field(ge=3, le=65535)] = Field(
        9,
        description="BGP hold time in seconds (keepalives every third of it): how long a node that vanished "
        "without closing its session (a crash, a lost link) keeps its pod route elsewhere. A node removed by "
        "`pulumi up` closes its session and is withdrawn at once.",
    )


class NetworkConfig(Strict):
    """The cluster's IPv6 prefixes and how machines attach to the node network. The four prefixes
    (`nodePrefix`, `podSupernet`, `serviceSubnet`, `nat64Prefix`) must not overlap; each is global
    (2000::/3) or unique local (fc00::/7) and written without host bits."""

    node_prefix: UnicastIPv6Prefix = Field(
        description="IPv6 prefix of the node network the gateway and nodes share, e.g. `fd00::/64`; /120 or "
        "larger. With a local platform (a local `platform.uri`, or `localBridge` set) it must overlap no route "
        "of the machine running `pulumi up` but those through the cluster's own bridge."
    )
    pod_supernet: UnicastIPv6Prefix = Field(
        description="IPv6 prefix holding every node's pod /64 (`nodes[].podSubnet`), e.g. `fd00:100::/40`; "
        "/64 or larger."
    )
    service_subnet: UnicastIPv6Prefix = Field(
        description="IPv6 range of the Services' cluster IPs, e.g. `fd00:1234::/112`: /108 to /120 "
        "(kube-apiserver refuses larger ranges; kubeadm clamps /108 to /111 to their first /112, a warning). "
        "The cluster DNS Service takes its 10th address."
    )
    nat64_prefix: Nat64Prefix = Field(
        WELL_KNOWN_NAT64_PREFIX,
        description="The prefix NAT64 maps IPv4 into and DNS64 synthesises AAAA records in: /32, /40, /48, "
        "/56, /64 or /96 (RFC 6052), /96 with TAYGA, at most /96 with Unbound. The well-known `64:ff9b::/96` "
        "(also `64:ff9b:1::/48`) or a global or unique local one. The well-known prefix may not be used for "
        "non-global IPv4 (RFC 6052 section 3.1): a `gateway.nat64.reachableIpv4` that is not global needs a "
        "network-specific prefix such as `fd00:64:ff9b::/96`.",
    )
    default_route_via_gateway: bool = Field(
        True,
        description="Give the nodes `default via <gateway.address>`: kubeadm needs a default route to pick "
        "the node's address.",
    )
    cluster_interface: InterfaceName = Field(
        "eth0", description="Every machine's interface on the node network; not `gateway.uplinkInterface`."
    )
    dns_domain: DnsDomain = Field("cluster.local", description="The cluster's DNS domain.")
    local_bridge: InterfaceName | None = Field(
        None,
        description="The device on the machine running `pulumi up` that carries the node network, if any (the "
        "labs). Routes of this machine through it are expected; any other route overlapping `nodePrefix` is "
        "refused, as a cluster network there would break this machine's own connectivity.",
    )
    routing: Literal["static", "bgp"] = Field(
        "static",
        description="How pod /64s are routed between the nodes and the gateway. `static`: every host gets a "
        "route to every other node's pod /64 (N+1 routes per node; one node changed re-runs every host's network "
        "step). `bgp`: each node runs a BGP speaker (`kubev6-bgp`, GoBGP, built into the artifacts) announcing its "
        "own pod /64 to the gateway, the route reflector, which learns every pod /64 (NAT64's return traffic) and "
        "reflects them to the nodes; no host's rendered config names another node. Needs "
        "`kubernetes.artifacts: mirror` and `stages.install` (the speaker comes from the gateway's mirror).",
    )
    bgp: BgpConfig = Field(default_factory=BgpConfig, description="The BGP sessions of `routing: bgp`.")
    policy: Literal["none", "kube-network-policies"] = Field(
        "none",
        description="NetworkPolicy enforcement. `none`: any pod reaches any pod. `kube-network-policies`: "
        "the DaemonSet of sigs.k8s.io/kube-network-policies on every node (nftables + nfqueue; air-gapped, its "
        "image built into the artifacts); needs `stages.kubeadm`.",
    )


class Nat64Config(Strict):
    """NAT64 on the gateway: the cluster's way to IPv4, for the cluster's own prefixes only."""

    engine: Literal["jool", "tayga"] = Field(
        "jool",
        description="`jool` (in-kernel, stateful, translates to the uplink address) or `tayga` (userspace, "
        "a dynamic IPv4 pool masqueraded behind the uplink). With TAYGA and the well-known NAT64 prefix, "
        "TAYGA takes the node network's last-but-one address, which no machine may use.",
    )
    ipv4_pool: UnicastIPv4Prefix = Field(
        netaddr.IPNetwork("192.168.255.0/24"),
        description="TAYGA's dynamic IPv4 pool, masqueraded behind the uplink (Jool uses the uplink address); "
        "must not overlap `gateway.uplinkAddress`'s subnet, `platform.uplinkPrefix`, `reachableIpv4` or hold a "
        "`dns64.upstream`.",
    )
    reachable_ipv4: list[IPv4Prefix] = Field(
        default=[],  # pydantic copies it for each model (why not default_factory=list: see the top)
        description="IPv4 destinations the cluster must reach through NAT64 if not only the global internet, "
        "e.g. a lab's `[192.168.170.0/24]`. Non-global ones need a network-specific `network.nat64Prefix`. "
        "Empty: the global internet.",
    )


class Dns64Config(Strict):
    """DNS64 on the gateway: the nodes' resolver, answering IPv4-only names with AAAA records in
    `network.nat64Prefix`."""

    engine: Literal["unbound", "bind9"] = Field("unbound", description="`unbound` or `bind9` (BIND 9's `named`).")
    upstream: Annotated[list[UnicastIPv4Address], Field(min_length=1)] = Field(
        description="IPv4 resolvers the DNS64 forwards to, at least one, e.g. `[192.168.164.1]`; not the "
        "gateway's own `uplinkAddress`."
    )
    local_zones: list[DnsZone] = Field(
        default=[],  # pydantic copies it for each model (why not default_factory=list: see the top)
        description="Zones the upstream serves although RFC 6761 reserves them (e.g. `test.` in a lab), "
        "kept with their final dot and answered without DNSSEC validation.",
    )


class GatewayConfig(Strict):
    """The dual-stack NAT64/DNS64 gateway: on the node network and an IPv4 uplink, the nodes' default
    route and resolver; it routes each pod /64 to its node."""

    name: Hostname = Field("kube-nat64-dns64", description="Host name of the gateway; unique among the machines.")
    address: IPv6Address = Field(
        description="The gateway's IPv6 address, inside `network.nodePrefix` (not its first or last address), "
        "e.g. `fd00::64`."
    )
    host: SshHost | None = Field(
        None,
        description="Where SSH reaches the gateway (existing hosts): a host name or an IP address. Unset: `address`.",
    )
    uplink_interface: InterfaceName = Field(
        "eth1", description="The gateway's IPv4 uplink interface; not `network.clusterInterface`."
    )
    uplink_address: UnicastIPv4Interface | None = Field(
        None,
        description="The gateway's IPv4 address on the uplink with its prefix length, e.g. `192.168.164.2/24`; "
        "not the subnet's network or broadcast address. Required on the libvirt platform (cloud-init writes "
        "it), inside `platform.uplinkPrefix` and not the libvirt host's first address there. Existing hosts "
        "keep their uplink as it is.",
    )
    uplink_gateway: UnicastIPv4Address | None = Field(
        None,
        description="The gateway's IPv4 default route, inside `uplinkAddress`'s subnet, neither the gateway's "
        "own address nor the subnet's network or broadcast address; used only with `uplinkAddress`. Unset: "
        "the uplink subnet's first address.",
    )
    nat64: Nat64Config = Field(default_factory=Nat64Config, description="The NAT64 translator.")
    dns64: Dns64Config = Field(description="The DNS64 resolver.")


class NodeConfig(Strict):
    """A Kubernetes node. The list holds one `master` or an odd number of them (stacked etcd: one
    member per master) and, for the test workloads, at least one `minion` (a warning without)."""

    name: Hostname = Field(description="Host name and Kubernetes node name; unique, also against `gateway.name`.")
    role: Literal["master", "minion"] = Field(
        description="`master` (the control plane: one, or an odd number with stacked etcd behind "
        "`kubernetes.controlPlaneEndpoint`; the first in the list runs `kubeadm init`, the others join the "
        "control plane in list order) or `minion` (a worker)."
    )
    address: IPv6Address = Field(
        description="The node's IPv6 address, inside `network.nodePrefix` (not its first or last address); "
        "unique, also against `gateway.address`. e.g. `fd00::101`."
    )
    pod_subnet: IPv6Prefix | None = Field(
        None,
        description="The node's pod /64, inside `network.podSupernet`, overlapping no other node's pod /64 "
        "and no other prefix of `network`. Unset: the supernet's /64 numbered by the address's host part "
        "(`::101` -> the 0x101st /64), stable when nodes are added; set it where that number does not fit "
        "the supernet.",
    )
    host: SshHost | None = Field(
        None,
        description="Where SSH reaches the node: a host name or an IP address; only with `platform.kind: "
        "existing`, and no other machine's target (`host`, else `address`). Unset: `address`.",
    )


Timeout = Annotated[str, AfterValidator(go_duration("4m0s"))]
TokenTtl = Annotated[str, AfterValidator(go_duration("24h0m0s", " (0s: never expires)"))]


def _positive(value: str) -> str:
    # Every unit-bearing part of a Go duration is a number: one above zero makes it positive.
    if not any(float(n) > 0 for n in re.findall(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", value)):
        raise ValueError(f"{value!r} must be longer than 0s")
    return value


# A join credential or a drain that never ends is not an option: both must be above zero.
PositiveDuration = Annotated[str, AfterValidator(go_duration("15m0s")), AfterValidator(_positive)]


class TimeoutsConfig(Strict):
    """kubeadm v1beta4 timeouts, in Go's duration syntax; raise them for software-emulated machines."""

    control_plane_component_health_check: Timeout = Field(
        "4m0s", description="How long `kubeadm init` waits for the control-plane components to be healthy."
    )
    kubelet_health_check: Timeout = Field("4m0s", description="How long kubeadm waits for the kubelet to be healthy.")
    kubernetes_api_call: Timeout = Field(
        "1m0s",
        alias="kubernetesAPICall",  # kubeadm's spelling
        description="How long kubeadm waits for each call to the API server.",
    )
    discovery: Timeout = Field("5m0s", description="How long `kubeadm join` waits to discover the cluster.")
    tls_bootstrap: Timeout = Field("5m0s", description="How long `kubeadm join` waits for the kubelet's TLS bootstrap.")


class KubeletConfig(Strict):
    """Kubelet settings for machines unlike a stock systemd host; a real machine keeps the defaults."""

    cgroup_driver: Literal["systemd", "cgroupfs"] = Field(
        "systemd",
        description="`systemd` (the init system manages cgroups) or `cgroupfs` (no systemd, e.g. namespace "
        "machines); containerd's runc follows it (`SystemdCgroup`).",
    )
    fail_cgroup_v1: bool = Field(
        True,
        description="Kubernetes 1.35+ refuses cgroup v1 hosts unless this is `false` (KEP-5573); with `false`, "
        "`kubernetes.ignorePreflightErrors` needs `SystemVerification` too.",
    )
    max_pods: Annotated[WholeNumber, Field(ge=1, le=10000)] | None = Field(
        None,
        description="The kubelet's `maxPods`: how many pods a node runs at most. Unset: the kubelet's default "
        "(110). A live cluster takes a change in place: each node's kubelet is restarted with it, one config "
        "for all nodes.",
    )
    cgroup_root_prefix: AbsolutePath | None = Field(
        None,
        description="Several kubelets on one host (nodes as namespaces): each node's pods go under the cgroup "
        "`<cgroupRootPrefix>-<node name>` (kubelet `--cgroup-root`), which must exist. Unset: the root cgroup.",
    )


def _release(value: str) -> str:
    if not re.fullmatch(r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", value):
        raise ValueError(f"{value!r} is not a release version like 2.3.7")
    return value.removeprefix("v")


ReleaseVersion = Annotated[str, AfterValidator(_release)]


class ContainerdConfig(Strict):
    """The container runtime (containerd 2 with runc) and its settings for unusual runtimes; a real
    machine keeps the defaults."""

    version: ReleaseVersion = Field(
        CONTAINERD_VERSION,
        description="containerd release the nodes run: with `artifacts: mirror` the one the artifacts hold "
        "(built from its Go module, `artifacts/versions.env`), online the release of containerd's GitHub page. "
        "It must be one containerd recommends for `kubernetes.version` (its RELEASES.md table).",
    )
    runc_version: ReleaseVersion = Field(
        RUNC_VERSION,
        description="runc release containerd runs containers with (built like containerd, or downloaded online).",
    )

    restrict_oom_score_adj: bool = Field(
        False,
        description="Where the runtime lacks CAP_SYS_RESOURCE (some sandboxes), a pod's negative "
        "oom_score_adj cannot be set: `true` makes containerd clamp it to its own (`restrict_oom_score_adj`).",
    )


class KubeProxyConfig(Strict):
    """kube-proxy settings for unusual hosts; a real machine keeps the defaults."""

    mode: Literal["iptables", "ipvs", "nftables"] = Field(
        "iptables",
        description="kube-proxy's backend: `iptables`, `nftables` (needs nf_tables in the nodes' kernels) or "
        "`ipvs` (needs the kernel's IPVS, `ip_vs` and its schedulers: a preflight step on each node fails before "
        "kubeadm runs where the kernel has none, naming this key).",
    )

    conntrack_max_per_core: Annotated[WholeNumber, Field(ge=0)] | None = Field(
        None,
        description="kube-proxy's `conntrack.maxPerCore`; `0` leaves `nf_conntrack_max` alone (it cannot be "
        "written inside a network namespace). Unset: kube-proxy's default.",
    )


class MirrorConfig(Strict):
    """The artifact mirror of `kubernetes.artifacts: mirror`: the machine running `pulumi up` holds
    the artifacts (built by scripts/build-artifacts.sh); the gateway serves them over IPv6 to the nodes."""

    source: AbsolutePath | None = Field(
        None,
        description="Folder with `bin/` and `images/` on the machine running `pulumi up`. Unset: the build "
        "cache of scripts/build-artifacts.sh for `kubernetes.version` (`/var/cache/kube-v6/artifacts/v<version>`, "
        "or under `$KUBEV6_ARTIFACTS`).",
    )
    port: Annotated[WholeNumber, Field(ge=1, le=65535)] = Field(
        8089,
        description="TCP port of the gateway's HTTP server for the artifacts; not 53 (the DNS64 resolver) or "
        "`ssh.port`.",
    )
    registry_port: Annotated[WholeNumber, Field(ge=1, le=65535)] = Field(
        5000,
        description="TCP port of the gateway's OCI registry (plain HTTP), which holds every built image and is "
        "containerd's mirror of registry.k8s.io and docker.io on the nodes, so pulls work air-gapped.",
    )


class ControlPlaneEndpointConfig(Strict):
    """The address every kubeconfig, kubelet and join uses to reach the API servers
    (kubeadm's `controlPlaneEndpoint`). Several masters need one that belongs to no single master."""

    mode: Literal["first-master", "gateway-haproxy"] = Field(
        "first-master",
        description="`first-master`: the first master's address, port 6443 (one master only). "
        "`gateway-haproxy`: HAProxy (Debian's) on the gateway, in TCP mode, health-checking every master's "
        "API server (`GET /readyz` over TLS) and forwarding to those that answer; needed with more than one "
        "master. The gateway is then one more machine the control plane depends on (see the README's "
        "trade-off against a virtual address held by the masters).",
    )
    address: IPv6Address | None = Field(
        None,
        description="With `gateway-haproxy`: the IPv6 address HAProxy listens on, inside `network.nodePrefix` "
        "(not its first or last address) and no machine's address but the gateway's; an address other "
        "than `gateway.address` is added to the gateway's `network.clusterInterface`. Unset: "
        "`gateway.address`.",
    )
    port: Annotated[WholeNumber, Field(ge=1, le=65535)] = Field(
        6443,
        description="With `gateway-haproxy`: HAProxy's TCP port; not another port the gateway listens on (53, "
        "`ssh.port`, the mirror's ports, BGP's 179). The API servers always listen on 6443. `first-master`: "
        "6443 only.",
    )


PREFLIGHT_CHECK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _preflight_checks(values: list[str]) -> list[str]:
    for value in values:
        if not PREFLIGHT_CHECK.fullmatch(value):
            raise ValueError(f"{value!r} is not a kubeadm preflight check name (e.g. SystemVerification)")
    return values


class KubernetesConfig(Strict):
    """What kubeadm sets up and where the Kubernetes software comes from."""

    version: str = Field(
        DEFAULT_KUBERNETES_VERSION,
        description="Kubernetes version, a full patch release like `1.36.1` (a leading `v` is dropped): packages "
        f"and images are pinned to it. 1.{OLDEST_KUBERNETES_MINOR} or newer (kubeadm's v1beta4 config API); "
        "kubeadm 1.36 deploys 1.35 or newer. The default is the version scripts/build-artifacts.sh builds "
        "(`artifacts/versions.env`).",
    )
    cluster_name: Hostname = Field("kube-v6", description="kubeadm's cluster name.")
    artifacts: Literal["online", "mirror"] = Field(
        "online",
        description="`online`: packages from `packageRepository`, images from `imageRepository`. `mirror` "
        "(air-gapped): binaries and images built from source by scripts/build-artifacts.sh, served by the "
        "gateway over IPv6 (`kubernetes.mirror`); images are used as imported (pull policy `Never`).",
    )
    mirror: MirrorConfig = Field(
        default_factory=MirrorConfig,
        description="With `artifacts: mirror`: where the artifacts are and where the gateway serves them.",
    )
    kubelet: KubeletConfig = Field(
        default_factory=KubeletConfig, description="Kubelet settings for machines unlike a stock systemd host."
    )
    containerd: ContainerdConfig = Field(
        default_factory=ContainerdConfig, description="containerd settings for unusual runtimes."
    )
    kube_proxy: KubeProxyConfig = Field(
        default_factory=KubeProxyConfig, description="kube-proxy settings for unusual hosts."
    )
    ignore_preflight_errors: Annotated[list[str], AfterValidator(_preflight_checks)] = Field(
        default=[],  # pydantic copies it for each model (why not default_factory=list: see the top)
        description="kubeadm preflight checks whose errors become warnings, at init and join, e.g. "
        "`[SystemVerification]` on a cgroup v1 host.",
    )
    image_repository: ImageRepository = Field(
        "registry.k8s.io",
        description="Where the control-plane and pause images come from, e.g. `registry.example:5000/k8s`.",
    )
    package_repository: HttpUrl = Field(
        "https://pkgs.k8s.io/core:/stable:",
        description="Base URL of the Kubernetes Debian package repository (`artifacts: online`); "
        "`/v<minor>/deb/` is appended.",
    )
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig, description="kubeadm's v1beta4 timeouts.")
    control_plane_endpoint: ControlPlaneEndpointConfig = Field(
        default_factory=ControlPlaneEndpointConfig,
        description="Where the API servers are reached: the first master, or HAProxy on the gateway in front "
        "of every master. It cannot change under a live cluster.",
    )
    schedule_on_master: bool = Field(
        False, description="Let ordinary pods run on the master (no control-plane taint; small clusters)."
    )
    token_ttl: TokenTtl = Field(
        "24h0m0s",
        description="Lifetime of the bootstrap token `kubeadm init` creates, a Go duration; `0s`: never expires. "
        "No minion joins with it (each join gets a token of its own, `joinTokenTtl`): it is there for an operator's "
        "own `kubeadm join` and ends with its lifetime.",
    )
    join_token_ttl: PositiveDuration = Field(
        "15m0s",
        description="Lifetime of the bootstrap token made on the master for each minion's join, at the time of "
        "that join (`kubeadm token create`), a Go duration above 0s; destroying the join deletes it.",
    )
    drain_timeout: PositiveDuration = Field(
        "5m0s",
        description="How long removing a minion waits for `kubectl drain` (cordon, then evictions that respect "
        "PodDisruptionBudgets) before it fails and leaves the node cordoned, a Go duration above 0s.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        # The minor decides "too old" however the version is written (1.9, 1.9.0, v1.9).
        match = re.fullmatch(r"v?1\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?", value)
        if not match:
            raise ValueError(f"{value!r} is not a Kubernetes version like {DEFAULT_KUBERNETES_VERSION}")
        if int(match[1]) < OLDEST_KUBERNETES_MINOR:
            raise ValueError(
                f"{value} is too old: the kubeadm v1beta4 config API needs 1.{OLDEST_KUBERNETES_MINOR} or newer"
            )
        if match[2] is None:
            raise ValueError(
                f"{value!r} is not a full Kubernetes version like {DEFAULT_KUBERNETES_VERSION}: packages and "
                "images are pinned to a patch release"
            )
        return value.removeprefix("v")


_PUBLIC_KEY = re.compile(r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [ -~]*)?")


class SshConfig(Strict):
    """How the stack reaches every machine over SSH (pulumi-command's remote connection)."""

    user: UserName = Field(
        "root", description="SSH user on every machine (on libvirt, the user cloud-init authorises the key for)."
    )
    port: Annotated[WholeNumber, Field(ge=1, le=65535)] = Field(
        22,
        description="SSH port of every machine; not a port another service there listens on: 53 (the gateway's "
        "resolver), `kubernetes.mirror.port`, and with `stages.kubeadm` Kubernetes' ports (2379-2381, 6443, "
        "10248-10259) and NodePort range (30000-32767).",
    )
    public_key: str | None = Field(
        None,
        description="One OpenSSH public key line such as `ssh-ed25519 AAAA... comment`: the public half of the "
        "secret `kubev6:sshPrivateKey`; each requires the other. Neither set: the stack generates a key pair. "
        "A private key here is refused.",
    )
    dial_error_limit: Annotated[WholeNumber, Field(ge=-1)] = Field(
        60,
        description="SSH dial attempts while the machines boot (pulumi-command's `dialErrorLimit`); `-1`: unlimited.",
    )
    per_dial_timeout: Annotated[WholeNumber, Field(ge=1)] = Field(
        10, description="Seconds per SSH dial attempt (pulumi-command's `perDialTimeout`)."
    )

    @field_validator("public_key")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        # The private-key check comes first: a pasted private key is not a public key line either.
        if value is not None and "PRIVATE KEY" in value:
            raise ValueError("this is a private key; put it in kubev6:sshPrivateKey with --secret")
        # One line: it is written into cloud-init's user-data and authorized_keys.
        if value is not None and not _PUBLIC_KEY.fullmatch(value.strip()):
            raise ValueError("expected one OpenSSH public key line such as 'ssh-ed25519 AAAA... comment'")
        return value


class StagesConfig(Strict):
    """Each stage can be switched off; a switched-off stage is reported in the outputs."""

    install: bool = Field(True, description="Install containerd and kubeadm, kubelet and kubectl on the nodes.")
    kubeadm: bool = Field(True, description="Run `kubeadm init` and `kubeadm join`; needs `install`.")
    workloads: bool = Field(True, description="Deploy the test workloads and run their checks; needs `kubeadm`.")


class WorkloadsConfig(Strict):
    """The test workloads: an echo Deployment and check Jobs for pod-to-pod, Service by name, CoreDNS
    and NAT64 egress."""

    namespace: Hostname = Field(
        "kubev6-checks",
        description="Namespace of the test workloads, created with them and deleted by `pulumi destroy`: not one "
        "of Kubernetes' own (`default`, `kube-*`).",
    )
    image: ImageReference = Field(
        "registry.k8s.io/e2e-test-images/agnhost:2.53",
        description="Image of the echo server (agnhost `netexec`, serving HTTP).",
    )
    check_image: ImageReference = Field(
        "docker.io/library/busybox:1.36",
        description="Image the check Jobs run (`nslookup`, `wget`).",
    )
    egress_url: HttpUrl = Field(
        "http://ipv4.google.com/",
        description="An IPv4-only URL the egress check fetches through DNS64 and NAT64.",
    )
    replicas: Annotated[WholeNumber, Field(ge=2, le=100)] = Field(
        2, description="Echo server replicas, spread over the minions; raised to the number of minions if lower."
    )


class ClusterConfig(Strict):
    """The stack config. Each key below is the Pulumi config key `kubev6:<key>` in `Pulumi.<stack>.yaml`,
    written as structured YAML; the stacks' files are worked examples.

    Unknown keys are errors. Every problem is reported at once, naming the key, before any resource is
    declared. Each value is checked against what it becomes: interface names as Linux takes them (at
    most 15 letters, digits, `-_.`; not `lo`, `all` or `default`), DNS names, image references, URLs
    and paths without quotes, spaces or shell characters (nothing is copied into a rendered file
    unchecked), IPv6 prefixes global or unique local (the NAT64 prefix also `64:ff9b::/96`), counts
    and sizes whole numbers (`true` is not 1), durations in Go's syntax (`24h0m0s`). What two parts
    of the system share must differ: machine names, addresses and SSH targets, pod subnets and
    prefixes, the ports one machine listens on, the interfaces and bridges of the cluster and the
    uplink side."""

    api_version: Literal["kubev6.dev/v1alpha1"] = Field(API_VERSION, description="Version of this config API.")
    platform: Platform = Field(
        description="Where the machines come from, by `kind`: `libvirt` (the stack declares VMs) or `existing` "
        "(hosts reached over SSH)."
    )
    network: NetworkConfig = Field(description="The cluster's IPv6 prefixes and the node network.")
    gateway: GatewayConfig = Field(description="The NAT64/DNS64 gateway, the cluster's only way to IPv4.")
    nodes: Annotated[list[NodeConfig], Field(min_length=1)] = Field(
        description="The Kubernetes nodes: one `master`, or an odd number of them (3, 5: stacked etcd keeps "
        "a quorum; an even number is refused) with `kubernetes.controlPlaneEndpoint.mode: gateway-haproxy`, and, "
        "for the test workloads, at least one `minion` (a warning without); names and addresses unique, also "
        "against the gateway's."
    )
    kubernetes: KubernetesConfig = Field(
        default_factory=KubernetesConfig, description="What kubeadm sets up and where its software comes from."
    )
    ssh: SshConfig = Field(default_factory=SshConfig, description="How the stack reaches the machines over SSH.")
    stages: StagesConfig = Field(
        default_factory=StagesConfig, description="Which stages run; each needs the one before it."
    )
    workloads: WorkloadsConfig = Field(
        default_factory=WorkloadsConfig, description="The test workloads that check the cluster once it is up."
    )
