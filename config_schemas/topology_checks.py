"""Rules that relate several config keys: overlaps, membership, counts.

Pure: the only outside fact, the routes of the machine running `pulumi up`, is
passed in by the caller.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import netaddr

from config_schemas.collision_checks import check_collisions
from config_schemas.control_plane_checks import check_control_plane
from config_schemas.derive import bridge_host_address, pod_subnets, tayga_ipv6_address, uplink_next_hop
from config_schemas.model import WELL_KNOWN_NAT64_PREFIX, ClusterConfig, LibvirtPlatform
from config_schemas.network_checks import check_network_addons
from config_schemas.problems import Problem, key
from config_schemas.versions import containerd_support_error

RFC6052_LENGTHS = (32, 40, 48, 56, 64, 96)
MAX_SERVICE_PREFIX = 108  # kube-apiserver refuses larger IPv6 service ranges
KUBEADM_SERVICE_PREFIX = 112  # kubeadm clamps /108../111 to /112


@dataclass(frozen=True)
class HostRoute:
    """One route of the machine that runs `pulumi up` (from /proc/net/ipv6_route)."""

    destination: netaddr.IPNetwork
    device: str


def check_topology(cfg: ClusterConfig, host_routes: Sequence[HostRoute] = ()) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_prefixes(cfg)
    problems += _check_nodes(cfg)
    problems += _check_pod_subnets(cfg)
    problems += _check_nat64(cfg)
    problems += _check_uplink(cfg)
    problems += _check_platform(cfg)
    problems += _check_stages(cfg)
    problems += _check_runtime(cfg)
    problems += _check_local_routes(cfg, host_routes)
    problems += check_collisions(cfg)  # ports, interface names, SSH targets shared by two parts
    problems += check_network_addons(cfg)  # network.routing: bgp, network.policy
    problems += check_control_plane(cfg)  # several masters, kubernetes.controlPlaneEndpoint
    return problems


def _overlaps(a: netaddr.IPNetwork, b: netaddr.IPNetwork) -> bool:
    return a.first <= b.last and b.first <= a.last


def _check_prefixes(cfg: ClusterConfig) -> Iterable[Problem]:
    net = cfg.network
    named = {
        "nodePrefix": net.node_prefix,
        "podSupernet": net.pod_supernet,
        "serviceSubnet": net.service_subnet,
        "nat64Prefix": net.nat64_prefix,
    }
    names = list(named)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if _overlaps(named[a], named[b]):
                yield Problem(key("network", b), f"{named[b]} overlaps network.{a} {named[a]}")
    if net.node_prefix.prefixlen > 120:
        yield Problem(key("network", "nodePrefix"), f"{net.node_prefix} is too small for a node network (use /64)")
    if net.pod_supernet.prefixlen > 64:
        yield Problem(
            key("network", "podSupernet"), f"{net.pod_supernet} is smaller than a /64; it must hold the nodes' pod /64s"
        )
    service = net.service_subnet
    if service.prefixlen < MAX_SERVICE_PREFIX:
        yield Problem(
            key("network", "serviceSubnet"),
            f"{service} is larger than /{MAX_SERVICE_PREFIX}; kube-apiserver refuses IPv6 service ranges above "
            f"/{MAX_SERVICE_PREFIX} (and kubeadm uses a /{KUBEADM_SERVICE_PREFIX}); use e.g. {service.network}/112",
        )
    elif service.prefixlen < KUBEADM_SERVICE_PREFIX:
        yield Problem(
            key("network", "serviceSubnet"),
            f"{service}: kubeadm clamps IPv6 service subnets to /{KUBEADM_SERVICE_PREFIX}; "
            f"only {service.network}/112 will hold service addresses",
            "warning",
        )
    if service.prefixlen > 120:
        yield Problem(
            key("network", "serviceSubnet"), f"{service} is too small: the DNS service takes its 10th address"
        )
    if net.nat64_prefix.prefixlen not in RFC6052_LENGTHS:
        yield Problem(
            key("network", "nat64Prefix"),
            f"{net.nat64_prefix}: a NAT64 prefix must be /32, /40, /48, /56, /64 or /96 (RFC 6052)",
        )


def _check_nodes(cfg: ClusterConfig) -> Iterable[Problem]:
    prefix = cfg.network.node_prefix
    masters = [i for i, n in enumerate(cfg.nodes) if n.role == "master"]
    if not masters:
        yield Problem(key("nodes"), "no node has role: master; a cluster needs one, or an odd number of them")
    if not any(n.role == "minion" for n in cfg.nodes):
        yield Problem(key("nodes"), "no node has role: minion; the test workloads need at least one", "warning")

    seen_names = {cfg.gateway.name: key("gateway", "name")}
    seen_addresses = {cfg.gateway.address: key("gateway", "address")}
    for where, address in [(("gateway", "address"), cfg.gateway.address)] + [
        (("nodes", i, "address"), n.address) for i, n in enumerate(cfg.nodes)
    ]:
        if address not in prefix:
            yield Problem(key(*where), f"{address} is outside the node network network.nodePrefix {prefix}")
        elif address in (prefix.network, prefix.broadcast) and prefix.prefixlen < 127:
            yield Problem(key(*where), f"{address} is the subnet-router anycast or last address of {prefix}")
    translator = tayga_ipv6_address(cfg)
    for where, address in [(("gateway", "address"), cfg.gateway.address)] + [
        (("nodes", i, "address"), n.address) for i, n in enumerate(cfg.nodes)
    ]:
        if address == translator:
            yield Problem(
                key(*where),
                f"{address} is TAYGA's own IPv6 address (the node network's last-but-one, used with the "
                "well-known NAT64 prefix); pick another address",
            )
    for i, node in enumerate(cfg.nodes):
        if node.name in seen_names:
            yield Problem(key("nodes", i, "name"), f"duplicate name {node.name!r} (also {seen_names[node.name]})")
        seen_names.setdefault(node.name, key("nodes", i, "name"))
        if node.address in seen_addresses:
            yield Problem(
                key("nodes", i, "address"), f"duplicate address {node.address} (also {seen_addresses[node.address]})"
            )
        seen_addresses.setdefault(node.address, key("nodes", i, "address"))


def overlapping_pairs(networks: Sequence[netaddr.IPNetwork | None]) -> dict[int, list[int]]:
    """Every overlapping pair (i < j) of `networks` (None: skipped), as j -> [i, ...] ascending.

    A sweep in address order, O(N log N + pairs): sorted by first address, each network overlaps
    exactly those earlier ones whose last address reaches it (a heap on the last address drops the
    others), where comparing every pair took N^2 steps at 1000 nodes."""
    spans = sorted((int(n.first), int(n.last), i) for i, n in enumerate(networks) if n is not None)
    open_spans: list[tuple[int, int]] = []  # (last, index) of networks the sweep has not passed
    pairs: dict[int, list[int]] = {}
    for first, last, i in spans:
        while open_spans and open_spans[0][0] < first:
            heapq.heappop(open_spans)
        for _, j in open_spans:
            pairs.setdefault(max(i, j), []).append(min(i, j))
        heapq.heappush(open_spans, (last, i))
    for earlier in pairs.values():
        earlier.sort()
    return pairs


def _check_pod_subnets(cfg: ClusterConfig) -> Iterable[Problem]:
    supernet = cfg.network.pod_supernet
    subnets = pod_subnets(cfg)
    overlapping = overlapping_pairs(subnets)
    for i, (node, subnet) in enumerate(zip(cfg.nodes, subnets, strict=True)):
        where = key("nodes", i, "podSubnet")
        if subnet is None:
            yield Problem(
                where,
                f"cannot derive a /64 from network.podSupernet {supernet} for address {node.address}; "
                "set it explicitly",
            )
            continue
        if subnet.prefixlen != 64:
            yield Problem(where, f"{subnet} is a /{subnet.prefixlen}; the bridge CNI needs one /64 per node")
        if subnet not in supernet:
            yield Problem(where, f"{subnet} is not inside network.podSupernet {supernet}")
        for name in ("nodePrefix", "serviceSubnet", "nat64Prefix"):
            other = getattr(cfg.network, _snake(name))
            if _overlaps(subnet, other):
                yield Problem(where, f"{subnet} overlaps network.{name} {other}")
        # Reported on the later node, naming each earlier one it overlaps (config order).
        for j in overlapping.get(i, []):
            yield Problem(where, f"{subnet} overlaps {subnets[j]} ({key('nodes', j, 'podSubnet')})")


def _check_nat64(cfg: ClusterConfig) -> Iterable[Problem]:
    nat64 = cfg.gateway.nat64
    prefix = cfg.network.nat64_prefix
    if prefix == WELL_KNOWN_NAT64_PREFIX:
        for j, dest in enumerate(nat64.reachable_ipv4):
            if not _is_global_ipv4(dest):
                yield Problem(
                    key("gateway", "nat64", "reachableIpv4", j),
                    f"{dest} is not global IPv4; the well-known prefix 64:ff9b::/96 may not be used for it "
                    "(RFC 6052 section 3.1); set network.nat64Prefix to a network-specific prefix "
                    "such as fd00:64:ff9b::/96",
                )
    if nat64.engine == "tayga" and prefix.prefixlen != 96:
        yield Problem(key("network", "nat64Prefix"), f"{prefix}: this project configures TAYGA with a /96 prefix only")
    if cfg.gateway.dns64.engine == "unbound" and prefix.prefixlen > 96:
        yield Problem(key("network", "nat64Prefix"), "Unbound's dns64-prefix must be /96 or shorter")
    uplink = cfg.gateway.uplink_address
    if uplink is not None and _overlaps(uplink.cidr, nat64.ipv4_pool):
        yield Problem(key("gateway", "nat64", "ipv4Pool"), f"{nat64.ipv4_pool} overlaps gateway.uplinkAddress {uplink}")


def _check_uplink(cfg: ClusterConfig) -> Iterable[Problem]:
    """The gateway's IPv4 default route must be on its uplink subnet: else it has none at all."""
    gw = cfg.gateway
    if gw.uplink_address is None:
        if gw.uplink_gateway is not None:
            yield Problem(
                key("gateway", "uplinkGateway"),
                "is not used without gateway.uplinkAddress (the gateway's uplink is configured only with both)",
                "warning",
            )
        return
    own, subnet = gw.uplink_address.ip, gw.uplink_address.cidr
    ends = (subnet.network, subnet.broadcast) if subnet.prefixlen <= 30 else ()
    if own in ends:
        yield Problem(key("gateway", "uplinkAddress"), f"{own} is the network or broadcast address of {subnet}")
        return
    if gw.uplink_gateway is not None:
        where, hop, what = key("gateway", "uplinkGateway"), gw.uplink_gateway, f"{gw.uplink_gateway}"
    else:
        hop = uplink_next_hop(gw)
        where = key("gateway", "uplinkAddress")
        what = f"the default gateway.uplinkGateway {hop} (the uplink network's address + 1)"
    reason = None
    if hop not in subnet:
        reason = f"is outside the uplink subnet {subnet} of gateway.uplinkAddress"
    elif hop == own:
        reason = "is the gateway's own address"
    elif hop in ends:
        reason = f"is the network or broadcast address of {subnet}"
    if reason:
        fix = "; the gateway would have no IPv4 default route" + (
            "" if gw.uplink_gateway is not None else ": set gateway.uplinkGateway"
        )
        yield Problem(where, f"{what} {reason}{fix}")


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _is_global_ipv4(net: netaddr.IPNetwork) -> bool:
    return not any(
        _overlaps(net, netaddr.IPNetwork(r))
        for r in (
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
            "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
            "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
        )
    )  # fmt: skip


