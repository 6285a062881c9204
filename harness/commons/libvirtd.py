"""A libvirt daemon for previews of libvirt stacks (the provider connects while previewing).

Without an init system, `virtlogd -d` and `libvirtd -d` are started by hand. A daemon that already
answers at the URI is used as it is and left running; one started here is stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

URI = "qemu:///system"
_DAEMONS = (("virtlogd", Path("/run/virtlogd.pid")), ("libvirtd", Path("/run/libvirtd.pid")))
# Folders the network driver writes into but, started by hand on a fresh machine, does not make:
# a domain's start failed with "Failed to create file '/var/lib/libvirt/dnsmasq/<net>.macs.new'".
STATE_DIRS = (Path("/var/lib/libvirt/dnsmasq"),)


def answers(uri: str = URI) -> bool:
    res = subprocess.run(["virsh", "-c", uri, "version"], capture_output=True, text=True, check=False, timeout=30)
    return res.returncode == 0


def inventory(uri: str = URI) -> dict[str, list[str]]:
    """Names of every domain, network and pool the daemon knows (to prove a preview created none)."""
    out = {}
    for what in ("list", "net-list", "pool-list"):
        res = subprocess.run(
            ["virsh", "-c", uri, what, "--all", "--name"], capture_output=True, text=True, check=True, timeout=30
        )
        out[what] = sorted(line for line in res.stdout.split() if line)
    return out


def _pid(pidfile: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(pidfile.read_text().strip())
    return None


def start(uri: str = URI, timeout: float = 30) -> list[int]:
    """Start virtlogd and libvirtd unless a daemon answers at `uri`; the pids started (maybe none).
    The caller stops exactly those with `stop` (a later process can, given the pids)."""
    if answers(uri):
        return []
    for folder in STATE_DIRS:
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    started: list[int] = []
    try:
        for name, pidfile in _DAEMONS:
            subprocess.run([name, "-d"], check=True, timeout=30)
            deadline = time.monotonic() + 10
            while _pid(pidfile) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            pid = _pid(pidfile)
            if pid is None:
                raise RuntimeError(f"{name} -d started but wrote no {pidfile}")
            started.append(pid)
        deadline = time.monotonic() + timeout
        while not answers(uri):
            if time.monotonic() > deadline:
                raise TimeoutError(f"libvirtd does not answer at {uri} after {timeout}s")
            time.sleep(0.2)
    except BaseException:
        stop(started)
        raise
    return started


def stop(pids: list[int]) -> None:
    """SIGTERM exactly these daemons (libvirtd first), and wait for them to go."""
    names = {name for name, _ in _DAEMONS}
    for pid in reversed(pids):
        with contextlib.suppress(OSError):
            # Only if the pid is still one of those daemons (not reused by another process since).
            if Path(f"/proc/{pid}/comm").read_text().strip() in names:
                os.kill(pid, signal.SIGTERM)
    for pid in pids:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def running_libvirtd(uri: str = URI, timeout: float = 30) -> Iterator[bool]:
    """Yields True when this context started the daemons (and stops exactly those on exit)."""
    started = start(uri, timeout)
    try:
        yield bool(started)
    finally:
        stop(started)


KVM_DEVICE = Path("/dev/kvm")
QEMU_GROUP = "kvm"  # Debian's libvirt-qemu user is in it


def grant_kvm_to_qemu_group(device: Path = KVM_DEVICE) -> dict[str, int] | None:
    """Give /dev/kvm the owner and mode udev gives it on Debian (root:kvm 0660) when it is not so.

    Without udev the node is root:root 0600 here. libvirt's capability probe still finds KVM, but
    its cache check (can the qemu user open /dev/kvm?) says no, so every API call that needs the
    capabilities probes every QEMU binary again: minutes per domain definition under load. Domains of
    type `qemu` never open the device. Returns the previous {uid, gid, mode} to restore, or None when
    nothing changed."""
    if not device.exists():
        return None
    import grp

    st = device.stat()
    gid = grp.getgrnam(QEMU_GROUP).gr_gid
    if st.st_gid == gid and st.st_mode & 0o060 == 0o060:
        return None
    previous = {"uid": st.st_uid, "gid": st.st_gid, "mode": st.st_mode & 0o7777}
    os.chown(device, 0, gid)
    device.chmod(0o660)
    return previous


def restore_kvm(previous: dict[str, int] | None, device: Path = KVM_DEVICE) -> None:
    if previous and device.exists():
        os.chown(device, previous["uid"], previous["gid"])
        device.chmod(previous["mode"])
