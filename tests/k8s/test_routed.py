"""The routed variant of the Kubernetes lab on a cluster of its own (stack `lab-k8s-bgp`, issue 19):
`network.routing: bgp` (a kubev6-bgp speaker per machine, the gateway the route reflector),
`network.policy: kube-network-policies`, `kubernetes.kubeProxy.mode: nftables`. `pulumi up`, the
cluster's checks and workload checks (pod-to-pod across nodes and NAT64 egress over BGP-learned
routes, the policy check), every session established and every pod /64 learned, the [sig-network]
[Conformance] tests, a removed minion's route withdrawn everywhere, a second `up` changing nothing,
and `destroy` back to every host's first state.

Beside other labs: `KUBEV6_LAB_INSTANCE=r pytest tests/k8s/test_routed.py`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.commons.engine import EngineEnv, OpResult
from harness.enginelab.engine_lab import NODE_CHECKS, EngineLab
from harness.k8slab.conformance import SIG_NETWORK, SuiteRun, read_skips, run_suite
from harness.k8slab.k8s_checks import run_k8s_checks
from harness.netlab.snapshot import diff, host_snapshot
from planning import make_plan
from planning.plan import ClusterPlan
from rendering import bgp, layout
from tests.helpers.engine import TIMINGS, destroy_to_snapshots, engine_lab

pytestmark = [pytest.mark.k8s, pytest.mark.engine, pytest.mark.lab, pytest.mark.routed]

STACK = "lab-k8s-bgp"
REMOVED = "kube-minion-2"  # nodes[2] of the stack file
UP: dict[str, OpResult] = {}
POLICY_CHECKS = {"policyDeniesByDefault", "policyAllowsNamedClient", "policyIpBlock"}


@pytest.fixture(scope="module")
def routed(artifacts: Path, env: EngineEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    yield from engine_lab(STACK, env, tmp_path_factory.mktemp(STACK))


def _status(cluster: EngineLab, host: str) -> dict:
    out = cluster.lab.execs[host].run(["cat", layout.BGP_STATUS_PATH], check=False)
    assert out.returncode == 0, f"{host}: no BGP status file {layout.BGP_STATUS_PATH}: {out.stderr}"
    return json.loads(out.stdout)


def _bgp_routes(cluster: EngineLab, host: str) -> dict[str, str]:
    out = cluster.lab.execs[host].run(["ip", "-6", "-j", "route", "show", "proto", str(bgp.ROUTE_PROTO)])
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out.stdout or "[]")}


def _wait_routes(cluster: EngineLab, plan: ClusterPlan, timeout: float = 60) -> dict[str, dict[str, str]]:
    """Every host's BGP routes once they are what `plan` announces (or the last seen after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {h.name: _bgp_routes(cluster, h.name) for h in plan.hosts}
        if all(seen[h.name] == _expected(plan, h.name) for h in plan.hosts) or time.monotonic() > deadline:
            return seen
        time.sleep(1)


def _expected(plan: ClusterPlan, host: str) -> dict[str, str]:
    """A node learns every other node's pod /64 via that node; the reflector learns all of them."""
    return {str(n.pod_subnet): str(n.address) for n in plan.nodes if n.name != host}


def _check_bgp(cluster: EngineLab, plan: ClusterPlan) -> None:
    gateway = _status(cluster, plan.gateway.name)
    clients = {p["address"]: p["established"] for p in gateway["peers"]}
    assert clients == {str(n.address): True for n in plan.nodes}, f"the reflector's sessions: {gateway['peers']}"
    for node in plan.nodes:
        status = _status(cluster, node.name)
        assert [(p["address"], p["established"]) for p in status["peers"]] == [(str(plan.gateway.address), True)]
        assert status["announced"] == [str(node.pod_subnet)]
    seen = _wait_routes(cluster, plan)
    for host in plan.hosts:
        assert seen[host.name] == _expected(plan, host.name), f"{host.name} learned {seen[host.name]}"
        # No pod /64 in the static table (routes.sh): only NAT64 and the default route, or nothing.
        static = cluster.lab.execs[host.name].run(["/etc/kubev6/routes.sh", "show"]).stdout
        assert not any(str(n.pod_subnet) in static for n in plan.nodes), f"{host.name} routes.sh: {static}"


