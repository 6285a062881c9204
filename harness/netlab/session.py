"""The lab as a whole: bring a stack's rendered data plane up, check it, tear it down.

    with lab_session("lab") as lab:
        for result in lab.check():
            print(result.report())

Everything is torn down when the context exits, on an exception, on Ctrl-C and on SIGTERM/SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import netaddr

from config_schemas.loading import parse_config
from config_schemas.stack_files import raw_stack_config
from harness.commons import webserver
from harness.commons.processes import stop_pids
from harness.commons.shell import HostExec
from harness.netlab import checks, node_config
from harness.netlab.cni_runtime import result_ips
from harness.netlab.instance import (
    INSTANCE_ENV,
    apply_overrides,
    current_instance,
    instance_overrides,
    replace_requested,
)
from harness.netlab.internet import InternetServices, page_token, wait_listening
from harness.netlab.k8s_machine import create_cgroup_root
from harness.netlab.naming import POD_IF, PREFIX, LabNames, stack_tag
from harness.netlab.pods import POD_PORT, Pod, attachment, create_pod, delete_pod, node_runtime
from harness.netlab.preflight import LabRefused, unrunnable
from harness.netlab.state import (
    LabState,
    Owner,
    describe_running,
    list_namespaces,
    release_mountpoints,
    running_lab,
    teardown_prefix,
)
from harness.netlab.topology import Topology
from planning.plan import ClusterPlan, HostPlan, make_plan

NODE_PORT = 8080
CLI = "harness.netlab"  # python -m harness.netlab


@dataclass
class Timings:
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - start

    def report(self) -> str:
        return ", ".join(f"{k} {v:.2f}s" for k, v in self.phases.items())


class Lab:
    """One stack's lab. `plan` overrides the stack's plan (e.g. a deliberately broken one) and is
    used as given. `instance` (default: KUBEV6_LAB_INSTANCE) names a lab that can run beside the
    stack's own (lab.instance); `tag` replaces the stack's initials in the names. `replace`
    (default: KUBEV6_LAB_REPLACE): a start removes a running lab of the same names instead of
    refusing."""

    def __init__(
        self,
        stack: str,
        *,
        plan: ClusterPlan | None = None,
        root_access: bool = False,
        pods_per_minion: int = 2,
        pods_on_master: int = 1,
        tag: str | None = None,
        instance: str | None = None,
        replace: bool | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.stack = stack
        self.instance = current_instance() if instance is None else instance
        self.replace = replace_requested() if replace is None else replace
        lab_tag = self.instance + (tag or stack_tag(stack))
        raw = raw_stack_config(stack)
        # What differs from the stack file for this instance: set on the stack by the engine lab too.
        self.config_overrides = instance_overrides(raw, self.instance, PREFIX + lab_tag)
        self.raw_config = apply_overrides(raw, self.config_overrides)
        # This instance's validated config: what tests edit to build another plan (the plan holds no config).
        self.config = parse_config(self.raw_config).cluster
        self.plan = plan if plan is not None else make_plan(self.config)
        self.names = LabNames(stack, lab_tag, LabNames.for_plan(stack, self.plan).host_short)
        self.state = LabState(self.names.prefix)
        self.owned = False  # only a lab this object started (or adopted for `down`) is torn down
        self.cli = CLI  # the module whose `down` removes this lab (the engine and Kubernetes labs set theirs)
        self.topology = Topology(self.plan, self.names, self.state, root_access)
        self.pods_per_minion = pods_per_minion
        self.pods_on_master = pods_on_master
        self.log = log
        self.execs: dict[str, HostExec] = {}
        self.reports: dict[str, node_config.HostReport] = {}
        self.pods: list[Pod] = []
        self.timings = Timings()
        self.internet_token = page_token(self.names.prefix)
        self._internet = InternetServices(self.topology.internet(), self.state)

    # --- up ---------------------------------------------------------------------------------

    def up(self) -> None:
        """All of it: `up_infrastructure`, `configure_hosts`, `up_workloads`."""
        self.up_infrastructure()
        self.configure_hosts()
        self.up_workloads()
        self.log(f"lab {self.names.prefix} up: {self.timings.report()}")

    def up_infrastructure(self) -> None:
        """Step 1 and the hosts' own /etc and state dirs: what a platform provides before any install.
        (The engine lab then starts an sshd per host and lets `pulumi up` run the steps instead of
        `configure_hosts`.)"""
        reasons = unrunnable(self.plan)
        if reasons:  # before the stale cleanup below: that removes namespaces
            raise LabRefused(f"stack {self.stack!r} cannot run in the lab: {'; '.join(reasons)}")
        t = self.timings
        with t.phase("stale cleanup"):
            self._claim()
        with t.phase("topology"):
            self.topology.up()
            self._internet.start()
            for host in self.plan.hosts:
                self.execs[host.name] = node_config.prepare_host(self.plan, host, self.names.host_ns(host), self.state)
            # Several kubelets on one host: each node's pods under a cgroup root of its own.
            if self.plan.kubeadm.kubernetes.kubelet.cgroup_root_prefix and self.plan.stages.install:
                for node in self.plan.nodes:
                    name = self.plan.kubeadm.cgroup_root(node.name).lstrip("/")
                    self.state.record_cgroup_root(name)
                    create_cgroup_root(name)

    def down_command(self) -> str:
        env = f"{INSTANCE_ENV}={self.instance} " if self.instance else ""
        return f"{env}python -m {self.cli} down --stack {self.stack}"

    def stranger(self) -> HostExec:
        """A host outside every cluster prefix on the IPv4 internet's side (for the NAT64 guard check)."""
        return self.topology.stranger()

    def _claim(self) -> None:
        """Make the names ours: refused while another lab runs under them (unless `replace`);
        what a stale one left is removed."""
        prefix = self.names.prefix
        running = running_lab(prefix)
        if running is not None and not self.replace:
            raise LabRefused(describe_running(prefix, running))
        teardown_prefix(prefix)
        self.state.create()
        self.state.write_owner(Owner.this_process(self.stack, self.down_command()))
        self.owned = True

    def adopt(self) -> None:
        """Take over a lab that `up` left running, to remove it (`down`): refused while a live
        process other than this one runs it (unless `replace`)."""
        owner = self.state.owner()
        if owner is not None and owner.pid != os.getpid() and owner.alive() and not self.replace:
            raise LabRefused(describe_running(self.names.prefix, owner))
        self.owned = True

    def leave_running(self) -> None:
        """`up` ends here and the lab stays: alive for other starts until `down`."""
        self.state.mark_detached()

    def configure_hosts(self) -> None:
        """Step 2: every host's remote steps (`rendering.steps.host_steps`), the scripts Pulumi ships,
        run in its namespace; the gateway's include starting NAT64 and DNS64."""
        t = self.timings
        with t.phase("internet"):
            self._internet.wait_ready()  # DNS64's upstream
        with t.phase("node config"), ThreadPoolExecutor(max_workers=4) as pool:
            reports = pool.map(lambda h: node_config.configure_host(self.plan, h, self.execs[h.name]), self.plan.hosts)
            self.reports = {r.host: r for r in reports}

    def up_workloads(self) -> None:
        """Step 3: pods on every node (the rendered conflists), a server on the master; wait until usable."""
        with self.timings.phase("pods"):
            self._create_pods()
            self._start_node_server()
        with self.timings.phase("readiness"):
            self._wait_ready()

    def _pod_plan(self) -> list[tuple[HostPlan, str]]:
        plan = []
        for node in self.plan.nodes:
            count = self.pods_on_master if node.role == "master" else self.pods_per_minion
            plan += [(node, self.names.pod_ns(node, i)) for i in range(count)]
        return plan

    def _create_pods(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            self.pods = list(
                pool.map(lambda np: create_pod(np[0], self.execs[np[0].name], np[1], self.state), self._pod_plan())
            )

    def _start_node_server(self) -> None:
        master = self.plan.master
        www = self.state.path("www", "master")
        www.mkdir(parents=True, exist_ok=True)
        (www / "index.html").write_text(f"kv6lab-node {master.name}\n")
        pid = self.execs[master.name].popen(
            webserver.argv(master.address, NODE_PORT, www / "index.html"),
            self.state.log_path("master-http"),
        )
        self.state.record_pid("master-http", pid)

    def _wait_ready(self) -> None:
        gw = self.execs[self.plan.gateway.name]
        wait_listening(gw, "udp", self.plan.gateway.address, 53, 15)
        for pod in self.pods:
            wait_listening(pod.exec, "tcp", pod.address, POD_PORT, 10)
        wait_listening(self.execs[self.plan.master.name], "tcp", self.plan.master.address, NODE_PORT, 10)
        # The pods' gateways (cbr0) and the resolver must be usable, not only configured:
        # an address is usable once duplicate address detection is done.
        deadline = time.monotonic() + 15
        for exec_ in [*self.execs.values(), *(p.exec for p in self.pods)]:
            while exec_.run(["ip", "-6", "addr", "show", "tentative"]).stdout.strip():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"addresses in {exec_.namespace} stay tentative (DAD)")
                time.sleep(0.05)
        while True:
            res = gw.run(["dig", "+short", "+time=1", "+tries=1", "AAAA", "web.kubev6.test", "@::1"], check=False)
            if res.ok and res.stdout.strip():
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"DNS64 on the gateway does not answer:\n{res.describe()}")
            time.sleep(0.1)

    def reattach(self) -> None:
        """Pick up a lab that an earlier process brought up (for `python -m harness.netlab check --running|down`)."""
        existing = set(list_namespaces(self.names.prefix + "-"))
        self.execs = {
            h.name: node_config.host_exec(self.plan, h, self.names.host_ns(h), self.state)
            for h in self.plan.hosts
            if self.names.host_ns(h) in existing
        }
        self.pods = []
        for node, pod_ns in self._pod_plan():
            if pod_ns not in existing or node.name not in self.execs:
                continue
            try:
                runtime = node_runtime(self.execs[node.name], self.state, pod_ns=pod_ns)
            except (OSError, ValueError):
                continue  # no conflist and no cache: teardown still deletes the pod's namespace
            result = runtime.cached_result(attachment(pod_ns, POD_IF))
            if result and result_ips(result):
                addr = netaddr.IPAddress(result_ips(result)[0])
                self.pods.append(Pod(pod_ns, node, self.names.host_ns(node), addr, result))

    # --- checks -----------------------------------------------------------------------------

    def check(self, names: Sequence[str] | None = None) -> list[checks.CheckResult]:
        with self.timings.phase("checks"):
            return checks.run_checks(self, names)

    # --- down -------------------------------------------------------------------------------

    def stop_workloads(self) -> list[str]:
        """What `up_workloads` started: CNI DEL of every pod and its namespace, the master's server;
        returns errors."""
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for errs in pool.map(lambda p: delete_pod(p.name, self.execs[p.node.name], self.state), list(self.pods)):
                errors += errs
        self.pods = []
        server = self.state.pids().get("master-http")
        if server is not None:
            stop_pids([server])
            self.state.path("pids", "master-http.pid").unlink(missing_ok=True)
        for node in self.plan.nodes:
            with contextlib.suppress(OSError):  # the runtime's result cache, once empty
                self.state.path("private", self.names.host_ns(node), "var-lib-cni", "results").rmdir()
        return errors

    def down(self) -> list[str]:
        """Undo everything (the steps' delete scripts first, then the namespaces); returns errors.
        Steps whose files are gone (`pulumi destroy` ran their delete) are skipped."""
        errors: list[str] = []
        deleted: list[str] = []
        if not self.owned:  # a start that was refused: the lab under these names is not ours
            return errors
        with self.timings.phase("teardown"):
            if not self.execs:
                self.reattach()
            errors += self.stop_workloads()
            hosts = [h for h in self.plan.hosts if h.name in self.execs]
            with ThreadPoolExecutor(max_workers=4) as pool:
                for done, errs in pool.map(
                    lambda h: node_config.unconfigure_host(self.plan, h, self.execs[h.name]), hosts
                ):
                    deleted += done
                    errors += errs
            teardown_prefix(self.names.prefix)
            release_mountpoints()
            self.execs = {}
            self.owned = False
        steps = f" (deleted steps: {', '.join(deleted)})" if deleted else ""
        self.log(f"lab {self.names.prefix} down{steps}: {self.timings.phases['teardown']:.2f}s")
        return errors


class LabInterrupted(KeyboardInterrupt):
    """Raised from a SIGTERM/SIGHUP handler so the teardown in `finally` runs."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"signal {self.signal_name}")


@contextmanager
def _teardown_on_signals() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise LabInterrupted(signum)

    previous = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: rely on the caller
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def torn_down(up: Callable[[], object], down: Callable[[], list[str]], log: Callable[[str], None]) -> Iterator[None]:
    """Run `up`, yield, and always run `down` after: on exit, errors, Ctrl-C and SIGTERM/SIGHUP."""
    with _teardown_on_signals():
        try:
            up()
            yield
        finally:
            # Signals during teardown would leave a half-torn lab: hold them off.
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
            try:
                errors = down()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            for e in errors:
                log(f"teardown warning: {e}")


@contextmanager
def lab_session(stack: str, **kwargs: object) -> Iterator[Lab]:
    """A running lab for `stack`, torn down on exit (also on errors and signals)."""
    lab = Lab(stack, **kwargs)  # type: ignore[arg-type]
    with torn_down(lab.up, lab.down, lambda msg: lab.log(msg)):
        yield lab
