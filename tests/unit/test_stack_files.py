"""Every checked-in stack parses and plans; the dev stack is the seed topology."""

from __future__ import annotations

import pytest
from netaddr import IPAddress, IPNetwork

from config_schemas.stack_files import load_stack_file, stack_names
from planning.plan import make_plan

STACKS = stack_names()


def test_the_dev_stack_exists() -> None:
    assert "dev" in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_stack_parses_and_plans(stack: str) -> None:
    loaded = load_stack_file(stack)  # no host routes: the local-route check sees nothing
    cfg = loaded.cluster
    masters = [n.role for n in cfg.nodes].count("master")
    assert masters % 2 == 1 and (masters == 1 or cfg.kubernetes.control_plane_endpoint.mode != "first-master")
    assert all(w.severity == "warning" for w in loaded.warnings)

    plan = make_plan(cfg)
    assert plan.master.name == next(n.name for n in cfg.nodes if n.role == "master")
    assert len(plan.nodes) == len(cfg.nodes)
    assert {h.name for h in plan.hosts} == {cfg.gateway.name, *(n.name for n in cfg.nodes)}
    for node in plan.nodes:
        assert node.pod_subnet is not None and node.pod_subnet in plan.pod_supernet


def test_dev_stack_is_the_seed_topology() -> None:
    plan = make_plan(load_stack_file("dev").cluster)

    assert plan.gateway.name == "kube-nat64-dns64"
    assert plan.gateway.address == IPAddress("fd00::64")
    assert [(n.name, n.role, str(n.address), str(n.pod_subnet)) for n in plan.nodes] == [
        ("kube-master", "master", "fd00::100", "fd00:100::/64"),
        ("kube-minion-1", "minion", "fd00::101", "fd00:101::/64"),
        ("kube-minion-2", "minion", "fd00::102", "fd00:102::/64"),
    ]
    assert plan.master.address == IPAddress("fd00::100")
    assert [str(m.address) for m in plan.minions] == ["fd00::101", "fd00::102"]
    assert plan.node_prefix == IPNetwork("fd00::/64")
    assert plan.service_subnet == IPNetwork("fd00:1234::/112")
    assert plan.nat64_prefix == IPNetwork("64:ff9b::/96")
    assert plan.dns_service_ip == IPAddress("fd00:1234::a")
    assert plan.api_endpoint == "[fd00::100]:6443"


def test_dev_stack_routes_are_the_seeds() -> None:
    """The seed's static routes (its minion tables' /64 NAT64 and service routes were typos
    of the master's; services are kube-proxy's job, not a route)."""
    plan = make_plan(load_stack_file("dev").cluster)

    def table(name: str) -> set[tuple[str, str]]:
        return {(str(r.destination), str(r.via)) for r in plan.host(name).routes}

    assert table("kube-nat64-dns64") == {
        ("fd00:100::/64", "fd00::100"),
        ("fd00:101::/64", "fd00::101"),
        ("fd00:102::/64", "fd00::102"),
    }
    nat64_and_default = {("64:ff9b::/96", "fd00::64"), ("::/0", "fd00::64")}
    assert table("kube-master") == {("fd00:101::/64", "fd00::101"), ("fd00:102::/64", "fd00::102")} | nat64_and_default
    assert table("kube-minion-1") == {("fd00:100::/64", "fd00::100"), ("fd00:102::/64", "fd00::102")} | (
        nat64_and_default
    )
    assert table("kube-minion-2") == {("fd00:100::/64", "fd00::100"), ("fd00:101::/64", "fd00::101")} | (
        nat64_and_default
    )
