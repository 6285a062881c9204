"""Namespace machines that can run Kubernetes: what kind does for nodes in containers.

A lab host whose stack installs Kubernetes (stages.install) gets, on top of its network
namespace and its own /etc entries:
- its own UTS namespace (its host name: kubelet registers the node under it);
- private directories for every per-machine state path of containerd, kubelet, etcd and
  kubeadm (bind mounts from the lab's state, like the other private dirs), with
  /var/lib/kubelet a shared mount as kubelet requires;
- the machine's cgroup v1 hierarchies mounted again inside (`ip netns exec` mounts a fresh
  /sys, which hides them), and a cgroup root of its own in every hierarchy, so several
  kubelets on one host do not share pods' cgroups (`--cgroup-root`, see the stack config).
Processes started there (containers too) are found through that cgroup root at teardown.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from harness.commons.processes import stop_pids

# Per-machine state of a Kubernetes node (/usr/local/bin: binaries the packages step installs).
K8S_PRIVATE_TARGETS = (
    "/etc/kubernetes",
    "/etc/containerd",
    "/etc/default",
    "/usr/local/bin",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/etcd",
    "/var/lib/kubev6",
    "/var/log/pods",
    "/var/log/containers",
    "/var/log/kubev6",
    "/run/containerd",
    "/run/nri",  # containerd 2's NRI socket: one per runtime
    "/run/kubev6",
    "/run/netns",
)
CGROUP_FS = Path("/sys/fs/cgroup")


def cgroup_mounts() -> list[tuple[str, str, str]]:
    """(fstype, options, mountpoint) of this machine's cgroup hierarchies, as /proc/self/mounts lists them."""
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _source, target, fstype, options = line.split()[:4]
        if fstype in ("cgroup", "cgroup2") and target.startswith(f"{CGROUP_FS}/"):
            keep = [o for o in options.split(",") if o not in ("rw", "ro", "relatime", "nosuid", "nodev", "noexec")]
            out.append((fstype, ",".join(keep) or "defaults", target))
    return out


def machine_setup(hostname: str) -> list[str]:
    """Shell run inside the host's fresh mount namespace, after its private dirs are bound."""
    lines = ["mount --make-rshared /var/lib/kubelet", f"mount -t tmpfs -o mode=755 cgroup {CGROUP_FS}"]
    for fstype, options, target in cgroup_mounts():
        lines.append(f"mkdir -p {target} && mount -t {fstype} -o {options} cgroup {target}")
    lines.append(f"hostname {hostname}")
    return lines


def cgroup_hierarchies(*, with_unified: bool = False) -> list[Path]:
    """The v1 hierarchies (and the v2 one of a hybrid host, where runc also makes cgroups)."""
    kinds = ("cgroup", "cgroup2") if with_unified else ("cgroup",)
    return [Path(target) for fstype, _, target in cgroup_mounts() if fstype in kinds]


def create_cgroup_root(name: str) -> None:
    """`/<name>` in every v1 hierarchy; a new cpuset child starts empty, so copy its parent's cpus/mems."""
    for hierarchy in cgroup_hierarchies():
        path = hierarchy / name
        path.mkdir(exist_ok=True)
        if (hierarchy / "cpuset.cpus").exists():
            for knob in ("cpuset.cpus", "cpuset.mems"):
                if not (path / knob).read_text().strip():
                    (path / knob).write_text((hierarchy / knob).read_text())


def _cgroups_under(root: Path) -> list[Path]:
    """`root` and every cgroup below it, deepest first; cgroups vanish while we walk (tolerated)."""
    found = [Path(dirpath) for dirpath, _, _ in os.walk(root, onerror=lambda _: None)]
    return sorted(found, key=lambda p: -len(p.parts))


def cgroup_root_pids(name: str) -> list[int]:
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies(with_unified=True):
        for cgroup in _cgroups_under(hierarchy / name):
            with contextlib.suppress(OSError, ValueError):
                pids |= {int(p) for p in (cgroup / "cgroup.procs").read_text().split()}
    return sorted(pids)


def remove_cgroup_root(name: str) -> list[int]:
    """Stop every process under `/<name>` (containers included), then remove the cgroups deepest first.
    Returns the pids that had to be killed."""
    killed: list[int] = []
    for _ in range(3):
        pids = cgroup_root_pids(name)
        if not pids:
            break
        for hierarchy in cgroup_hierarchies():  # thaw, or frozen tasks never see the signal
            for cgroup in _cgroups_under(hierarchy / name):
                with contextlib.suppress(OSError):
                    (cgroup / "freezer.state").write_text("THAWED")
        killed += stop_pids(pids)
    for hierarchy in cgroup_hierarchies(with_unified=True):
        for cgroup in _cgroups_under(hierarchy / name):
            _rmdir(cgroup)
    return killed


def _rmdir(path: Path) -> None:
    for _ in range(20):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)  # tasks may take a moment to leave


def remove_empty_cgroups(name: str) -> None:
    """`/<name>` in every hierarchy, deepest first, where no process is left (rmdir refuses otherwise)."""
    for hierarchy in cgroup_hierarchies(with_unified=True):
        for cgroup in _cgroups_under(hierarchy / name):
            with contextlib.suppress(OSError):
                cgroup.rmdir()
