"""Step 2: run each lab host's remote steps in its namespace, the very scripts Pulumi ships.

Each host namespace gets its own /etc entries under `/etc/netns/NS/` (`ip netns exec`
bind-mounts them over /etc) and private state dirs (the steps' `state_dirs`). For every step
`rendering.steps.host_steps` names, the lab runs the step's `create` script (the text the
components send over SSH) inside the namespace, after refusing any file of the step outside the
per-namespace /etc, and then checks that every file landed with its content and mode. After the
network step: `sysctl -p` of the rendered sysctl file again (strict: a missing key fails) and the
modules of the rendered modules-load file (recorded with evidence; this machine has no
/lib/modules). Going down, the steps' `delete` scripts run in reverse order.

The engine lab (`lab.engine_lab`) uses `prepare_host` and lets `pulumi up` run the same steps over SSH.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from harness.commons.shell import HostExec, PrivateDir
from harness.netlab.k8s_machine import K8S_PRIVATE_TARGETS, machine_setup
from harness.netlab.state import NETNS_ETC, LabState, ensure_mountpoint
from planning.plan import ClusterPlan, HostPlan
from rendering import layout, steps
from rendering.files import RenderedFile
from rendering.steps import Step

# /etc entries each host namespace owns (bind-mounted over the machine's by `ip netns exec`).
ETC_DIRS = ("kubev6", "cni", "sysctl.d", "modules-load.d", "systemd")
ETC_FILES = ("resolv.conf", "hosts")

# Evidence that a module's feature is present although it cannot be listed or loaded here.
MODULE_EVIDENCE = {
    "overlay": ("/proc/filesystems", "overlay"),
    "br_netfilter": ("/proc/sys/net/bridge/bridge-nf-call-ip6tables", None),
    "tun": ("/dev/net/tun", None),
}


def is_kubernetes_machine(plan: ClusterPlan, host: HostPlan) -> bool:
    """A node of a stack that installs Kubernetes: it gets what kubelet and containerd need."""
    return host.role != "gateway" and plan.stages.install


def private_targets(plan: ClusterPlan, host: HostPlan) -> list[str]:
    """Machine-wide directories that are per-machine state: private to each lab host. Exactly the
    state dirs of the host's steps (e.g. a node's /var/lib/cni: host-local leases and the CNI result
    cache, see lab.cni_runtime), the mirror's on an air-gapped gateway, and on a Kubernetes machine
    its whole runtime state."""
    host_step_list = [step for _, step in steps.host_steps(plan, host)]
    if host.role == "gateway" and plan.stages.install and plan.kubeadm.kubernetes.artifacts == "mirror":
        host_step_list.append(steps.mirror_step(plan.mirror))
    targets = [d for step in host_step_list for d in step.state_dirs]
    if is_kubernetes_machine(plan, host):
        targets += K8S_PRIVATE_TARGETS
    return list(dict.fromkeys(targets))  # once each, in order


def private_name(target: str) -> str:
    return target.strip("/").replace("/", "-")


def host_exec(plan: ClusterPlan, host: HostPlan, ns: str, state: LabState) -> HostExec:
    dirs = tuple(PrivateDir(str(state.path("private", ns, private_name(t))), t) for t in private_targets(plan, host))
    if is_kubernetes_machine(plan, host):
        return HostExec(ns, dirs, tuple(machine_setup(host.name)), own_uts=True)
    return HostExec(ns, dirs)


def netns_etc_path(ns: str, path: str) -> Path:
    """Where a file of the host's /etc lives on this machine; refuses paths outside its /etc."""
    parts = Path(path).parts
    if len(parts) < 3 or parts[:2] != ("/", "etc") or parts[2] not in (*ETC_DIRS, *ETC_FILES):
        raise ValueError(f"{path} is not in a per-namespace /etc entry: installing it would change this machine")
    return NETNS_ETC / ns / Path(*parts[2:])


@dataclass
class ModuleStatus:
    name: str
    state: str  # "present" or "not loadable here"
    evidence: str


@dataclass
class HostReport:
    host: str
    namespace: str
    files: list[str] = field(default_factory=list)
    sysctl_output: str = ""
    modules: list[ModuleStatus] = field(default_factory=list)


