"""The Kubernetes conformance suite against a running cluster: `e2e.test` and `ginkgo`, built by
scripts/build-artifacts.sh from the cluster's own k8s.io/kubernetes, run from this machine with
the cluster's kubeconfig (a 0600 file). The tests that may run in parallel run on several ginkgo
processes, the `[Serial]` ones alone afterwards; each part writes JUnit, and the summary counts
passed, failed and skipped (with the reason), and names the slowest tests.

Tests that cannot apply to this cluster are skipped only through `harness/k8slab/conformance-skips.txt`, one
regular expression per line with the reason after `#`; the goal is an empty list.

    python -m harness.k8slab.conformance [--stack lab-k8s] [--sig-network | --full] [--focus RE] [--skip RE]
                              [--procs N] [--running] [--keep]

brings the stack's cluster up with the engine (or, with `--running`, uses the one
`scripts/k8s-lab.sh up` left running), runs the suite, and destroys what it brought up (unless
`--keep`). Reports go to `.state/conformance/<stack>-<time>/`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config_schemas.versions import ROOT, artifacts_dir
from harness.commons.engine import StackRun
from harness.enginelab.engine_lab import EngineLab, engine_state
from harness.netlab.preflight import lab_plan

SKIPS_FILE = Path(__file__).with_name("conformance-skips.txt")
CONFORMANCE = "Conformance"  # the suite's Ginkgo label of a [Conformance] test
SIG_NETWORK = r"\[sig-network\]"


@dataclass(frozen=True)
class Skip:
    pattern: str
    reason: str


def read_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """`<regex>  # <reason>` lines; blank lines and whole-line comments are ignored. A skip without
    a reason is refused: every skipped test must say why it cannot apply."""
    skips = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        pattern, sep, reason = text.partition(" #")
        if not sep or not reason.strip():
            raise ValueError(f"{path}:{number}: a skip needs its reason after ' # ': {text!r}")
        re.compile(pattern.strip())
        skips.append(Skip(pattern.strip(), reason.strip()))
    return skips


@dataclass(frozen=True)
class SuiteRun:
    """What to run: tests with the `labels` (a Ginkgo label filter) whose names match `focus` and
    none of `skip`; `procs` ginkgo processes for the parallel part (`[Serial]` tests run alone)."""

    labels: str = CONFORMANCE
    focus: str | None = None
    skip: tuple[str, ...] = ()
    procs: int = 3
    timeout: str = "4h"  # ginkgo's own default (1h) is shorter than a full run here


def ginkgo_argv(
    test_dir: Path, kubeconfig: Path, report_dir: Path, run: SuiteRun, *, serial: bool, dns_domain: str
) -> list[str]:
    """One ginkgo invocation of e2e.test: the parallel part (`serial=False`) leaves out the tests
    labelled Serial, the serial part runs only those (ginkgo ORs repeated --focus; labels AND)."""
    part = "serial" if serial else "parallel"
    labels = f"({run.labels}) && {'' if serial else '!'}Serial"
    argv = [str(test_dir / "ginkgo"), "--no-color", f"--timeout={run.timeout}", "--poll-progress-after=10m"]
    argv += [f"--label-filter={labels}", *([f"--focus={run.focus}"] if run.focus else [])]
    argv += [f"--skip={s}" for s in run.skip]
    argv += [f"--junit-report=junit_{part}.xml", f"--output-dir={report_dir}"]
    if not serial and run.procs > 1:
        argv += ["-p", f"--procs={run.procs}"]
    argv += [str(test_dir / "e2e.test"), "--"]
    argv += [
        f"--kubeconfig={kubeconfig}",
        "--provider=skeleton",
        f"--dns-domain={dns_domain}",
        f"--report-dir={report_dir / part}",
        "--disable-log-dump",
    ]
    return argv


@dataclass
class Case:
    name: str
    status: str  # passed, failed, skipped
    seconds: float
    message: str = ""


@dataclass
class Summary:
    cases: list[Case] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for c in self.cases if c.status == status)

    @property
    def ran(self) -> list[Case]:
        return [c for c in self.cases if c.status != "skipped"]

    def report(self, slowest: int = 10) -> str:
        lines = [f"passed {self.count('passed')}, failed {self.count('failed')}, skipped {self.count('skipped')}"]
        for case in self.cases:
            first = case.message.splitlines()[0] if case.message else ""
            if case.status == "failed":
                lines.append(f"  FAILED  {case.name}: {first}")
            elif case.status == "skipped":
                lines.append(f"  skipped {case.name}: {first or 'no reason given'}")
        for case in sorted(self.ran, key=lambda c: -c.seconds)[:slowest]:
            lines.append(f"  {case.seconds:7.1f} s  {case.name}")
        return "\n".join(lines)


def read_junit(paths: Sequence[Path], focus: str | None = None, skips: Sequence[Skip] = ()) -> Summary:
    """The [Conformance] test cases of ginkgo's JUnit reports whose names match `focus`. Each report
    lists every spec of the suite, those left out by its filters as skipped: a test counts once, as
    it ran in whichever part ran it; one left out by `skips` is skipped with that skip's reason."""
    wanted = re.compile(focus) if focus else None
    best: dict[str, Case] = {}
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", "")
            if "[Conformance]" not in name or (wanted is not None and not wanted.search(name)):
                continue
            failure = next((n for n in (case.find("failure"), case.find("error")) if n is not None), None)
            skipped = case.find("skipped")
            if failure is not None:
                status, message = "failed", failure.get("message", "") or (failure.text or "")
            elif skipped is not None:
                status, message = "skipped", skipped.get("message", "")
            else:
                status, message = "passed", ""
            found = Case(name, status, float(case.get("time", "0")), message.strip())
            if name not in best or best[name].status == "skipped":
                best[name] = found
    for case in best.values():
        listed = next((s for s in skips if re.search(s.pattern, case.name)), None)
        if case.status == "skipped" and listed is not None:
            case.message = f"harness/k8slab/conformance-skips.txt: {listed.reason}"
    return Summary(sorted(best.values(), key=lambda c: c.name))


