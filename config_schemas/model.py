"""The stack config as typed, versioned models (pydantic v2, unknown keys rejected).

Each field of `ClusterConfig` is one Pulumi config key `kubev6:<camelCaseName>`.
Field-level rules (types, families, ranges) live here; rules that relate several
keys (overlaps, membership, counts) live in `topology_checks.py` so each can name
every key involved.
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
from config_schemas.versions import KUBERNETES_VERSION

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
    """Machines are libvirt domains declared by the stack."""

    kind: Literal["libvirt"]
    uri: LibvirtUri = "qemu:///system"
    # kvm where nested virtualisation works; qemu (software emulation, TCG) elsewhere.
    domain_type: Literal["kvm", "qemu"] = "kvm"
    # A qcow2/raw cloud image: an http(s) URL or a local path on the libvirt host.
    base_image: ImageSource
    pool_path: AbsolutePath = "/var/lib/libvirt/images/kube-v6"
    cluster_bridge: InterfaceName = "kv6br0"
    uplink_bridge: InterfaceName = "kv6up0"
    # The gateway's IPv4 uplink: a libvirt NAT network of this prefix; the host takes its first address.
    uplink_prefix: UnicastIPv4Prefix = netaddr.IPNetwork("192.168.164.0/24")
    vcpus: Annotated[WholeNumber, Field(ge=1, le=64)] = 2
    memory_mib: Annotated[WholeNumber, Field(ge=512)] = 2048
    gateway_memory_mib: Annotated[WholeNumber, Field(ge=256)] = 512
    disk_gib: Annotated[WholeNumber, Field(ge=4)] = 20
    # Direct kernel boot: a kernel (and initrd) on the libvirt host instead of the image's boot loader.
    kernel: AbsolutePath | None = None
    initrd: AbsolutePath | None = None
    # The kernel command line with `kernel`: a list of words (`key=value` or a bare flag).
    kernel_cmdline: Annotated[list[KernelWord], Field(min_length=1)] | None = None
    # libvirt's resolver (dnsmasq) on the uplink's first address; off when another resolver serves it.
    uplink_dns: bool = True


class ExistingPlatform(Strict):
    """Machines already exist; the stack reaches them over SSH (node `host`, else its address)."""

    kind: Literal["existing"]


Platform = Annotated[LibvirtPlatform | ExistingPlatform, Field(discriminator="kind")]


class NetworkConfig(Strict):
    node_prefix: UnicastIPv6Prefix
    pod_supernet: UnicastIPv6Prefix
    service_subnet: UnicastIPv6Prefix
    nat64_prefix: Nat64Prefix = WELL_KNOWN_NAT64_PREFIX
    # Nodes get `default via <gateway>`: kubeadm needs a default route to pick addresses.
    default_route_via_gateway: bool = True
    cluster_interface: InterfaceName = "eth0"
    dns_domain: DnsDomain = "cluster.local"
    # The bridge on the machine running `pulumi up` that carries the node network, if any.
    # Routes of this machine through it are expected; any other route overlapping the node
    # network is refused (it would break this machine's own connectivity).
    local_bridge: InterfaceName | None = None


class Nat64Config(Strict):
    engine: Literal["jool", "tayga"] = "jool"
    # TAYGA's dynamic IPv4 pool (masqueraded behind the uplink); Jool uses the uplink address.
    ipv4_pool: UnicastIPv4Prefix = netaddr.IPNetwork("192.168.255.0/24")
    # IPv4 destinations the cluster must reach through NAT64, if not the global internet.
    # The well-known prefix may not be used for non-global IPv4 (RFC 6052 section 3.1).
    reachable_ipv4: list[IPv4Prefix] = Field(default_factory=list)


class Dns64Config(Strict):
    engine: Literal["unbound", "bind9"] = "unbound"
    upstream: Annotated[list[UnicastIPv4Address], Field(min_length=1)]
    # Zones the upstream serves although RFC 6761 reserves them (e.g. "test." in a lab); kept
    # with their final dot.
    local_zones: list[DnsZone] = Field(default_factory=list)


class GatewayConfig(Strict):
    name: Hostname = "kube-nat64-dns64"
    address: IPv6Address
    # Where SSH reaches the gateway if not at `address` (existing hosts).
    host: SshHost | None = None
    uplink_interface: InterfaceName = "eth1"
    # The gateway's own IPv4 address on the uplink (libvirt platform), e.g. 192.168.164.2/24.
    uplink_address: UnicastIPv4Interface | None = None
    uplink_gateway: UnicastIPv4Address | None = None
    nat64: Nat64Config = Field(default_factory=Nat64Config)
    dns64: Dns64Config


class NodeConfig(Strict):
    name: Hostname
    role: Literal["master", "minion"]
    address: IPv6Address
    # A /64 inside network.podSupernet; derived from the address's host part when omitted.
    pod_subnet: IPv6Prefix | None = None
    host: SshHost | None = None


Timeout = Annotated[str, AfterValidator(go_duration("4m0s"))]


class TimeoutsConfig(Strict):
    """kubeadm v1beta4 timeouts; raise them for software-emulated machines."""

    control_plane_component_health_check: Timeout = "4m0s"
    kubelet_health_check: Timeout = "4m0s"
    kubernetes_api_call: Timeout = Field("1m0s", alias="kubernetesAPICall")  # kubeadm's spelling
    discovery: Timeout = "5m0s"
    tls_bootstrap: Timeout = "5m0s"


class KubeletConfig(Strict):
    """Kubelet settings for machines unlike a stock systemd host; a real machine keeps the defaults."""

    # `systemd` (the init system manages cgroups) or `cgroupfs` (no systemd, e.g. namespace
    # machines); containerd's runc follows it (SystemdCgroup).
    cgroup_driver: Literal["systemd", "cgroupfs"] = "systemd"
    # Kubernetes 1.35+ refuses cgroup v1 hosts unless this is false (KEP-5573); with false,
    # `ignorePreflightErrors` needs SystemVerification too.
    fail_cgroup_v1: bool = True
    # Several kubelets on one host (nodes as namespaces): each node's pods go under the cgroup
    # `<cgroupRootPrefix>-<node name>` (kubelet --cgroup-root), which must exist. None: the root.
    cgroup_root_prefix: AbsolutePath | None = None


class ContainerdConfig(Strict):
    # Where the runtime lacks CAP_SYS_RESOURCE (some sandboxes), a pod's negative oom_score_adj
    # cannot be set: containerd's restrict_oom_score_adj clamps it to its own.
    restrict_oom_score_adj: bool = False


class KubeProxyConfig(Strict):
    # kube-proxy's conntrack.maxPerCore; 0 leaves nf_conntrack_max alone (it cannot be written
    # inside a network namespace). None: kube-proxy's default.
    conntrack_max_per_core: Annotated[WholeNumber, Field(ge=0)] | None = None


class MirrorConfig(Strict):
    """kubernetes.artifacts: mirror. The machine running `pulumi up` holds the artifacts
    (scripts/build-artifacts.sh); the gateway serves them over IPv6 to the nodes."""

    # Folder with bin/ and images/ (default: scripts/build-artifacts.sh's cache for the version).
    source: AbsolutePath | None = None
    # TCP port of the gateway's HTTP server.
    port: Annotated[WholeNumber, Field(ge=1, le=65535)] = 8089


PREFLIGHT_CHECK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _preflight_checks(values: list[str]) -> list[str]:
    for value in values:
        if not PREFLIGHT_CHECK.fullmatch(value):
            raise ValueError(f"{value!r} is not a kubeadm preflight check name (e.g. SystemVerification)")
    return values


class KubernetesConfig(Strict):
    version: str = DEFAULT_KUBERNETES_VERSION
    cluster_name: Hostname = "kube-v6"
    # online: packages from the Kubernetes package repository, images from imageRepository.
    # mirror (air-gapped): binaries and images built from source (scripts/build-artifacts.sh),
    # served by the gateway; images are used as imported (pull policy Never).
    artifacts: Literal["online", "mirror"] = "online"
    mirror: MirrorConfig = Field(default_factory=MirrorConfig)
    kubelet: KubeletConfig = Field(default_factory=KubeletConfig)
    containerd: ContainerdConfig = Field(default_factory=ContainerdConfig)
    kube_proxy: KubeProxyConfig = Field(default_factory=KubeProxyConfig)
    # kubeadm preflight checks whose errors become warnings (e.g. SystemVerification on cgroup v1).
    ignore_preflight_errors: Annotated[list[str], AfterValidator(_preflight_checks)] = Field(default_factory=list)
    image_repository: ImageRepository = "registry.k8s.io"
    package_repository: HttpUrl = "https://pkgs.k8s.io/core:/stable:"
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    # Let ordinary pods run on the master (small clusters).
    schedule_on_master: bool = False
    # Lifetime of the bootstrap token minions join with ("0s": never expires, as in the seed).
    token_ttl: Annotated[str, AfterValidator(go_duration("24h0m0s", " (0s: never expires)"))] = "24h0m0s"

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
    user: UserName = "root"
    port: Annotated[WholeNumber, Field(ge=1, le=65535)] = 22
    # With kubev6:sshPrivateKey (a secret) set, this is its public half; else both are generated.
    public_key: str | None = None
    # Retries while machines boot: pulumi-command's dial_error_limit / per_dial_timeout.
    dial_error_limit: Annotated[WholeNumber, Field(ge=-1)] = 60
    per_dial_timeout: Annotated[WholeNumber, Field(ge=1)] = 10

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

    install: bool = True
    kubeadm: bool = True
    workloads: bool = True


class WorkloadsConfig(Strict):
    namespace: Hostname = "kubev6-checks"
    # agnhost serves HTTP (netexec); busybox runs the checks (nslookup, wget).
    image: ImageReference = "registry.k8s.io/e2e-test-images/agnhost:2.53"
    check_image: ImageReference = "docker.io/library/busybox:1.36"
    # An IPv4-only name the egress check fetches through DNS64 + NAT64.
    egress_url: HttpUrl = "http://ipv4.google.com/"
    replicas: Annotated[WholeNumber, Field(ge=2, le=100)] = 2


class ClusterConfig(Strict):
    """The whole stack config; each field is the config key `kubev6:<alias>`."""

    api_version: Literal["kubev6.dev/v1alpha1"] = API_VERSION
    platform: Platform
    network: NetworkConfig
    gateway: GatewayConfig
    nodes: Annotated[list[NodeConfig], Field(min_length=1)]
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    ssh: SshConfig = Field(default_factory=SshConfig)
    stages: StagesConfig = Field(default_factory=StagesConfig)
    workloads: WorkloadsConfig = Field(default_factory=WorkloadsConfig)