def prepare_host(plan: ClusterPlan, host: HostPlan, ns: str, state: LabState) -> HostExec:
    """The host's own /etc entries and private state directories."""
    etc = NETNS_ETC / ns
    for d in ETC_DIRS:
        (etc / d).mkdir(parents=True, exist_ok=True)
        ensure_mountpoint(f"/etc/{d}")
    # As on a machine with systemd installed (the rendered units go there).
    (etc / "systemd" / "system").mkdir(exist_ok=True)
    for f in ETC_FILES:
        (etc / f).touch()
    exec_ = host_exec(plan, host, ns, state)
    for d in exec_.private_dirs:
        Path(d.source).mkdir(parents=True, exist_ok=True)
        ensure_mountpoint(d.target)
    return exec_


def run_step(exec_: HostExec, name: str, step: Step) -> list[str]:
    """Run the step's create script inside the namespace; verify every file landed in its /etc.
    Returns the paths of the step's files."""
    targets = {f.path: netns_etc_path(exec_.namespace, f.path) for f in step.files}  # refuse before running
    exec_.sh(step.create, what=f"step {name} in {exec_.namespace}")
    verify_landed(step.files, targets)
    return sorted(targets)


def verify_landed(files: tuple[RenderedFile, ...], targets: dict[str, Path]) -> None:
    for f in files:
        landed = targets[f.path]
        if not landed.is_file() or landed.read_text() != f.content:
            raise RuntimeError(f"{f.path} did not land in {landed} (is /etc{f.path[4:]} bind-mounted?)")
        if oct(landed.stat().st_mode & 0o7777) != oct(int(f.mode, 8)):
            raise RuntimeError(f"{landed}: mode {oct(landed.stat().st_mode & 0o7777)}, rendered {f.mode}")


def apply_kernel(exec_: HostExec, report: HostReport) -> None:
    result = exec_.run(
        ["sysctl", "-p", layout.SYSCTL_PATH], what=f"applying {layout.SYSCTL_PATH} (every key must exist)"
    )
    if "cannot stat" in result.stderr or "unknown key" in result.stderr:
        raise RuntimeError(f"sysctl reported a missing key:\n{result.describe()}")
    report.sysctl_output = result.stdout
    text = exec_.run(["cat", layout.MODULES_PATH]).stdout
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            report.modules.append(module_status(exec_, name))


def module_status(exec_: HostExec, name: str) -> ModuleStatus:
    if Path(f"/sys/module/{name}").exists():
        return ModuleStatus(name, "present", f"/sys/module/{name}")
    path, needle = MODULE_EVIDENCE.get(name, (None, None))
    if path and Path(path).exists() and (needle is None or needle in Path(path).read_text()):
        return ModuleStatus(name, "present", f"built in ({path}{' lists ' + needle if needle else ' exists'})")
    probe = exec_.run(["modprobe", name], check=False)
    if probe.ok:
        return ModuleStatus(name, "present", "modprobe loaded it")
    lines = (probe.stderr or probe.stdout).strip().splitlines()
    return ModuleStatus(name, "not loadable here", lines[-1] if lines else f"modprobe exit {probe.returncode}")


def configure_host(plan: ClusterPlan, host: HostPlan, exec_: HostExec) -> HostReport:
    """Run the host's steps in order (after `prepare_host`); check the kernel settings the network step applied."""
    report = HostReport(host.name, exec_.namespace)
    for name, step in steps.host_steps(plan, host):
        report.files += run_step(exec_, name, step)
        if any(f.path == layout.SYSCTL_PATH for f in step.files):
            apply_kernel(exec_, report)
    return report


def unconfigure_host(plan: ClusterPlan, host: HostPlan, exec_: HostExec) -> tuple[list[str], list[str]]:
    """The host's steps' delete scripts in reverse order, best effort: (steps deleted, errors). A step
    none of whose removed files is in place is skipped: it never ran, or `pulumi destroy` already ran
    its delete. (Files it writes but keeps, resolv.conf and hosts, exist on every host.)"""
    done: list[str] = []
    errors: list[str] = []
    for name, step in reversed(steps.host_steps(plan, host)):
        removed = [f.path for f in step.files if f.path in step.removes]
        if not any(netns_etc_path(exec_.namespace, path).exists() for path in removed):
            continue
        result = exec_.sh(step.delete, check=False)
        done.append(f"{host.name}-{name}")
        if not result.ok:
            errors.append(f"delete of step {name} on {host.name}: {result.describe()}")
    return done, errors


def remove_host_etc(ns: str) -> None:
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
