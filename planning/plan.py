"""The cluster plan: every address, pod subnet, route and derived setting, decided once from the config.

Renderers, components and the labs read this plan; nothing else decides an address. The
derivations themselves live in `config_schemas.derive`, which the config checks call too. Each
renderer gets the typed sub-plan it needs (`Nat64Plan`, `Dns64Plan`, `UplinkPlan`, `MirrorPlan`,
`KubeadmPlan`, a `HostPlan`, and those of `planning/settings.py`), never the whole config: the plan
holds no config model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import netaddr

from config_schemas.derive import (
    API_SERVER_PORT,
    api_endpoint,
    bridge_host_address,
    dns_service_ip,
    pod_subnets,
    tayga_ipv4_address,
    tayga_ipv6_address,
    uplink_next_hop,
)
from config_schemas.model import ClusterConfig
from planning.bgp import BgpPlan, make_bgp_plan
from planning.settings import (
    KubernetesPlan,
    LibvirtPlan,
    SshPlan,
    StagesPlan,
    WorkloadsPlan,
    kubernetes_plan,
    libvirt_plan,
    ssh_plan,
    stages_plan,
    workloads_plan,
)

Role = Literal["gateway", "master", "minion"]
DEFAULT = netaddr.IPNetwork("::/0")


@dataclass(frozen=True)
class Route:
    destination: netaddr.IPNetwork
    via: netaddr.IPAddress
    why: str  # a short label kept in rendered files, e.g. "pods of kube-minion-1"

    @cached_property
    def text(self) -> str:
        """`<destination> via <next hop>`, as `routes.sh show` prints it. Formatted once: every host
        that has the route shares this object (netaddr's formatting dominated large plans)."""
        return f"{self.destination} via {self.via}"


@dataclass(frozen=True)
class HostPlan:
    name: str
    role: Role
    address: netaddr.IPAddress
    ssh_host: str
    pod_subnet: netaddr.IPNetwork | None
    routes: tuple[Route, ...]

    @property
    def pod_gateway(self) -> netaddr.IPAddress | None:
        """The bridge's address: the first address of the pod /64."""
        return None if self.pod_subnet is None else self.pod_subnet[1]

    @property
    def is_kube_node(self) -> bool:
        return self.role != "gateway"


@dataclass(frozen=True)
class Nat64Plan:
    """The translator on the gateway and the guard in front of it."""

    engine: Literal["jool", "tayga"]
    gateway_name: str
    prefix: netaddr.IPNetwork
    ipv4_pool: netaddr.IPNetwork
    tayga_ipv4: netaddr.IPAddress
    tayga_ipv6: netaddr.IPAddress | None  # only with TAYGA and the well-known prefix
    sources: tuple[netaddr.IPNetwork, ...]  # the only sources it serves: not an open relay
    uplink_interface: str


@dataclass(frozen=True)
class Dns64Plan:
    """The gateway's resolver: synthesises AAAA records in the NAT64 prefix for the cluster only."""

    engine: Literal["unbound", "bind9"]
    gateway_name: str
    listen: netaddr.IPAddress
    prefix: netaddr.IPNetwork
    clients: tuple[str, ...]
    upstream: tuple[netaddr.IPAddress, ...]
    local_zones: tuple[str, ...]


@dataclass(frozen=True)
class UplinkPlan:
    """The gateway's IPv4 side, where the platform configures it (libvirt's cloud-init)."""

    interface: str
    address: netaddr.IPNetwork  # address/prefixlen
    next_hop: netaddr.IPAddress


@dataclass(frozen=True)
class MirrorPlan:
    """Where the gateway serves the Kubernetes artifacts (kubernetes.artifacts: mirror)."""

    gateway_name: str
    address: netaddr.IPAddress
    port: int
    registry_port: int  # the OCI registry beside the HTTP server
    source: str | None  # kubernetes.mirror.source: the local folder it serves (None: the built artifacts)

    @property
    def url(self) -> str:
        return f"http://[{self.address}]:{self.port}"

    @property
    def registry_url(self) -> str:
        return f"http://[{self.address}]:{self.registry_port}"


@dataclass(frozen=True)
class ApiLoadBalancerPlan:
    """HAProxy on the gateway in front of every master's API server
    (kubernetes.controlPlaneEndpoint.mode: gateway-haproxy)."""

    gateway_name: str
    interface: str  # the gateway's interface on the node network
    listen: netaddr.IPAddress
    port: int
    own_address: bool  # `listen` is not the gateway's address: the step adds it to `interface`
    backends: tuple[tuple[str, netaddr.IPAddress], ...]  # (master name, address), first master first
    api_server_port: int = API_SERVER_PORT

    @property
    def endpoint(self) -> str:
        return api_endpoint(self.listen, self.port)


@dataclass(frozen=True)
class KubeadmPlan:
    """What kubeadm, the kubelet and the node runtime are configured with: the `kubernetes`
    settings (a `KubernetesPlan`, not the config model), plus the cluster's derived addresses."""

    kubernetes: KubernetesPlan
    api_endpoint: str
    service_subnet: netaddr.IPNetwork
    pod_supernet: netaddr.IPNetwork
    dns_domain: str
    dns_service_ip: netaddr.IPAddress
    # Several masters can join (kubernetes.controlPlaneEndpoint is not the first master): init uploads
    # the control plane's certificates, encrypted with a certificate key, for the other masters' joins.
    upload_certs: bool = False

    def cgroup_root(self, node_name: str) -> str | None:
        """The node's own cgroup root (kubelet --cgroup-root) when several kubelets share a host."""
        prefix = self.kubernetes.kubelet.cgroup_root_prefix
        return None if prefix is None else f"{prefix}-{node_name}"


@dataclass(frozen=True)
class ClusterPlan:
    node_prefix: netaddr.IPNetwork
    cluster_interface: str
    bridge_host_address: netaddr.IPAddress  # this machine's, on a local cluster bridge
    local_bridge: str | None  # network.localBridge: the lab's veth from this machine to the node network
    platform: Literal["libvirt", "existing"]
    libvirt: LibvirtPlan | None  # platform.kind: libvirt (components/libvirt_infra.py); None on existing hosts
    ssh: SshPlan
    gateway: HostPlan
    nodes: tuple[HostPlan, ...]  # Kubernetes nodes, master first, in config order otherwise
    nat64: Nat64Plan
    dns64: Dns64Plan
    uplink: UplinkPlan | None
    mirror: MirrorPlan
    kubeadm: KubeadmPlan
    stages: StagesPlan
    workloads: WorkloadsPlan
    network_policy: Literal["none", "kube-network-policies"]  # network.policy (components/network_addons.py)
    bgp: BgpPlan | None = None  # network.routing: bgp (planning/bgp.py); the pod /64s are then not in `routes`
    api_lb: ApiLoadBalancerPlan | None = None  # controlPlaneEndpoint.mode: gateway-haproxy

    @property
    def master(self) -> HostPlan:
        """The first master: `kubeadm init` runs there, and the cluster's day-2 commands."""
        return next(n for n in self.nodes if n.role == "master")

    @property
    def masters(self) -> tuple[HostPlan, ...]:
        """Every master, in config order: the first one initialises, the others join the control plane."""
        return tuple(n for n in self.nodes if n.role == "master")

    @property
    def joining_masters(self) -> tuple[HostPlan, ...]:
        return self.masters[1:]

    @property
    def minions(self) -> tuple[HostPlan, ...]:
        return tuple(n for n in self.nodes if n.role == "minion")

    @property
    def hosts(self) -> tuple[HostPlan, ...]:
        """Every machine: gateway first."""
        return (self.gateway, *self.nodes)

    # Held once, in the sub-plan that renders them.
    @property
    def kubernetes(self) -> KubernetesPlan:
        return self.kubeadm.kubernetes

    @property
    def pod_supernet(self) -> netaddr.IPNetwork:
        return self.kubeadm.pod_supernet

    @property
    def service_subnet(self) -> netaddr.IPNetwork:
        return self.kubeadm.service_subnet

    @property
    def dns_service_ip(self) -> netaddr.IPAddress:
        return self.kubeadm.dns_service_ip

    @property
    def nat64_prefix(self) -> netaddr.IPNetwork:
        return self.nat64.prefix

    @property
    def api_endpoint(self) -> str:
        return self.kubeadm.api_endpoint

    @property
    def translator_sources(self) -> tuple[netaddr.IPNetwork, ...]:
        return self.nat64.sources

    def known_hosts(self, host: HostPlan) -> tuple[HostPlan, ...]:
        """Who `host` lists in /etc/hosts. The gateway: every host (one file, linear in N). A node:
        the gateway, the master and itself, so its file stays the same size however many nodes there
        are (every host listing every host is N^2 bytes in all). Nothing on a node resolves another
        node's name: the kubelet registers with an explicit --node-ip, kubeadm makes the API server
        reach kubelets by InternalIP first (--kubelet-preferred-address-types), kubeadm's preflight
        looks up only the node's own name, and join discovery uses the API endpoint's address."""
        if host.role == "gateway":
            return self.hosts
        return (self.gateway, self.master) if host == self.master else (self.gateway, self.master, host)

    def nameserver(self, host: HostPlan) -> netaddr.IPAddress:
        """Nodes ask the gateway's DNS64; the gateway asks itself."""
        return netaddr.IPAddress("::1") if host.role == "gateway" else self.gateway.address

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.name == name)


