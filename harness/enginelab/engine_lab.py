"""The lab with the real Pulumi engine as its configurator.

The lab provides what a platform provides (machines = namespaces, the switch, the IPv4 "internet",
an sshd per host, this machine on the node network); `pulumi up` of the stack then configures the
hosts over SSH exactly as on real machines (network, NAT64/DNS64, CNI conflists), and the lab's pods
and checks run against what Pulumi configured. Teardown: pods, `pulumi destroy`, then the namespaces.

    with engine_lab_session("lab", work_dir) as lab:
        lab.pulumi_up(); lab.lab.up_workloads(); results = lab.lab.check()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config_schemas.versions import artifacts_dir
from harness.commons.checks import CheckResult
from harness.commons.engine import EngineEnv, OpResult, StackRun, engine_env
from harness.commons.engine.toolchain import ROOT
from harness.enginelab.sshd import LabKey, start_sshds
from harness.netlab.instance import current_instance
from harness.netlab.session import Lab, torn_down
from planning.plan import ClusterPlan

# Lab checks that need no lab pods (with Kubernetes up, kubelet makes the pods).
NODE_CHECKS = ("no_ipv4", "nat64_guard", "routes", "sysctls")
CLI = "harness.enginelab"  # python -m harness.enginelab
# The checks of a cluster that `pulumi up` brought up (stages.kubeadm): plan, kubeconfig, outputs.
ClusterChecks = Callable[[ClusterPlan, str, Mapping[str, Any]], list[CheckResult]]


class EngineLab:
    def __init__(
        self,
        stack: str,
        env: EngineEnv,
        work_dir: Path,
        log: Callable[[str], None] = print,
        replace: bool | None = None,
        progress: bool = False,
        cli: str = CLI,
    ) -> None:
        self.lab = Lab(stack, root_access=True, log=log, replace=replace)
        self.progress = progress  # show the engine's own output as it comes (the CLI's runs)
        self.lab.cli = cli
        self.env = env
        self.work_dir = work_dir
        self.log = log
        self.run: StackRun | None = None
        self.key: LabKey | None = None
        self.deployed = False

    def up_hosts(self) -> StackRun:
        """Machines reachable over SSH, and the stack configured with the lab's key (a secret)."""
        self.lab.up_infrastructure()
        with self.lab.timings.phase("sshd"):
            self.key = start_sshds(self.lab.plan, self.lab.execs, self.lab.state)
        echo = (lambda line: self.log(f"  | {line}")) if self.progress else None
        self.run = StackRun(self.lab.stack, self.env, self.work_dir, log=echo)
        # This lab instance's names and node network (lab.instance), as the lab's own plan has them.
        for key, value in self.lab.config_overrides.items():
            self.run.set_config(key, value, path=True)
        self.run.set_config("sshPrivateKey", self.key.private_key, secret=True)
        self.run.set_config("ssh.publicKey", self.key.public_key, path=True)
        return self.run

    def pulumi_up(self) -> OpResult:
        assert self.run is not None, "up_hosts first"
        self.deployed = True  # also when interrupted: destroy whatever made it into the state
        with self.lab.timings.phase("pulumi up"):
            return self.run.up()

    def teardown(self) -> list[str]:
        """Pods first (CNI DEL needs the node's conflist), then `pulumi destroy`, then the namespaces."""
        errors: list[str] = []
        errors += self.lab.stop_workloads()
        if self.run is not None and self.deployed:
            try:
                with self.lab.timings.phase("pulumi destroy"):
                    self.run.destroy()
                self.deployed = False
            except Exception as exc:
                errors.append(f"pulumi destroy: {exc}")
        errors += self.lab.down()
        return errors


@contextmanager
def engine_lab_session(
    stack: str,
    env: EngineEnv,
    work_dir: Path,
    log: Callable[[str], None] = print,
    replace: bool | None = None,
    progress: bool = False,
    cli: str = CLI,
) -> Iterator[EngineLab]:
    """Hosts up and reachable (not yet configured); everything torn down on exit, errors and signals."""
    lab = EngineLab(stack, env, work_dir, log, replace, progress, cli)
    with torn_down(lab.up_hosts, lab.teardown, log):
        yield lab


