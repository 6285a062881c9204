"""The cluster plan: every address, pod subnet and route, derived once from the config.

Renderers, components and the network lab all read this plan; nothing else decides an
address.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import netaddr

from config_schemas.model import ClusterConfig
from config_schemas.topology_checks import derived_pod_subnet, tayga_ipv6_address

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
class ClusterPlan:
    config: ClusterConfig
    node_prefix: netaddr.IPNetwork
    pod_supernet: netaddr.IPNetwork
    service_subnet: netaddr.IPNetwork
    nat64_prefix: netaddr.IPNetwork
    dns_service_ip: netaddr.IPAddress
    gateway: HostPlan
    nodes: tuple[HostPlan, ...]  # Kubernetes nodes, master first, in config order otherwise

    @property
    def master(self) -> HostPlan:
        return next(n for n in self.nodes if n.role == "master")

    @property
    def minions(self) -> tuple[HostPlan, ...]:
        return tuple(n for n in self.nodes if n.role == "minion")

    @property
    def hosts(self) -> tuple[HostPlan, ...]:
        """Every machine: gateway first."""
        return (self.gateway, *self.nodes)

    @property
    def api_endpoint(self) -> str:
        """host:port with the IPv6 literal bracketed (quote it in YAML, kubeadm#3101)."""
        return f"[{self.master.address}]:6443"

    @property
    def tayga_ipv6_address(self) -> netaddr.IPAddress | None:
        """TAYGA's own IPv6 address when it needs one of the node network (the config checks keep
        hosts off it)."""
        return tayga_ipv6_address(self.config)

    @property
    def translator_sources(self) -> tuple[netaddr.IPNetwork, ...]:
        """The only sources the NAT64 translator serves: not an open relay."""
        return (self.node_prefix, self.pod_supernet)

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.name == name)


def make_plan(cfg: ClusterConfig) -> ClusterPlan:
    """Derive the plan; `cfg` must already have passed `check_topology`."""
    net = cfg.network
    gw = cfg.gateway
    pod_subnets = [derived_pod_subnet(cfg, i) for i in range(len(cfg.nodes))]
    if any(s is None for s in pod_subnets):
        raise ValueError("make_plan needs a config that passed check_topology")

    # One shared route table: N pod routes and the gateway's two. Each host's routes are slices of
    # it (every other node's pods, then NAT64 and default), so the plan holds N + 2 Route objects,
    # not N^2, and each is formatted at most once however many hosts render it.
    pod_routes = tuple(
        Route(subnet, node.address, f"pods of {node.name}") for node, subnet in zip(cfg.nodes, pod_subnets, strict=True)
    )
    via_gateway = (Route(net.nat64_prefix, gw.address, "NAT64"),)
    if net.default_route_via_gateway:
        via_gateway += (Route(DEFAULT, gw.address, "default"),)
    gateway = HostPlan(gw.name, "gateway", gw.address, gw.host or str(gw.address), None, pod_routes)

    nodes = []
    for i, node in enumerate(cfg.nodes):
        routes = pod_routes[:i] + pod_routes[i + 1 :] + via_gateway
        nodes.append(
            HostPlan(node.name, node.role, node.address, node.host or str(node.address), pod_subnets[i], routes)
        )
    nodes.sort(key=lambda n: n.role != "master")  # stable: master first, then config order

    return ClusterPlan(
        config=cfg,
        node_prefix=net.node_prefix,
        pod_supernet=net.pod_supernet,
        service_subnet=net.service_subnet,
        nat64_prefix=net.nat64_prefix,
        dns_service_ip=net.service_subnet[10],
        gateway=gateway,
        nodes=tuple(nodes),
    )