def run_suite(
    kubeconfig_text: str,
    report_dir: Path,
    run: SuiteRun,
    *,
    skips: Sequence[Skip] = (),
    dns_domain: str = "cluster.local",
    log: Callable[[str], None] = print,
) -> Summary:
    """The parallel part, then the serial part, against the cluster of `kubeconfig_text`."""
    test_dir = artifacts_dir() / "test"
    for tool in ("e2e.test", "ginkgo"):
        if not (test_dir / tool).is_file():
            raise FileNotFoundError(f"{test_dir / tool} is missing: run `bash scripts/build-artifacts.sh`")
    report_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = report_dir / "kubeconfig"
    kubeconfig.touch(mode=0o600)
    kubeconfig.chmod(0o600)
    kubeconfig.write_text(kubeconfig_text)
    env = {**os.environ, "PATH": f"{artifacts_dir() / 'bin'}:{os.environ['PATH']}"}  # kubectl for the suite
    try:
        for serial in (False, True):
            argv = ginkgo_argv(test_dir, kubeconfig, report_dir, run, serial=serial, dns_domain=dns_domain)
            part = "serial" if serial else "parallel"
            start = time.monotonic()
            log(f"conformance: {part} part: {' '.join(argv)}")
            with (report_dir / f"{part}.log").open("w") as out:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=report_dir)
            log(f"conformance: {part} part ended with {done.returncode} in {time.monotonic() - start:.0f} s")
    finally:
        kubeconfig.unlink(missing_ok=True)
    reports = [report_dir / f"junit_{p}.xml" for p in ("parallel", "serial")]
    summary = read_junit([p for p in reports if p.is_file()], run.focus, skips)
    (report_dir / "summary.txt").write_text(summary.report(slowest=20) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.k8slab.conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="lab-k8s")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--sig-network", action="store_true", help="only the [sig-network] [Conformance] tests")
    scope.add_argument("--full", action="store_true", help="every [Conformance] test (the default)")
    parser.add_argument("--focus", help="a regular expression the test names must match too")
    parser.add_argument("--skip", action="append", default=[], help="a regular expression to leave out (repeatable)")
    parser.add_argument("--procs", type=int, default=3, help="ginkgo processes of the parallel part")
    parser.add_argument("--running", action="store_true", help="test the cluster `scripts/k8s-lab.sh up` left")
    parser.add_argument("--keep", action="store_true", help="leave the cluster it brought up running")
    args = parser.parse_args(argv)
    focus = args.focus or (SIG_NETWORK if args.sig_network else None)
    if args.focus and args.sig_network:
        focus = f"(?=.*{SIG_NETWORK})(?=.*{args.focus})"
    skips = read_skips()
    run = SuiteRun(focus=focus, skip=(*(s.pattern for s in skips), *args.skip), procs=args.procs)
    report_dir = ROOT / ".state" / "conformance" / f"{args.stack}-{time.strftime('%Y%m%dT%H%M%S')}"
    summary = _against_stack(args.stack, run, skips, report_dir, running=args.running, keep=args.keep)
    print(summary.report())
    print(f"reports: {report_dir}")
    return 0 if summary.count("failed") == 0 and summary.ran else 1


def _against_stack(
    stack: str, run: SuiteRun, skips: Sequence[Skip], report_dir: Path, *, running: bool, keep: bool
) -> Summary:
    plan = lab_plan(stack)
    env, work_dir = engine_state(stack)
    domain = plan.kubeadm.dns_domain
    if running:
        if not (work_dir / "project").is_dir():
            raise SystemExit(f"no running engine lab for stack {stack}: `bash scripts/k8s-lab.sh up` first")
        kubeconfig = StackRun(stack, env, work_dir).cli("stack", "output", "kubeconfig", "--show-secrets").stdout
        return run_suite(kubeconfig, report_dir, run, skips=skips, dns_domain=domain)
    lab = EngineLab(stack, env, work_dir, cli="harness.k8slab")
    try:
        lab.up_hosts()
        up = lab.pulumi_up()
        print(f"pulumi up: {up.seconds:.0f} s")
        return run_suite(str(up.outputs["kubeconfig"]), report_dir, run, skips=skips, dns_domain=domain)
    finally:
        if keep:
            print(f"left running: `bash scripts/k8s-lab.sh down` (STACK={stack}) destroys it")
        else:
            for error in lab.teardown():
                print(f"teardown warning: {error}")
            if lab.run is not None and not lab.deployed:
                lab.run.remove()


if __name__ == "__main__":
    raise SystemExit(main())