def _check_platform(cfg: ClusterConfig) -> Iterable[Problem]:
    if isinstance(cfg.platform, LibvirtPlatform):
        gw = cfg.gateway
        if gw.uplink_address is None:
            yield Problem(
                key("gateway", "uplinkAddress"),
                "required on the libvirt platform (the gateway's IPv4 address on the uplink)",
            )
        elif gw.uplink_address.ip not in cfg.platform.uplink_prefix:
            yield Problem(
                key("gateway", "uplinkAddress"),
                f"{gw.uplink_address} is outside platform.uplinkPrefix {cfg.platform.uplink_prefix}",
            )
        elif gw.uplink_address.ip == bridge_host_address(cfg.platform.uplink_prefix):
            yield Problem(
                key("gateway", "uplinkAddress"),
                f"{gw.uplink_address.ip} is the libvirt host's own address on the uplink",
            )
        host_side = bridge_host_address(cfg.network.node_prefix)
        for where, address in [(("gateway", "address"), cfg.gateway.address)] + [
            (("nodes", i, "address"), n.address) for i, n in enumerate(cfg.nodes)
        ]:
            if address == host_side:
                yield Problem(key(*where), f"{address} is taken by the libvirt host's bridge on the node network")
        platform = cfg.platform
        if platform.kernel is None:
            for name, value in (("initrd", platform.initrd), ("kernelCmdline", platform.kernel_cmdline)):
                if value is not None:
                    yield Problem(key("platform", name), "only with platform.kernel (direct kernel boot)")
        for i, node in enumerate(cfg.nodes):
            if node.host is not None:
                yield Problem(
                    key("nodes", i, "host"),
                    "only for platform.kind: existing (libvirt nodes are reached at their address)",
                )


