"""Properties of the plan for any valid config of up to 500 nodes (hypothesis).

Configs are built from a few random prefixes: a ULA or GUA /32 split into /40 slots that
hold the node /64, the pod supernet (/40../56), the /112 service subnet and a
network-specific NAT64 prefix (or the well-known 64:ff9b::/96). Node addresses are
distinct and inside the node /64; pod subnets are mostly derived (omitted), sometimes
explicit (always when the address's host part is too large to number a /64 of the
supernet).
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork

from config_schemas import parse_config
from planning.plan import DEFAULT, ClusterPlan, make_plan

WELL_KNOWN_NAT64 = IPNetwork("64:ff9b::/96")
MAX_NODES = 500


def _net(value: int, length: int) -> IPNetwork:
    return IPNetwork((value, length), version=6)


@dataclass
class Generated:
    raw: dict[str, Any]
    node_prefix: IPNetwork
    pod_supernet: IPNetwork
    rng: random.Random
    used_hosts: set[int] = field(default_factory=set)  # host parts of the gateway and nodes
    used_slots: set[int] = field(default_factory=set)  # /64 numbers of the supernet in use

    def __repr__(self) -> str:  # hypothesis prints it for a failing example: keep it short
        nodes = self.raw.get("nodes", [])
        shown = nodes if len(nodes) <= 8 else [*nodes[:4], f"... {len(nodes) - 8} more ...", *nodes[-4:]]
        return repr({**self.raw, "nodes": shown})

    @property
    def slots(self) -> int:
        return 2 ** (64 - self.pod_supernet.prefixlen)

    def address(self, host: int) -> str:
        return str(IPAddress(int(self.node_prefix.network) + host, 6))

    def pod_subnet(self, slot: int) -> str:
        return str(_net(int(self.pod_supernet.network) + (slot << 64), 64))

    def _free_slot(self) -> int:
        if self.slots <= 4096:
            return self.rng.choice(sorted(set(range(self.slots)) - self.used_slots))
        while True:
            slot = self.rng.randrange(self.slots)
            if slot not in self.used_slots:
                return slot

    def _free_host(self, high: int, derived: bool = False) -> int | None:
        """An unused host part below `high`; a derived node's also numbers an unused /64."""
        for _ in range(50):
            host = self.rng.randrange(1, high)
            if host not in self.used_hosts and not (derived and host in self.used_slots):
                return host
        return None

    def new_node(self, name: str, role: str, explicit: bool) -> dict[str, str]:
        """A node with a fresh address; its pod /64 derived from the address unless `explicit`
        (or no derivable address is left)."""
        host = None if explicit else self._free_host(self.slots, derived=True)
        if host is not None:
            self.used_hosts.add(host)
            self.used_slots.add(host)
            return {"name": name, "role": role, "address": self.address(host)}
        # Explicit: any address (often one too large to derive from), any free /64.
        host = self._free_host(self.slots) if self.rng.random() < 0.3 else None
        host = host if host is not None else self._free_host(2**64 - 1)
        if host is None:  # pragma: no cover - the node /64 has 2**64 addresses
            raise AssertionError("no free address")
        self.used_hosts.add(host)
        slot = self._free_slot()
        self.used_slots.add(slot)
        return {"name": name, "role": role, "address": self.address(host), "podSubnet": self.pod_subnet(slot)}


@st.composite
def cluster_configs(draw: st.DrawFn, nodes: int | None = None, max_nodes: int = MAX_NODES) -> Generated:
    """`nodes` fixes the number of nodes; else it is drawn, mostly small, up to `max_nodes`."""
    ula = draw(st.booleans())
    # fd00::/8 (ULA) or 2000::/3 (GUA), as a /32.
    base32 = (0xFD << 24 | draw(st.integers(0, 2**24 - 1))) if ula else draw(st.integers(0x2000_0000, 0x3FFF_FFFF))
    base = base32 << 96
    s_node, s_pods, s_service, s_nat64 = draw(st.lists(st.integers(0, 255), min_size=4, max_size=4, unique=True))

    def slot(k: int) -> int:
        return base | k << 88

    node_prefix = _net(slot(s_node) | draw(st.integers(0, 2**24 - 1)) << 64, 64)
    supernet_len = draw(st.integers(40, 56) if nodes is None or nodes <= 256 else st.integers(40, 55))
    pods_at = draw(st.integers(0, 2 ** (supernet_len - 40) - 1))
    pod_supernet = _net(slot(s_pods) | pods_at << (128 - supernet_len), supernet_len)
    service = _net(slot(s_service) | draw(st.integers(0, 2**72 - 1)) << 16, 112)
    if draw(st.booleans()):
        nat64 = WELL_KNOWN_NAT64
    else:
        length = draw(st.sampled_from([40, 48, 56, 64, 96]))
        nat64 = _net(slot(s_nat64) | draw(st.integers(0, 2 ** (length - 40) - 1)) << (128 - length), length)

    capacity = min(max_nodes, 2 ** (64 - supernet_len))
    if nodes is None:
        small, large = st.integers(1, min(40, capacity)), st.integers(min(41, capacity), capacity)
        nodes = draw(st.one_of(st.integers(2, 12), small, large))
    assert nodes <= capacity
    master_at = draw(st.integers(0, nodes - 1))
    explicit_share = draw(st.sampled_from([0.0, 0.1, 0.3]))

    gen = Generated({}, node_prefix, pod_supernet, random.Random(draw(st.integers(0, 2**32 - 1))))
    libvirt = draw(st.booleans())
    platform = {"kind": "libvirt", "baseImage": "/var/lib/images/debian.qcow2"} if libvirt else {"kind": "existing"}
    if libvirt:
        gen.used_hosts.add(1)  # the libvirt host's bridge takes the node prefix's first address
    gw_host = gen._free_host(2**64 - 1) if draw(st.booleans()) else 0x64
    assert gw_host is not None
    gen.used_hosts.add(gw_host)

    node_list = []
    for i in range(nodes):
        role = "master" if i == master_at else "minion"
        name = "kube-master" if role == "master" else f"kube-minion-{i}"
        node_list.append(gen.new_node(name, role, explicit=gen.rng.random() < explicit_share))

    gateway: dict[str, Any] = {
        "address": gen.address(gw_host),
        "dns64": {"upstream": ["192.0.2.53"], "engine": draw(st.sampled_from(["unbound", "bind9"]))},
        "nat64": {"engine": "tayga" if nat64.prefixlen == 96 and draw(st.booleans()) else "jool"},
    }
    if libvirt:
        gateway["uplinkAddress"] = "192.168.164.2/24"
    gen.raw = {
        "platform": platform,
        "network": {
            "nodePrefix": str(node_prefix),
            "podSupernet": str(pod_supernet),
            "serviceSubnet": str(service),
            "nat64Prefix": str(nat64),
            "defaultRouteViaGateway": draw(st.booleans()),
        },
        "gateway": gateway,
        "nodes": node_list,
    }
    return gen


