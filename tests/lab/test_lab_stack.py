"""The `lab` stack's rendered data plane (TAYGA + Unbound) on namespaces: one test per check."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.netlab.pods import attachment, node_runtime
from harness.netlab.session import Lab

pytestmark = pytest.mark.lab


def _assert(lab: Lab, name: str) -> None:
    [result] = lab.check([name])
    assert result.ok, result.report()


def test_pod_to_pod_across_minions(lab_stack: Lab) -> None:
    _assert(lab_stack, "pod_to_pod")


def test_pod_to_master(lab_stack: Lab) -> None:
    _assert(lab_stack, "pod_to_master")


def test_master_to_pods(lab_stack: Lab) -> None:
    _assert(lab_stack, "master_to_pods")


def test_dns64_resolves_and_nat64_fetches(lab_stack: Lab) -> None:
    _assert(lab_stack, "dns64_nat64")


def test_no_ipv4_on_nodes(lab_stack: Lab) -> None:
    _assert(lab_stack, "no_ipv4")


def test_nat64_guard_drops_strangers(lab_stack: Lab) -> None:
    _assert(lab_stack, "nat64_guard")


def test_rendered_routes_installed(lab_stack: Lab) -> None:
    _assert(lab_stack, "routes")


def test_rendered_sysctls_applied(lab_stack: Lab) -> None:
    _assert(lab_stack, "sysctls")


def test_pods_per_node(lab_stack: Lab) -> None:
    per_node = {n.name: [p for p in lab_stack.pods if p.node.name == n.name] for n in lab_stack.plan.nodes}
    assert len(per_node[lab_stack.plan.master.name]) >= 1
    for minion in lab_stack.plan.minions:
        pods = per_node[minion.name]
        assert len(pods) >= 2
        assert all(p.address in minion.pod_subnet for p in pods), pods


def test_cni_check_passes_for_every_pod(lab_stack: Lab) -> None:
    for pod in lab_stack.pods:
        node_runtime(lab_stack.execs[pod.node.name], lab_stack.state).check(attachment(pod.name, "eth0"))


def test_host_local_leases_are_per_node(lab_stack: Lab) -> None:
    """Each node's leases live in its own /var/lib/cni (see lab.cni_runtime), none in the machine's."""
    for node in lab_stack.plan.nodes:
        leases = lab_stack.execs[node.name].run(["ls", "/var/lib/cni/networks/kubev6"]).stdout.split()
        ips = [x for x in leases if ":" in x]
        mine = [p for p in lab_stack.pods if p.node.name == node.name]
        assert sorted(ips) == sorted(str(p.address) for p in mine), (node.name, leases)
    assert not any(Path("/var/lib/cni").glob("networks/*")), "leases leaked to the machine"


def test_modules_recorded(lab_stack: Lab) -> None:
    for report in lab_stack.reports.values():
        assert report.modules, report
        for module in report.modules:
            assert module.state in ("present", "not loadable here"), module