def engine_check(
    stack: str,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    replace: bool | None = None,
    *,
    cluster_checks: ClusterChecks | None = None,
    cli: str = CLI,
) -> int:
    """`python -m harness.enginelab check` (`harness.k8slab` with its cluster checks): hosts up,
    `pulumi up`, checks, `pulumi up` again (must change nothing), `pulumi destroy`, teardown. State
    and the engine log stay in .state/engine/ (ignored)."""
    env, work_dir = engine_state(stack)
    start = time.monotonic()
    ok = False
    with engine_lab_session(stack, env, work_dir, log, replace, progress=True, cli=cli) as lab:
        assert lab.run is not None
        log(f"engine log: {lab.run.log_path}")
        up = lab.pulumi_up()
        log(f"pulumi up: {_changes(up)} in {up.seconds:.1f}s")
        checks_ok = _report_checks(lab, up, only, log, cluster_checks)
        again = lab.run.up()
        log(f"pulumi up again: {_changes(again)} in {again.seconds:.1f}s")
        ok = checks_ok and again.changed == 0
    kubeconfig_file(work_dir).unlink(missing_ok=True)
    if lab.lab.plan.stages.kubeadm:
        log("the cluster is destroyed: `bash scripts/k8s-lab.sh up` brings one up and leaves it running")
    if lab.run is not None and not lab.deployed:
        lab.run.remove()  # destroyed: forget the stack, so the next run starts from a clean backend
    log(f"timings: {lab.lab.timings.report()}; total {time.monotonic() - start:.1f}s")
    return 0 if ok else 1


def _changes(result: OpResult) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(result.changes.items()))


def engine_state(stack: str) -> tuple[EngineEnv, Path]:
    # A lab instance beside the stack's own lab has a backend of its own (the same stack names).
    instance = current_instance()
    state_dir = ROOT / ".state" / (f"engine-{instance}" if instance else "engine")
    return engine_env(state_dir), state_dir / stack


def kubeconfig_file(work_dir: Path) -> Path:
    return work_dir / "kubeconfig"


def _publish_kubeconfig(lab: EngineLab, up: OpResult, log: Callable[[str], None]) -> None:
    """The admin kubeconfig in a 0600 file of the lab's state while the cluster runs, and how to use it."""
    path = kubeconfig_file(lab.work_dir)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(str(up.outputs["kubeconfig"]))
    log(f"reach the cluster: {artifacts_dir() / 'bin' / 'kubectl'} --kubeconfig {path} get nodes -o wide")


def _report_checks(
    lab: EngineLab,
    up: OpResult,
    only: list[str] | None,
    log: Callable[[str], None],
    cluster_checks: ClusterChecks | None,
) -> bool:
    if lab.lab.plan.stages.kubeadm:
        if cluster_checks is None:
            raise ValueError(f"stack {lab.lab.stack} runs Kubernetes: its cluster checks are harness.k8slab's")
        _publish_kubeconfig(lab, up, log)
        # Kubernetes runs the pods (the workloads prove pod-to-pod, service, DNS, NAT64);
        # the lab checks the hosts Pulumi configured.
        results = lab.lab.check(only or list(NODE_CHECKS))
        results += cluster_checks(lab.lab.plan, str(up.outputs["kubeconfig"]), up.outputs)
    else:
        lab.lab.up_workloads()
        results = lab.lab.check(only)
    for r in results:
        log(r.report())
    return all(r.ok for r in results)


def engine_up(
    stack: str,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    replace: bool | None = None,
    *,
    cluster_checks: ClusterChecks | None = None,
    cli: str = CLI,
) -> int:
    """`python -m harness.enginelab up`: hosts up, `pulumi up`, checks; left running for `down`."""
    env, work_dir = engine_state(stack)
    lab = EngineLab(stack, env, work_dir, log, replace, progress=True, cli=cli)
    try:
        lab.up_hosts()
        assert lab.run is not None
        log(f"engine log: {lab.run.log_path}")
        up = lab.pulumi_up()
        log(f"pulumi up: {_changes(up)} in {up.seconds:.1f}s")
        ok = _report_checks(lab, up, only, log, cluster_checks)
    except BaseException:
        for e in lab.teardown():
            log(f"teardown warning: {e}")
        raise
    lab.lab.leave_running()
    log(f"up and left running: `python -m {cli} down --stack {stack}` destroys it ({lab.lab.timings.report()})")
    return 0 if ok else 1


def engine_down(stack: str, log: Callable[[str], None] = print, replace: bool | None = None, *, cli: str = CLI) -> int:
    """`python -m harness.enginelab down`: `pulumi destroy` of what `up` left, then the hosts."""
    env, work_dir = engine_state(stack)
    lab = Lab(stack, root_access=True, log=log, replace=replace)
    lab.cli = cli
    lab.adopt()  # refused while another process (a `check`, tests) runs this lab
    lab.reattach()
    errors: list[str] = []
    if lab.execs and (work_dir / "project").is_dir():
        run = StackRun(stack, env, work_dir)
        errors += lab.stop_workloads()
        done = run.destroy()
        kubeconfig_file(work_dir).unlink(missing_ok=True)
        log(f"pulumi destroy: {_changes(done)} in {done.seconds:.1f}s")
        run.remove()
    else:
        log(f"no running engine lab for stack {stack}: removing what is left of its hosts")
    errors += lab.down()
    for e in errors:
        log(f"teardown warning: {e}")
    return 0