def _check_stages(cfg: ClusterConfig) -> Iterable[Problem]:
    stages = cfg.stages
    if stages.kubeadm and not stages.install:
        yield Problem(
            key("stages", "kubeadm"), "needs stages.install (kubeadm and kubelet are installed there); switch both off"
        )
    if stages.workloads and not stages.kubeadm:
        yield Problem(
            key("stages", "workloads"), "needs stages.kubeadm (the workloads run on the cluster); switch both off"
        )


def _check_runtime(cfg: ClusterConfig) -> Iterable[Problem]:
    # Named on containerd's key: the runtime is what an operator moves to match Kubernetes.
    problem = containerd_support_error(cfg.kubernetes.version, cfg.kubernetes.containerd.version)
    if problem:
        yield Problem(key("kubernetes", "containerd", "version"), problem)


def _check_local_routes(cfg: ClusterConfig, host_routes: Sequence[HostRoute]) -> Iterable[Problem]:
    if not _is_local(cfg):
        return
    own = cfg.network.local_bridge
    if own is None and isinstance(cfg.platform, LibvirtPlatform):
        own = cfg.platform.cluster_bridge
    reported: set[str] = set()
    for route in sorted(host_routes, key=lambda r: r.destination.prefixlen):
        if route.device in (own, "lo", *reported) or route.destination.prefixlen == 0:
            continue
        if route.destination.prefixlen >= 8 and _overlaps(route.destination, cfg.network.node_prefix):
            reported.add(route.device)
            yield Problem(
                key("network", "nodePrefix"),
                f"{cfg.network.node_prefix} overlaps {route.destination} on {route.device} of the machine running "
                "pulumi up; a local cluster network there would break this machine's own routes, pick another prefix",
            )


def _is_local(cfg: ClusterConfig) -> bool:
    if isinstance(cfg.platform, LibvirtPlatform):
        uri = cfg.platform.uri
        return "://" in uri and uri.split("://", 1)[1].startswith("/")
    return cfg.network.local_bridge is not None