def test_up_brings_up_the_routed_cluster_and_every_check_passes(routed: EngineLab) -> None:
    up = routed.pulumi_up()
    UP["first"] = up
    assert set(up.changes) == {"create"}, up.changes
    plan = routed.lab.plan
    checks = run_k8s_checks(plan, str(up.outputs["kubeconfig"]), up.outputs)
    # "routes" compares the kernel with routes.sh alone; the BGP routes are checked below.
    checks += routed.lab.check([c for c in NODE_CHECKS if c != "routes"])
    failed = [c.report() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    results = up.outputs["workloadChecks"]
    assert set(results) == {"podToPod", "serviceByName", "coreDns", "nat64Egress", *POLICY_CHECKS}, results
    assert all(str(v).startswith("pass: ") for v in results.values()), results
    _check_bgp(routed, plan)
    # kube-proxy runs its nftables backend: its table is in every node's kernel.
    for node in plan.nodes:
        tables = routed.lab.execs[node.name].run(["nft", "list", "tables"]).stdout
        assert "table ip6 kube-proxy" in tables, f"{node.name}: {tables}"
        assert "table inet kube-network-policies" in tables, f"{node.name}: {tables}"
    TIMINGS.append(f"{STACK} up: {up.seconds:.1f}s")


def test_the_sig_network_conformance_tests_pass(routed: EngineLab, tmp_path_factory: pytest.TempPathFactory) -> None:
    skips = read_skips()
    report_dir = tmp_path_factory.mktemp("conformance-routed")
    run = SuiteRun(focus=SIG_NETWORK, skip=tuple(s.pattern for s in skips), procs=3)
    summary = run_suite(
        str(UP["first"].outputs["kubeconfig"]),
        report_dir,
        run,
        skips=skips,
        dns_domain=routed.lab.plan.kubeadm.dns_domain,
    )
    TIMINGS.append(f"{STACK} sig-network conformance: {summary.report(slowest=5)}")
    assert summary.cases, f"no [sig-network] [Conformance] test in the reports of {report_dir}"
    unexplained = [
        c for c in summary.cases if c.status == "failed" or (c.status == "skipped" and "skips.txt" not in c.message)
    ]
    assert not unexplained, summary.report() + f"\nlogs: {report_dir}"


def test_a_removed_minions_route_is_withdrawn_everywhere(routed: EngineLab) -> None:
    assert routed.run is not None
    routed.run.remove_config("nodes[2]", path=True)
    up = routed.run.up()
    UP["remove"] = up
    TIMINGS.append(f"{STACK} remove {REMOVED}: {up.seconds:.1f}s ({up.changes})")
    # BGP's blast radius: no other node's network step re-runs (with static routes every host's does);
    # only the gateway's, whose /etc/hosts lists every machine.
    touched = {name for op, name in up.steps if op in ("update", "replace", "create-replacement")}
    networks = {f"{h.name}-network" for h in routed.lab.plan.hosts if h.name != REMOVED}
    assert networks & touched == {f"{routed.lab.plan.gateway.name}-network"}, sorted(touched)
    cfg = routed.lab.config
    remaining = make_plan(cfg.model_copy(update={"nodes": [n for n in cfg.nodes if n.name != REMOVED]}))
    _check_bgp(routed, remaining)
    gone = routed.lab.plan.host(REMOVED)
    for host in remaining.hosts:
        routes = routed.lab.execs[host.name].run(["ip", "-6", "route", "show"]).stdout
        stale = [r for r in routes.splitlines() if str(gone.pod_subnet) in r or f"via {gone.address} " in r]
        assert not stale, f"{host.name} still routes to {REMOVED}: {stale}"
    before = routed.before[REMOVED]  # type: ignore[attr-defined]
    differences = diff(before, host_snapshot(routed.lab.execs[REMOVED]))
    assert not differences, "\n".join(differences)
    again = routed.run.up()
    assert again.changed == 0, again.steps


def test_destroy_returns_every_host_to_its_snapshot(routed: EngineLab) -> None:
    done = destroy_to_snapshots(routed)
    TIMINGS.append(f"{STACK} destroy: {done.seconds:.1f}s")
