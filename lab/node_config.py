"""Step 2: put the RENDERED files on each lab host and activate them, as a machine would.

Each host namespace gets its own /etc entries under `/etc/netns/NS/` (`ip netns exec`
bind-mounts them over /etc); the files are installed by running `rendering.files.install_script`
inside the namespace, so they land in that host's /etc exactly as on a real machine. Then:
`sysctl -p` of the rendered sysctl file (strict: a missing key fails), the modules of the
rendered modules-load file (recorded; this machine has no /lib/modules), `routes.sh up`, and
on the gateway `nat64.sh up` and `dns64.sh up`. Nothing is re-implemented: the lab only runs
the rendered files.

A later issue can replace `install_files` by the real Pulumi engine installing the same files
over SSH into each namespace; `prepare_host` (the per-host /etc and private dirs) stays.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab.k8s_machine import K8S_PRIVATE_TARGETS, machine_setup
from lab.shell import HostExec, PrivateDir
from lab.state import NETNS_ETC, LabState, ensure_mountpoint
from planning.plan import ClusterPlan, HostPlan
from rendering import cni, gateway, host_network, mirror
from rendering.files import RenderedFile, install_script

# /etc entries each host namespace owns (bind-mounted over the machine's by `ip netns exec`).
ETC_DIRS = ("kubev6", "cni", "sysctl.d", "modules-load.d", "systemd")
ETC_FILES = ("resolv.conf", "hosts")

# Evidence that a module's feature is present although it cannot be listed or loaded here.
MODULE_EVIDENCE = {
    "overlay": ("/proc/filesystems", "overlay"),
    "br_netfilter": ("/proc/sys/net/bridge/bridge-nf-call-ip6tables", None),
    "tun": ("/dev/net/tun", None),
}


def host_files(plan: ClusterPlan, host: HostPlan) -> list[RenderedFile]:
    """The rendered files the lab installs on `host` (systemd units are not used here)."""
    files = [
        host_network.sysctl_file(host),
        host_network.modules_file(host, plan.nat64.engine),
        host_network.routes_script(host, plan.cluster_interface),
        host_network.resolv_conf(plan.nameserver(host), plan.gateway.name),
        host_network.hosts_file(plan.hosts),
    ]
    if host.role == "gateway":
        if plan.config.gateway.nat64.engine != "tayga":
            raise ValueError("the lab runs TAYGA only: Jool needs its kernel module, which this machine cannot load")
        files += [
            gateway.tayga_conf(plan.nat64),
            gateway.guard_ruleset(plan.nat64),
            gateway.nat64_script(plan.nat64),
            gateway.dns64_conf(plan.dns64),
            gateway.dns64_script(plan.dns64),
        ]
    else:
        files.append(cni.conflist_file(host))
    return files


def is_kubernetes_machine(plan: ClusterPlan, host: HostPlan) -> bool:
    """A node of a stack that installs Kubernetes: it gets what kubelet and containerd need."""
    return host.role != "gateway" and plan.config.stages.install


def private_targets(plan: ClusterPlan, host: HostPlan) -> list[str]:
    """Machine-wide directories that are per-machine state: private to each lab host."""
    if is_kubernetes_machine(plan, host):
        return ["/var/lib/cni", cni.CONTAINERD_PLUGIN_DIR, *K8S_PRIVATE_TARGETS]
    if host.role != "gateway":
        # host-local leases and the CNI result cache (see lab.cni_runtime); the plugin links the
        # rendered cni step makes where containerd looks.
        return ["/var/lib/cni", cni.CONTAINERD_PLUGIN_DIR]
    targets = [gateway.RUN_DIR]
    tayga = re.search(r"^data-dir (\S+)", gateway.tayga_conf(plan.nat64).content, re.M)
    if tayga:
        targets.append(tayga.group(1))
    if plan.config.stages.install and plan.config.kubernetes.artifacts == "mirror":
        targets.append(mirror.MIRROR_DIR.rsplit("/", 1)[0])  # /var/lib/kubev6: the mirror's files
    if plan.config.gateway.dns64.engine == "bind9":
        named = re.search(r'directory "([^"]+)"', gateway.named_conf(plan.dns64).content)
        if named:
            targets.append(named.group(1))
    return targets


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


def install_files(exec_: HostExec, files: list[RenderedFile]) -> list[str]:
    """Run the rendered install script inside the namespace; verify every file landed in its /etc."""
    targets = {f.path: netns_etc_path(exec_.namespace, f.path) for f in files}  # refuse before writing
    exec_.sh(install_script(files), what=f"installing rendered files in {exec_.namespace}")
    for f in files:
        landed = targets[f.path]
        if not landed.is_file() or landed.read_text().rstrip("\n") != f.content.rstrip("\n"):
            raise RuntimeError(f"{f.path} did not land in {landed} (is /etc{f.path[4:]} bind-mounted?)")
        if oct(landed.stat().st_mode & 0o7777) != oct(int(f.mode, 8)):
            raise RuntimeError(f"{landed}: mode {oct(landed.stat().st_mode & 0o7777)}, rendered {f.mode}")
    return sorted(targets)


def apply_kernel(exec_: HostExec, report: HostReport) -> None:
    result = exec_.run(
        ["sysctl", "-p", host_network.SYSCTL_PATH], what=f"applying {host_network.SYSCTL_PATH} (every key must exist)"
    )
    if "cannot stat" in result.stderr or "unknown key" in result.stderr:
        raise RuntimeError(f"sysctl reported a missing key:\n{result.describe()}")
    report.sysctl_output = result.stdout
    text = exec_.run(["cat", host_network.MODULES_PATH]).stdout
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
    """Install the host's rendered files (after `prepare_host`) and activate them."""
    report = HostReport(host.name, exec_.namespace)
    report.files = install_files(exec_, host_files(plan, host))
    apply_kernel(exec_, report)
    exec_.run([host_network.ROUTES_PATH, "up"], what=f"{host.name}: routes.sh up")
    return report


def gateway_up(exec_: HostExec) -> None:
    exec_.run([gateway.NAT64_SCRIPT_PATH, "up"], what="gateway: nat64.sh up")
    exec_.run([gateway.DNS64_SCRIPT_PATH, "up"], what="gateway: dns64.sh up")


def gateway_down(exec_: HostExec) -> None:
    exec_.run([gateway.DNS64_SCRIPT_PATH, "down"], check=False)
    exec_.run([gateway.NAT64_SCRIPT_PATH, "down"], check=False)


def remove_host_etc(ns: str) -> None:
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
