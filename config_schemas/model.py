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
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from config_schemas.addresses import IPv4Address, IPv4Interface, IPv4Prefix, IPv6Address, IPv6Prefix

API_VERSION = "kubev6.dev/v1alpha1"
DEFAULT_KUBERNETES_VERSION = "1.34.4"
WELL_KNOWN_NAT64_PREFIX = netaddr.IPNetwork("64:ff9b::/96")

_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class Strict(BaseModel):
    """Base for every config object: camelCase keys, unknown keys are an error."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid host name (lower-case letters, digits and '-', at most 63 characters, "
            "no leading or trailing '-')"
        )
    return value


Hostname = Annotated[str, Field(min_length=1, max_length=63)]


class LibvirtPlatform(Strict):
    """Machines are libvirt domains declared by the stack."""

    kind: Literal["libvirt"]
    uri: str = "qemu:///system"
    # kvm where nested virtualisation works; qemu (software emulation, TCG) elsewhere.
    domain_type: Literal["kvm", "qemu"] = "kvm"
    # A qcow2/raw cloud image: an http(s) URL or a local path on the libvirt host.
    base_image: str
    pool_path: str = "/var/lib/libvirt/images/kube-v6"
    cluster_bridge: Annotated[str, Field(min_length=1, max_length=15)] = "kv6br0"
    uplink_bridge: Annotated[str, Field(min_length=1, max_length=15)] = "kv6up0"
    # The gateway's IPv4 uplink: a libvirt NAT network of this prefix; the host takes its first address.
    uplink_prefix: IPv4Prefix = netaddr.IPNetwork("192.168.164.0/24")
    vcpus: Annotated[int, Field(ge=1, le=64)] = 2
    memory_mib: Annotated[int, Field(ge=512)] = 2048
    gateway_memory_mib: Annotated[int, Field(ge=256)] = 512
    disk_gib: Annotated[int, Field(ge=4)] = 20
    # Direct kernel boot: a kernel (and initrd) on the libvirt host instead of the image's boot loader.
    kernel: str | None = None
    initrd: str | None = None
    # The kernel command line with `kernel`, as space-separated words (`key=value` or a bare flag).
    kernel_cmdline: str | None = None
    # libvirt's resolver (dnsmasq) on the uplink's first address; off when another resolver serves it.
    uplink_dns: bool = True


class ExistingPlatform(Strict):
    """Machines already exist; the stack reaches them over SSH (node `host`, else its address)."""

    kind: Literal["existing"]


Platform = Annotated[LibvirtPlatform | ExistingPlatform, Field(discriminator="kind")]


class NetworkConfig(Strict):
    node_prefix: IPv6Prefix
    pod_supernet: IPv6Prefix
    service_subnet: IPv6Prefix
    nat64_prefix: IPv6Prefix = WELL_KNOWN_NAT64_PREFIX
    # Nodes get `default via <gateway>`: kubeadm needs a default route to pick addresses.
    default_route_via_gateway: bool = True
    cluster_interface: str = "eth0"
    dns_domain: str = "cluster.local"
    # The bridge on the machine running `pulumi up` that carries the node network, if any.
    # Routes of this machine through it are expected; any other route overlapping the node
    # network is refused (it would break this machine's own connectivity).
    local_bridge: str | None = None


class Nat64Config(Strict):
    engine: Literal["jool", "tayga"] = "jool"
    # TAYGA's dynamic IPv4 pool (masqueraded behind the uplink); Jool uses the uplink address.
    ipv4_pool: IPv4Prefix = netaddr.IPNetwork("192.168.255.0/24")
    # IPv4 destinations the cluster must reach through NAT64, if not the global internet.
    # The well-known prefix may not be used for non-global IPv4 (RFC 6052 section 3.1).
    reachable_ipv4: list[IPv4Prefix] = Field(default_factory=list)


class Dns64Config(Strict):
    engine: Literal["unbound", "bind9"] = "unbound"
    upstream: Annotated[list[IPv4Address], Field(min_length=1)]
    # Zones the upstream serves although RFC 6761 reserves them (e.g. "test." in a lab).
    local_zones: list[str] = Field(default_factory=list)

    @field_validator("local_zones")
    @classmethod
    def _zones(cls, zones: list[str]) -> list[str]:
        return [z if z.endswith(".") else z + "." for z in zones]


class GatewayConfig(Strict):
    name: Hostname = "kube-nat64-dns64"
    address: IPv6Address
    # Where SSH reaches the gateway if not at `address` (existing hosts).
    host: str | None = None
    uplink_interface: str = "eth1"
    # The gateway's own IPv4 address on the uplink (libvirt platform), e.g. 192.168.164.2/24.
    uplink_address: IPv4Interface | None = None
    uplink_gateway: IPv4Address | None = None
    nat64: Nat64Config = Field(default_factory=Nat64Config)
    dns64: Dns64Config

    _name = field_validator("name")(lambda cls, v: _hostname(v))


class NodeConfig(Strict):
    name: Hostname
    role: Literal["master", "minion"]
    address: IPv6Address
    # A /64 inside network.podSupernet; derived from the address's host part when omitted.
    pod_subnet: IPv6Prefix | None = None
    host: str | None = None

    _name = field_validator("name")(lambda cls, v: _hostname(v))


class TimeoutsConfig(Strict):
    """kubeadm v1beta4 timeouts; raise them for software-emulated machines."""

    control_plane_component_health_check: str = "4m0s"
    kubelet_health_check: str = "4m0s"
    kubernetes_api_call: str = Field("1m0s", alias="kubernetesAPICall")  # kubeadm's spelling
    discovery: str = "5m0s"
    tls_bootstrap: str = "5m0s"

    @field_validator("*")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", value) or not value:
            raise ValueError(f"{value!r} is not a Go duration like 4m0s")
        return value


class KubernetesConfig(Strict):
    version: str = DEFAULT_KUBERNETES_VERSION
    cluster_name: Hostname = "kube-v6"
    # online: packages from the Kubernetes package repository, images from imageRepository.
    artifacts: Literal["online"] = "online"
    image_repository: str = "registry.k8s.io"
    package_repository: str = "https://pkgs.k8s.io/core:/stable:"
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    # Let ordinary pods run on the master (small clusters).
    schedule_on_master: bool = False
    # Lifetime of the bootstrap token minions join with ("0s": never expires, as in the seed).
    token_ttl: str = "24h0m0s"

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        match = re.fullmatch(r"v?(1)\.(\d+)\.(\d+)", value)
        if not match:
            raise ValueError(f"{value!r} is not a Kubernetes version like {DEFAULT_KUBERNETES_VERSION}")
        if int(match.group(2)) < 31:
            raise ValueError(f"{value} is too old: the kubeadm v1beta4 config API needs 1.31 or newer")
        return value.removeprefix("v")


class SshConfig(Strict):
    user: str = "root"
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    # With kubev6:sshPrivateKey (a secret) set, this is its public half; else both are generated.
    public_key: str | None = None
    # Retries while machines boot: pulumi-command's dial_error_limit / per_dial_timeout.
    dial_error_limit: Annotated[int, Field(ge=-1)] = 60
    per_dial_timeout: Annotated[int, Field(ge=1)] = 10

    @field_validator("public_key")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        # The private-key check comes first: a pasted private key is not a public key line either.
        if value is not None and "PRIVATE KEY" in value:
            raise ValueError("this is a private key; put it in kubev6:sshPrivateKey with --secret")
        if value is not None and not re.match(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) \S+", value):
            raise ValueError("expected an OpenSSH public key line such as 'ssh-ed25519 AAAA... comment'")
        return value


class StagesConfig(Strict):
    """Each stage can be switched off; a switched-off stage is reported in the outputs."""

    install: bool = True
    kubeadm: bool = True
    workloads: bool = True


class WorkloadsConfig(Strict):
    namespace: Hostname = "kubev6-checks"
    # agnhost serves HTTP (netexec); busybox runs the checks (nslookup, wget).
    image: str = "registry.k8s.io/e2e-test-images/agnhost:2.53"
    check_image: str = "docker.io/library/busybox:1.36"
    # An IPv4-only name the egress check fetches through DNS64 + NAT64.
    egress_url: str = "http://ipv4.google.com/"
    replicas: Annotated[int, Field(ge=2, le=100)] = 2


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
