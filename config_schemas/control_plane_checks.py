"""Rules of a highly available control plane: how many masters, and the API endpoint that must
belong to no single one of them (`kubernetes.controlPlaneEndpoint`), each naming its key.

The rule for the number of masters: one, or an odd number. Stacked etcd runs one member per
master and needs a majority of them to write: 3 masters survive the loss of one, 2 survive none
(and a second member makes a loss twice as likely), so an even number is refused, also on the way
down (3 -> 2 is refused, 3 -> 1 is allowed: the two leaving masters' members are removed one after
the other). The first master in the list is the one `kubeadm init` ran on: it cannot be removed
from a live cluster (program/live_settings.py refuses a change of the first master's name or
address).
"""

from __future__ import annotations

from collections.abc import Iterable

from config_schemas.collision_checks import DNS_PORT
from config_schemas.derive import API_SERVER_PORT, BGP_PORT, bridge_host_address, tayga_ipv6_address
from config_schemas.model import ClusterConfig, LibvirtPlatform
from config_schemas.problems import Problem, key


def check_control_plane(cfg: ClusterConfig) -> list[Problem]:
    return [*_masters(cfg), *_endpoint(cfg)]


def _masters(cfg: ClusterConfig) -> Iterable[Problem]:
    masters = [n.name for n in cfg.nodes if n.role == "master"]
    if len(masters) > 1 and len(masters) % 2 == 0:
        yield Problem(
            key("nodes"),
            f"{len(masters)} nodes have role: master ({', '.join(masters)}); stacked etcd (one member per master) "
            "needs an odd number to keep a majority when one is lost: use 1, 3 or 5",
        )
    if len(masters) > 1 and cfg.kubernetes.control_plane_endpoint.mode == "first-master":
        yield Problem(
            key("kubernetes", "controlPlaneEndpoint", "mode"),
            f"first-master with {len(masters)} masters: the API endpoint would be lost with the first one; "
            "set gateway-haproxy (HAProxy on the gateway in front of every master)",
        )


def _endpoint(cfg: ClusterConfig) -> Iterable[Problem]:
    endpoint = cfg.kubernetes.control_plane_endpoint
    if endpoint.mode == "first-master":
        if endpoint.address is not None:
            yield Problem(
                key("kubernetes", "controlPlaneEndpoint", "address"),
                "only with mode: gateway-haproxy (first-master is the first master's own address)",
            )
        if endpoint.port != API_SERVER_PORT:
            yield Problem(
                key("kubernetes", "controlPlaneEndpoint", "port"),
                f"{endpoint.port}: with mode: first-master the endpoint is the API server's own port {API_SERVER_PORT}",
            )
        return
    yield from _endpoint_address(cfg)
    yield from _endpoint_port(cfg)


def _endpoint_address(cfg: ClusterConfig) -> Iterable[Problem]:
    address = cfg.kubernetes.control_plane_endpoint.address
    if address is None or address == cfg.gateway.address:
        return
    where = key("kubernetes", "controlPlaneEndpoint", "address")
    prefix = cfg.network.node_prefix
    if address not in prefix:
        yield Problem(where, f"{address} is outside the node network network.nodePrefix {prefix}")
        return
    if address in (prefix.network, prefix.broadcast) and prefix.prefixlen < 127:
        yield Problem(where, f"{address} is the subnet-router anycast or last address of {prefix}")
    for i, node in enumerate(cfg.nodes):
        if node.address == address:
            yield Problem(
                where,
                f"{address} is {key('nodes', i, 'address')} ({node.name}): the endpoint must belong to no single "
                "machine but the gateway",
            )
    if address == tayga_ipv6_address(cfg):
        yield Problem(where, f"{address} is TAYGA's own IPv6 address (the node network's last-but-one)")
    local = cfg.network.local_bridge is not None or isinstance(cfg.platform, LibvirtPlatform)
    if local and address == bridge_host_address(prefix):
        yield Problem(where, f"{address} is the address of the machine running pulumi up on the node network")


def _endpoint_port(cfg: ClusterConfig) -> Iterable[Problem]:
    port = cfg.kubernetes.control_plane_endpoint.port
    taken = {DNS_PORT: "the gateway's DNS64 resolver", cfg.ssh.port: "ssh.port (the gateway's sshd)"}
    if cfg.stages.install and cfg.kubernetes.artifacts == "mirror":
        taken[cfg.kubernetes.mirror.port] = "kubernetes.mirror.port (the gateway's artifact server)"
        taken[cfg.kubernetes.mirror.registry_port] = "kubernetes.mirror.registryPort (the gateway's registry)"
    if cfg.network.routing == "bgp":
        taken[BGP_PORT] = "BGP (the gateway's route reflector)"
    if port in taken:
        yield Problem(
            key("kubernetes", "controlPlaneEndpoint", "port"),
            f"{port} is also {taken[port]}: HAProxy on the gateway needs another port",
        )