def _plan(raw: dict[str, Any]) -> ClusterPlan:
    loaded = parse_config(raw)
    assert all(w.severity == "warning" for w in loaded.warnings)
    return make_plan(loaded.cluster)


def _k(net: IPNetwork | None) -> tuple[int, int]:
    assert net is not None
    return net.value, net.prefixlen


def check_plan(plan: ClusterPlan) -> None:
    n = len(plan.nodes)
    cfg = plan.config
    default = 1 if cfg.network.default_route_via_gateway else 0
    gw = plan.gateway

    # Pod subnets: /64s inside the supernet, pairwise disjoint, clear of the other prefixes.
    subnets = sorted((node.pod_subnet for node in plan.nodes), key=lambda s: s.first)
    assert all(s is not None for s in subnets)
    for s in subnets:
        assert s.prefixlen == 64
        assert s in plan.pod_supernet
        for other in (plan.node_prefix, plan.service_subnet, plan.nat64_prefix):
            assert s.last < other.first or other.last < s.first, f"{s} overlaps {other}"
    for a, b in itertools.pairwise(subnets):
        assert a.last < b.first, f"{a} overlaps {b}"

    # Every node reaches every other node's pods through that node, NAT64 through the gateway.
    # (Compared as ints: hashing 250 000 netaddr objects would dominate the run time.)
    pods_of = {_k(node.pod_subnet): node.address.value for node in plan.nodes}
    nat64, everything, gw_address = _k(plan.nat64_prefix), _k(DEFAULT), gw.address.value
    for node in plan.nodes:
        own = _k(node.pod_subnet)
        vias: dict[tuple[int, int], list[int]] = defaultdict(list)
        for route in node.routes:
            vias[_k(route.destination)].append(route.via.value)
        assert own not in vias, f"{node.name} routes its own pods away"
        for subnet, address in pods_of.items():
            if subnet != own:
                got = [str(IPAddress(v, 6)) for v in vias[subnet]]
                assert vias[subnet] == [address], f"{node.name} -> {_net(*subnet)} via {got}"
        assert vias[nat64] == [gw_address]
        assert vias.get(everything, []) == ([gw_address] if default else [])
        # Linear per node: the other nodes' pods, NAT64, and the default route.
        assert len(node.routes) == (n - 1) + 1 + default

    # The gateway routes every pod /64 to its node, and nothing else.
    assert sorted((_k(r.destination), r.via.value) for r in gw.routes) == sorted(pods_of.items())

    total = sum(len(h.routes) for h in plan.hosts)
    assert total == n * (n - 1) + n * (1 + default) + n


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_configs(max_nodes=200))  # 500 nodes: below
def test_plan_of_any_valid_config(gen: Generated) -> None:
    check_plan(_plan(gen.raw))


@settings(
    max_examples=3,
    deadline=None,
    database=None,  # ~1.5 s per example: no replays
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cluster_configs(nodes=MAX_NODES))
def test_plan_of_500_nodes(gen: Generated) -> None:
    plan = _plan(gen.raw)
    assert len(plan.nodes) == MAX_NODES
    check_plan(plan)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_configs(max_nodes=64), st.data())
def test_adding_a_node_keeps_every_derived_pod_subnet(gen: Generated, data: st.DataObject) -> None:
    before = {n.name: n.pod_subnet for n in _plan(gen.raw).nodes}
    if len(before) >= min(MAX_NODES, gen.slots):
        return  # the supernet is full
    new = gen.new_node("kube-minion-new", "minion", explicit=data.draw(st.booleans(), label="explicit"))
    nodes = gen.raw["nodes"]
    nodes.insert(data.draw(st.integers(0, len(nodes)), label="position"), new)

    after_plan = _plan(gen.raw)
    after = {n.name: n.pod_subnet for n in after_plan.nodes}
    assert {name: after[name] for name in before} == before
    check_plan(after_plan)
