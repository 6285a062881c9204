"""The conformance runner's pure parts: the skip list, the ginkgo command lines, and the JUnit
summary (a test counts once, as it ran; a listed skip carries its reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.k8slab.conformance import SIG_NETWORK, SKIPS_FILE, Skip, SuiteRun, ginkgo_argv, read_junit, read_skips

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="Kubernetes e2e suite" tests="5">
  <testcase name="[SynchronizedBeforeSuite]" time="3.0"></testcase>
  <testcase name="[sig-network] Services should serve a basic endpoint from pods [Conformance]" time="12.5"></testcase>
  <testcase name="[sig-network] DNS should provide DNS for services [Conformance]" time="40.0">
    <failure message="timed out waiting for the condition" type="failed">stack</failure>
  </testcase>
  <testcase name="[sig-apps] Daemon set [Serial] should rollback without unnecessary restarts [Conformance]" time="0">
    <skipped message="skipped"></skipped>
  </testcase>
  <testcase name="[sig-node] Pods should get a host IP [NodeConformance]" time="2.0"></testcase>
  <testcase name="[sig-storage] Projected should be consumable [Conformance]" time="0">
    <skipped message="skipped"></skipped>
  </testcase>
</testsuite></testsuites>
"""
SERIAL = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="Kubernetes e2e suite" tests="2">
  <testcase time="80.0"
    name="[sig-apps] Daemon set [Serial] should rollback without unnecessary restarts [Conformance]"></testcase>
  <testcase name="[sig-network] Services should serve a basic endpoint from pods [Conformance]" time="0">
    <skipped message="skipped"></skipped>
  </testcase>
</testsuite></testsuites>
"""


def test_the_shipped_skip_list_parses_and_every_entry_has_a_reason() -> None:
    for skip in read_skips(SKIPS_FILE):
        assert skip.reason and skip.pattern


def test_a_skip_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "skips.txt"
    path.write_text("# a comment\n\\[sig-storage\\].*NFS  # no NFS server image\n\\[sig-apps\\] Job\n")
    with pytest.raises(ValueError, match=r"skips\.txt:3: a skip needs its reason"):
        read_skips(path)
    path.write_text("\\[sig-storage\\].*NFS  # no NFS server image\n")
    assert read_skips(path) == [Skip("\\[sig-storage\\].*NFS", "no NFS server image")]


def test_the_parallel_part_leaves_out_serial_tests_and_the_serial_part_runs_only_them(tmp_path: Path) -> None:
    run = SuiteRun(focus=SIG_NETWORK, skip=("NFS",), procs=3)
    parallel = ginkgo_argv(tmp_path, tmp_path / "kc", tmp_path / "r", run, serial=False, dns_domain="kubev6.local")
    serial = ginkgo_argv(tmp_path, tmp_path / "kc", tmp_path / "r", run, serial=True, dns_domain="kubev6.local")
    assert "--label-filter=(Conformance) && !Serial" in parallel and "--procs=3" in parallel
    assert "--label-filter=(Conformance) && Serial" in serial and "-p" not in serial
    for argv in (parallel, serial):
        assert f"--focus={SIG_NETWORK}" in argv and "--skip=NFS" in argv
        ginkgo_flags, e2e_flags = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
        assert ginkgo_flags[-1] == str(tmp_path / "e2e.test")
        assert f"--kubeconfig={tmp_path / 'kc'}" in e2e_flags and "--dns-domain=kubev6.local" in e2e_flags


def test_the_summary_counts_each_conformance_test_once_as_it_ran(tmp_path: Path) -> None:
    (tmp_path / "junit_parallel.xml").write_text(JUNIT)
    (tmp_path / "junit_serial.xml").write_text(SERIAL)
    skips = [Skip(r"\[sig-storage\]", "no storage here")]
    summary = read_junit([tmp_path / "junit_parallel.xml", tmp_path / "junit_serial.xml"], skips=skips)
    status = {c.name.split(" should")[0]: c.status for c in summary.cases}
    assert status == {
        "[sig-network] Services": "passed",
        "[sig-network] DNS": "failed",
        "[sig-apps] Daemon set [Serial]": "passed",
        "[sig-storage] Projected": "skipped",
    }
    assert (summary.count("passed"), summary.count("failed"), summary.count("skipped")) == (2, 1, 1)
    report = summary.report()
    assert "FAILED  [sig-network] DNS" in report and "timed out waiting" in report
    assert "harness/k8slab/conformance-skips.txt: no storage here" in report
    assert report.index("80.0 s") < report.index("12.5 s")  # slowest first
    network = read_junit([tmp_path / "junit_parallel.xml"], focus=SIG_NETWORK)
    assert {c.name for c in network.cases} == {n for n in (c.name for c in summary.cases) if "[sig-network]" in n}
