"""The lab's state on this machine, and removing all of it (also what an interrupted run left).

Everything the lab creates is findable without the Python objects that created it:
- namespaces named `kv6*` (`ip netns list`), and their `/etc/netns/kv6*` directories;
- processes: pidfiles under `/run/kv6lab/<prefix>/pids/`, and anything still running inside a
  `kv6*` namespace (`ip netns pids`);
- empty mountpoints the lab had to create in the root file system (`ip netns exec` can only
  bind `/etc/netns/NS/kubev6` over an existing `/etc/kubev6`), listed in
  `/run/kv6lab/mountpoints`;
- links in the root namespace (only the optional root-access veth), listed in
  `/run/kv6lab/<prefix>/root-links`;
- who started it, in `/run/kv6lab/<prefix>/owner.json` (`Owner`): a lab whose owner still runs,
  or that `up` left running, is alive and no other start removes it (`running_lab`); one whose
  owner is gone (killed, or an interrupted teardown) is stale and may be cleaned.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness.commons.processes import alive as _alive
from harness.commons.processes import stop_pids
from harness.commons.shell import run
from harness.netlab.k8s_machine import remove_cgroup_root, remove_empty_cgroups
from harness.netlab.naming import PREFIX

STATE_ROOT = Path("/run/kv6lab")
NETNS_ETC = Path("/etc/netns")
MOUNTPOINTS_FILE = STATE_ROOT / "mountpoints"
_MOUNTPOINTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Owner:
    """Who started a lab: a process (its pid and start time: a recycled pid has another), or
    nobody any more once `up` left it running (`detached`: alive until `down`)."""

    pid: int
    start: str
    stack: str
    command: str
    down: str  # the command that removes it
    detached: bool = False

    def alive(self) -> bool:
        return process_start(self.pid) == self.start

    @classmethod
    def this_process(cls, stack: str, down: str) -> Owner:
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        return cls(os.getpid(), process_start(os.getpid()) or "", stack, command[:100], down)


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(") ", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


class LabState:
    """The state directory of one lab (one stack)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.dir = STATE_ROOT / prefix

    def create(self) -> None:
        for sub in ("pids", "logs", "private", "www", "cni-cache"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)

    def path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    def private_dir(self, host_ns: str, name: str) -> Path:
        p = self.dir / "private" / host_ns / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def log_path(self, name: str) -> str:
        return str(self.dir / "logs" / f"{name}.log")

    def record_pid(self, name: str, pid: int) -> None:
        (self.dir / "pids" / f"{name}.pid").write_text(f"{pid}\n")

    def record_root_link(self, name: str) -> None:
        with open(self.dir / "root-links", "a") as f:
            f.write(name + "\n")

    def record_cgroup_root(self, name: str) -> None:
        with open(self.dir / "cgroup-roots", "a") as f:
            f.write(name + "\n")

    def cgroup_roots(self) -> list[str]:
        try:
            return [line for line in (self.dir / "cgroup-roots").read_text().split() if line]
        except OSError:
            return []

    def root_links(self) -> list[str]:
        try:
            return [line for line in (self.dir / "root-links").read_text().split() if line]
        except OSError:
            return []

    def write_owner(self, owner: Owner) -> None:
        tmp = self.dir / "owner.json.tmp"
        tmp.write_text(json.dumps(asdict(owner)) + "\n")
        tmp.replace(self.dir / "owner.json")

    def owner(self) -> Owner | None:
        try:
            return Owner(**json.loads((self.dir / "owner.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def mark_detached(self) -> None:
        """`up` leaves the lab running: alive after this process ends, until `down`."""
        owner = self.owner()
        if owner is not None:
            self.write_owner(replace(owner, detached=True))

    def pids(self) -> dict[str, int]:
        result = {}
        for pidfile in sorted((self.dir / "pids").glob("*.pid")):
            with contextlib.suppress(OSError, ValueError):
                result[pidfile.stem] = int(pidfile.read_text().strip())
        return result


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def namespace_pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def pid_namespace(pid: int) -> str | None:
    out = run(["ip", "netns", "identify", str(pid)], check=False).stdout.strip()
    return out or None


def stop_namespace_processes(ns: str) -> None:
    pids = namespace_pids(ns)
    if pids:
        stop_pids(pids)


def delete_namespace(ns: str) -> None:
    stop_namespace_processes(ns)
    run(["ip", "netns", "delete", ns], check=False)
    etc = NETNS_ETC / ns
    if etc.is_dir():
        shutil.rmtree(etc, ignore_errors=True)


def ensure_mountpoint(path: str) -> None:
    """Create an (empty) directory in the root file system for a per-namespace bind mount,
    remembering that the lab created it so teardown can remove it again."""
    p = Path(path)
    with _MOUNTPOINTS_LOCK:
        # Every missing ancestor too (e.g. /opt/cni for /opt/cni/bin), outermost first.
        missing = [d for d in (*reversed(p.parents), p) if not d.exists()]
        for d in missing:
            try:
                d.mkdir()
            except FileExistsError:
                continue
            STATE_ROOT.mkdir(parents=True, exist_ok=True)
            with open(MOUNTPOINTS_FILE, "a") as f:
                f.write(f"{d}\n")


def release_mountpoints() -> None:
    """Remove the mountpoints the lab created, once no lab is using them any more."""
    if list_namespaces() or any(STATE_ROOT.glob(f"{PREFIX}*")):
        return
    try:
        paths = MOUNTPOINTS_FILE.read_text().split()
    except OSError:
        return
    for path in reversed(paths):
        p = Path(path)
        if p == Path("/run/kubev6"):
            # The gateway's run dir: per-lab while a lab runs; anything here is a stale leftover.
            shutil.rmtree(p, ignore_errors=True)
            continue
        with contextlib.suppress(OSError):
            p.rmdir()  # only if empty: never delete something a real install put there
    MOUNTPOINTS_FILE.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        STATE_ROOT.rmdir()


def running_lab(prefix: str) -> Owner | None:
    """The owner of the lab `prefix` if that lab is alive; None if there is none or it is stale.

    Alive: its owner process still runs, or `up` left it running and its namespaces are there. A lab
    without an owner record (started by an older version) counts as alive while processes run in
    its namespaces: removing it is the operator's call (`down`, or a start with replace)."""
    namespaces = list_namespaces(prefix + "-")
    owner = LabState(prefix).owner()
    if owner is None:
        busy = [ns for ns in namespaces if namespace_pids(ns)]
        if not busy:
            return None
        return Owner(0, "", "unknown", f"an unrecorded process (namespaces {', '.join(busy[:3])})", "")
    if owner.alive() or (owner.detached and namespaces):
        return owner
    return None


def describe_running(prefix: str, owner: Owner) -> str:
    how = "left running by" if owner.detached and not owner.alive() else "run by"
    pid = f" pid {owner.pid}" if owner.pid else ""
    down = f"`{owner.down}` removes it, or " if owner.down else ""
    return (
        f"lab {prefix} (stack {owner.stack}) is running, {how}{pid} {owner.command}: {down}"
        "start with --replace (KUBEV6_LAB_REPLACE=1) to replace it"
    )


def teardown_prefix(prefix: str) -> None:
    """Remove everything of the lab whose names start with `prefix` (e.g. kv6l)."""
    state = LabState(prefix)
    # Kubernetes machines: first the daemons in the hosts' namespaces (kubelet, containerd and the
    # shims would restart containers), then the containers, which run in network namespaces of
    # their own and are found by the node's cgroup root.
    if state.cgroup_roots():
        for ns in list_namespaces(prefix + "-"):
            stop_namespace_processes(ns)
        for name in state.cgroup_roots():
            remove_cgroup_root(name)
        # A kubelet that starts before kubeadm wrote its flags makes an empty top-level kubepods tree.
        remove_empty_cgroups("kubepods")
    for pid in state.pids().values():
        # Only processes inside one of our namespaces: a recycled pid elsewhere is not ours.
        ns = pid_namespace(pid) if _alive(pid) else None
        if ns and ns.startswith(prefix + "-"):
            stop_pids([pid])
    # Pods first (their veths live in the node namespaces), then hosts, switch, internet.
    for ns in sorted(list_namespaces(prefix + "-"), key=lambda n: (-n.count("-"), n)):
        delete_namespace(ns)
    for link in state.root_links():
        run(["ip", "link", "del", link], check=False)
    for etc in NETNS_ETC.glob(f"{prefix}-*"):
        shutil.rmtree(etc, ignore_errors=True)
    shutil.rmtree(state.dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        NETNS_ETC.rmdir()


def cleanup_stale(only: str | None = None, *, include_running: bool = False) -> list[str]:
    """Remove anything `kv6*` an interrupted run left behind (with `only`, just that lab's prefix,
    e.g. kv6l: other labs on the machine are left alone); returns what was removed. Labs that are
    alive (`running_lab`) are left alone unless `include_running`."""
    found = list_namespaces()
    prefixes = {ns.split("-", 1)[0] for ns in found}
    if STATE_ROOT.is_dir():
        prefixes |= {p.name for p in STATE_ROOT.iterdir() if p.is_dir() and p.name.startswith(PREFIX)}
    if NETNS_ETC.is_dir():
        prefixes |= {p.name.split("-", 1)[0] for p in NETNS_ETC.iterdir() if p.name.startswith(PREFIX)}
    if only is not None:
        prefixes &= {only}
    if not include_running:
        prefixes = {p for p in prefixes if running_lab(p) is None}
    for prefix in sorted(prefixes):
        teardown_prefix(prefix)
    release_mountpoints()
    return sorted(prefixes)
