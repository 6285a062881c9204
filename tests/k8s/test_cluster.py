"""`pulumi up` of the `lab-k8s` stack: a real kubeadm cluster (1 master, 2 minions) on namespace
machines, configured over SSH by the engine from the gateway's mirror of the built artifacts; then
its checks, a second `up` with no change, secrets, and `destroy` back to the hosts' first state."""

from __future__ import annotations

import pytest

from harness.commons.engine import OpResult
from harness.enginelab.engine_lab import NODE_CHECKS, EngineLab
from harness.k8slab.conformance import SIG_NETWORK, SuiteRun, read_skips, run_suite
from harness.k8slab.k8s_checks import run_k8s_checks
from tests.helpers.engine import TIMINGS, destroy_to_snapshots

pytestmark = [pytest.mark.k8s, pytest.mark.engine, pytest.mark.lab]

STACK = "lab-k8s"
UP: dict[str, OpResult] = {}


def test_up_brings_up_the_cluster_and_the_workloads(cluster: EngineLab) -> None:
    up = cluster.pulumi_up()
    UP["first"] = up
    assert set(up.changes) == {"create"}, up.changes
    checks = run_k8s_checks(cluster.lab.plan, str(up.outputs["kubeconfig"]), up.outputs)
    checks += cluster.lab.check(list(NODE_CHECKS))
    failed = [c.report() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    results = up.outputs["workloadChecks"]
    assert set(results) == {"podToPod", "serviceByName", "coreDns", "nat64Egress"}
    assert all(str(v).startswith("pass: ") for v in results.values()), results


def test_second_up_changes_nothing(cluster: EngineLab) -> None:
    assert cluster.run is not None
    again = cluster.run.up()
    assert again.changed == 0, again.steps
    cluster.run.preview(expect_no_changes=True)


def test_the_sig_network_conformance_tests_pass(cluster: EngineLab, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The upstream suite's [sig-network] [Conformance] tests (parallel part, then [Serial]) on the
    IPv6-only cluster: each one passes, or is skipped by a listed reason; none skips itself."""
    skips = read_skips()
    report_dir = tmp_path_factory.mktemp("conformance")
    run = SuiteRun(focus=SIG_NETWORK, skip=tuple(s.pattern for s in skips), procs=3)
    summary = run_suite(
        str(UP["first"].outputs["kubeconfig"]),
        report_dir,
        run,
        skips=skips,
        dns_domain=cluster.lab.plan.kubeadm.dns_domain,
    )
    TIMINGS.append(f"{STACK} sig-network conformance: {summary.report(slowest=5)}")
    assert summary.cases, f"no [sig-network] [Conformance] test in the reports of {report_dir}"
    unexplained = [
        c for c in summary.cases if c.status == "failed" or (c.status == "skipped" and "skips.txt" not in c.message)
    ]
    assert not unexplained, summary.report() + f"\nlogs: {report_dir}"


def test_join_token_ca_hash_kubeconfig_and_key_are_in_no_state_or_log(cluster: EngineLab) -> None:
    assert cluster.run is not None and cluster.key is not None
    outputs = UP["first"].outputs
    token = str(outputs["joinToken"])
    kubeconfig = str(outputs["kubeconfig"])
    secrets = {
        "join token": [token, token.split(".")[1]],
        "CA cert hash": [str(outputs["caCertHash"]).removeprefix("sha256:")],
        "kubeconfig client key": [
            line.split(":", 1)[1].strip() for line in kubeconfig.splitlines() if "key-data" in line
        ],
        "ssh key": [line for line in cluster.key.private_key.splitlines() if line and not line.startswith("-----")],
    }
    assert all(values for values in secrets.values()), "a secret to look for is empty"
    haystacks = {"stack export": cluster.run.export(), "engine log": cluster.run.log_path.read_text()}
    haystacks |= {str(p): p.read_text(errors="replace") for p in cluster.run.state_files()}
    for where, text in haystacks.items():
        for what, values in secrets.items():
            assert not [v for v in values if v in text], f"{what} in plaintext in {where}"


def test_destroy_resets_every_node_and_returns_the_hosts_to_their_state(cluster: EngineLab) -> None:
    done = destroy_to_snapshots(cluster)
    TIMINGS.append(f"{STACK} up: {UP['first'].seconds:.1f}s, destroy: {done.seconds:.1f}s")
