"""The BGP plan of `network.routing: bgp`: one iBGP autonomous system, the gateway the route
reflector of every node (dynamic neighbors of the node prefix), each node announcing its own pod /64.

Nothing here lists the other nodes: a node's speaker config names only itself and the gateway, the
gateway's only the node prefix, so rendered bytes per host do not grow with the cluster."""

from __future__ import annotations

from dataclasses import dataclass

import netaddr

from config_schemas.derive import BGP_PORT, bgp_router_id
from config_schemas.model import ClusterConfig


@dataclass(frozen=True)
class BgpSpeaker:
    """What one machine's speaker is configured with."""

    host: str
    role: str
    router_id: str
    address: netaddr.IPAddress
    listen_port: int  # -1: connects only (the nodes)
    announce: tuple[netaddr.IPNetwork, ...]
    peers: tuple[netaddr.IPAddress, ...]
    dynamic_neighbors: netaddr.IPNetwork | None  # the reflector's clients


@dataclass(frozen=True)
class BgpPlan:
    asn: int
    hold_time: int
    interface: str
    gateway: netaddr.IPAddress
    node_prefix: netaddr.IPNetwork

    def speaker(
        self, name: str, role: str, address: netaddr.IPAddress, pod_subnet: netaddr.IPNetwork | None
    ) -> BgpSpeaker:
        if role == "gateway":
            return BgpSpeaker(name, role, bgp_router_id(address), address, BGP_PORT, (), (), self.node_prefix)
        announce = () if pod_subnet is None else (pod_subnet,)
        return BgpSpeaker(name, role, bgp_router_id(address), address, -1, announce, (self.gateway,), None)


def make_bgp_plan(cfg: ClusterConfig) -> BgpPlan | None:
    net = cfg.network
    if net.routing != "bgp":
        return None
    return BgpPlan(net.bgp.asn, net.bgp.hold_time, net.cluster_interface, cfg.gateway.address, net.node_prefix)
