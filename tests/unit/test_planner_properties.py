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
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork

from config_schemas import parse_config
from config_schemas.model import ClusterConfig
from planning.plan import DEFAULT, ClusterPlan, make_plan
from tests.helpers.configs import MAX_NODES, Generated, _net, cluster_configs


def _config(raw: dict[str, Any]) -> ClusterConfig:
    loaded = parse_config(raw)
    assert all(w.severity == "warning" for w in loaded.warnings)
    return loaded.cluster


def _plan(raw: dict[str, Any]) -> ClusterPlan:
    return make_plan(_config(raw))


def _k(net: IPNetwork | None) -> tuple[int, int]:
    assert net is not None
    return net.value, net.prefixlen


def check_plan(plan: ClusterPlan, cfg: ClusterConfig) -> None:
    """`plan` is `make_plan(cfg)`: the config says what to expect, the plan holds no config."""
    n = len(plan.nodes)
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
    cfg = _config(gen.raw)
    check_plan(make_plan(cfg), cfg)


@settings(
    max_examples=3,
    deadline=None,
    database=None,  # ~1.5 s per example: no replays
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cluster_configs(nodes=MAX_NODES))
def test_plan_of_500_nodes(gen: Generated) -> None:
    cfg = _config(gen.raw)
    plan = make_plan(cfg)
    assert len(plan.nodes) == MAX_NODES
    check_plan(plan, cfg)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_configs(max_nodes=64), st.data())
def test_adding_a_node_keeps_every_derived_pod_subnet(gen: Generated, data: st.DataObject) -> None:
    before = {n.name: n.pod_subnet for n in _plan(gen.raw).nodes}
    if len(before) >= min(MAX_NODES, gen.slots):
        return  # the supernet is full
    new = gen.new_node("kube-minion-new", "minion", explicit=data.draw(st.booleans(), label="explicit"))
    nodes = gen.raw["nodes"]
    nodes.insert(data.draw(st.integers(0, len(nodes)), label="position"), new)

    after_cfg = _config(gen.raw)
    after_plan = make_plan(after_cfg)
    after = {n.name: n.pod_subnet for n in after_plan.nodes}
    assert {name: after[name] for name in before} == before
    check_plan(after_plan, after_cfg)
