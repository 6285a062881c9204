"""What keeps a large cluster's evaluation near-linear (issue 13): the pod-subnet overlap check
sweeps in address order instead of comparing every pair, each route is rendered once per host,
and a host's rendered bytes grow linearly with the number of nodes."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from typing import Any

import netaddr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_schemas import ConfigError, parse_config
from config_schemas.stack_files import raw_stack_config
from config_schemas.topology_checks import overlapping_pairs
from planning.plan import ClusterPlan, make_plan
from rendering import host_network, steps

# --- the overlap sweep against every pair ----------------------------------------------------------


def pairwise_reference(networks: list[netaddr.IPNetwork | None]) -> dict[int, list[int]]:
    """The check as it was: every pair compared, O(N^2)."""
    pairs: dict[int, list[int]] = {}
    for j, b in enumerate(networks):
        for i, a in enumerate(networks[:j]):
            if a is not None and b is not None and a.first <= b.last and b.first <= a.last:
                pairs.setdefault(j, []).append(i)
    return pairs


# Prefixes crowded into a /56 with lengths /56../64 and duplicates, so nesting and overlaps are common.
_networks = st.lists(
    st.one_of(
        st.none(),
        st.builds(
            lambda slot, length: netaddr.IPNetwork((int(netaddr.IPAddress("fd00::")) + (slot << 64), length), 6).cidr,
            st.integers(0, 255),
            st.integers(56, 64),
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_networks)
def test_overlap_sweep_finds_exactly_the_pairs_every_pair_comparison_finds(
    networks: list[netaddr.IPNetwork | None],
) -> None:
    assert overlapping_pairs(networks) == pairwise_reference(networks)


def test_overlap_sweep_of_disjoint_subnets_finds_none_and_scales() -> None:
    subnets = [netaddr.IPNetwork(((0xFD00 << 112) + (i << 64), 64), 6) for i in range(20000)]
    assert overlapping_pairs(subnets[::-1]) == {}  # 20 000: 2*10^8 pairs for the old check


def _large(minions: int, **node_changes: dict[str, Any]) -> dict[str, Any]:
    """The `large` stack with its master and `minions` minions at consecutive host parts."""
    raw = copy.deepcopy(raw_stack_config("large"))
    nodes = [{"name": "master-0", "role": "master", "address": "fd10:6::1000"}]
    nodes += [
        {"name": f"minion-{i}", "role": "minion", "address": f"fd10:6::{0x1000 + i:x}"} for i in range(1, minions + 1)
    ]
    for index, changes in node_changes.items():
        nodes[int(index.removeprefix("n"))].update(changes)
    raw["nodes"] = nodes
    return raw


def test_overlapping_explicit_pod_subnets_are_reported_on_the_later_node_naming_each_earlier_one() -> None:
    raw = _large(
        4,
        n1={"podSubnet": "fd10:6:100:7::/64"},
        n3={"podSubnet": "fd10:6:100:7::/64"},
        n4={"podSubnet": "fd10:6:100:7::/64"},
    )
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    overlaps = [(p.key, p.message) for p in info.value.problems if "overlaps fd10" in p.message]
    assert overlaps == [
        ("kubev6:nodes[3].podSubnet", "fd10:6:100:7::/64 overlaps fd10:6:100:7::/64 (kubev6:nodes[1].podSubnet)"),
        ("kubev6:nodes[4].podSubnet", "fd10:6:100:7::/64 overlaps fd10:6:100:7::/64 (kubev6:nodes[1].podSubnet)"),
        ("kubev6:nodes[4].podSubnet", "fd10:6:100:7::/64 overlaps fd10:6:100:7::/64 (kubev6:nodes[3].podSubnet)"),
    ]


# --- rendered once, linear bytes ---------------------------------------------------------------------


def _plan(minions: int) -> ClusterPlan:
    return make_plan(parse_config(_large(minions)).cluster)


def test_each_route_is_rendered_once() -> None:
    plan = _plan(40)
    for host in plan.hosts:
        words = Counter(host_network.routes_script(host, plan.cluster_interface).content.split())
        for route in host.routes:
            assert words[str(route.destination)] == 1, (host.name, str(route.destination))
            assert words[str(route.via)] <= len(host.routes), host.name  # only in the table


def test_hosts_share_one_route_object_per_destination() -> None:
    """N + 2 routes in the plan, not N^2: every host's table is a view of the same routes."""
    plan = _plan(30)
    distinct = {id(r) for h in plan.hosts for r in h.routes}
    assert len(distinct) == len(plan.nodes) + 2  # every pod /64, NAT64, default


def _node_bytes(plan: ClusterPlan) -> int:
    """What a minion's network step sends: its create and delete scripts."""
    step = steps.network_step(plan, plan.minions[-1])
    return len(step.create) + len(step.delete)


def test_per_host_rendered_bytes_grow_linearly() -> None:
    sizes = {n: _node_bytes(_plan(n)) for n in (50, 100, 200)}
    for a, b in itertools.pairwise(sorted(sizes)):
        assert sizes[b] / sizes[a] < 2.05, sizes  # linear with a constant part: at most the ratio of N
        # One short table line per added route (a route was three long lines before): under 80 bytes.
        assert (sizes[b] - sizes[a]) / (b - a) < 80, sizes
    growth = [(sizes[200] - sizes[100]) / 100, (sizes[100] - sizes[50]) / 50]
    assert max(growth) / min(growth) < 1.1, sizes  # the same slope: no N^2 term


def test_a_nodes_hosts_file_does_not_grow_with_the_cluster() -> None:
    small, large = _plan(10), _plan(200)
    for role in ("master", "minion"):
        files = [
            host_network.hosts_file(
                plan.known_hosts(next(n for n in plan.nodes if n.role == role))
            ).content.splitlines()
            for plan in (small, large)
        ]
        assert len(files[0]) == len(files[1]), role
    gateway = host_network.hosts_file(large.known_hosts(large.gateway)).content
    assert all(f"{h.address} {h.name}" in gateway.splitlines() for h in large.hosts)