def _routes(cfg: ClusterConfig, subnets: list[netaddr.IPNetwork]) -> tuple[tuple[Route, ...], list[tuple[Route, ...]]]:
    """The gateway's routes (every pod /64 to its node) and each node's (every other pod /64, NAT64, default).

    One shared route table: N pod routes and the gateway's two. Each host's routes are slices of it,
    so the plan holds N + 2 Route objects, not N^2, and each is formatted at most once however many
    hosts render it."""
    net, gw = cfg.network, cfg.gateway
    pods = tuple(Route(s, n.address, f"pods of {n.name}") for n, s in zip(cfg.nodes, subnets, strict=True))
    via_gateway: tuple[Route, ...] = (Route(net.nat64_prefix, gw.address, "NAT64"),)
    if net.default_route_via_gateway:
        via_gateway += (Route(DEFAULT, gw.address, "default"),)
    if net.routing == "bgp":  # the BGP speakers learn the pod /64s (planning/bgp.py)
        return (), [via_gateway] * len(pods)
    return pods, [pods[:i] + pods[i + 1 :] + via_gateway for i in range(len(pods))]


def make_plan(cfg: ClusterConfig) -> ClusterPlan:
    """Derive the plan; `cfg` must already have passed `check_topology`."""
    net, gw = cfg.network, cfg.gateway
    subnets = pod_subnets(cfg)
    derived = [s for s in subnets if s is not None]
    if len(derived) != len(subnets):
        raise ValueError("make_plan needs a config that passed check_topology")

    gateway_routes, node_routes = _routes(cfg, derived)
    gateway = HostPlan(gw.name, "gateway", gw.address, gw.host or str(gw.address), None, gateway_routes)
    nodes = [
        HostPlan(n.name, n.role, n.address, n.host or str(n.address), subnet, routes)
        for n, subnet, routes in zip(cfg.nodes, derived, node_routes, strict=True)
    ]
    nodes.sort(key=lambda n: n.role != "master")  # stable: master first, then config order
    master = nodes[0]  # check_topology requires at least one; the first in config order
    masters = [n for n in nodes if n.role == "master"]

    sources = (net.node_prefix, net.pod_supernet)
    nat64 = Nat64Plan(
        engine=gw.nat64.engine,
        gateway_name=gw.name,
        prefix=net.nat64_prefix,
        ipv4_pool=gw.nat64.ipv4_pool,
        tayga_ipv4=tayga_ipv4_address(gw.nat64.ipv4_pool),
        tayga_ipv6=tayga_ipv6_address(cfg),
        sources=sources,
        uplink_interface=gw.uplink_interface,
    )
    dns64 = Dns64Plan(
        engine=gw.dns64.engine,
        gateway_name=gw.name,
        listen=gw.address,
        prefix=net.nat64_prefix,
        clients=("::1", *(str(p) for p in sources)),
        upstream=tuple(gw.dns64.upstream),
        local_zones=tuple(gw.dns64.local_zones),
    )
    next_hop = uplink_next_hop(gw)
    uplink = (
        UplinkPlan(gw.uplink_interface, gw.uplink_address, next_hop)
        if gw.uplink_address is not None and next_hop is not None
        else None
    )
    endpoint = cfg.kubernetes.control_plane_endpoint
    mirror = cfg.kubernetes.mirror
    api_lb = None
    if endpoint.mode == "gateway-haproxy":
        listen = endpoint.address if endpoint.address is not None else gw.address
        api_lb = ApiLoadBalancerPlan(
            gateway_name=gw.name,
            interface=net.cluster_interface,
            listen=listen,
            port=endpoint.port,
            own_address=listen != gw.address,
            backends=tuple((m.name, m.address) for m in masters),
        )
    kubeadm = KubeadmPlan(
        kubernetes=kubernetes_plan(cfg),
        api_endpoint=api_lb.endpoint if api_lb is not None else api_endpoint(master.address),
        service_subnet=net.service_subnet,
        pod_supernet=net.pod_supernet,
        dns_domain=net.dns_domain,
        dns_service_ip=dns_service_ip(net.service_subnet),
        upload_certs=api_lb is not None,
    )
    return ClusterPlan(
        node_prefix=net.node_prefix,
        cluster_interface=net.cluster_interface,
        bridge_host_address=bridge_host_address(net.node_prefix),
        local_bridge=net.local_bridge,
        platform=cfg.platform.kind,
        libvirt=libvirt_plan(cfg),
        ssh=ssh_plan(cfg),
        gateway=gateway,
        nodes=tuple(nodes),
        nat64=nat64,
        dns64=dns64,
        uplink=uplink,
        mirror=MirrorPlan(gw.name, gw.address, mirror.port, mirror.registry_port, mirror.source),
        kubeadm=kubeadm,
        stages=stages_plan(cfg),
        workloads=workloads_plan(cfg),
        network_policy=net.policy,
        bgp=make_bgp_plan(cfg),
        api_lb=api_lb,
    )
