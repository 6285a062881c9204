"""Nothing of the lab survives it: normal exit, an exception, SIGTERM, or a run that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lab.session import lab_session
from lab.state import STATE_ROOT, cleanup_stale, list_namespaces

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
# This lab only (prefix kv6l): other labs or VM labs may run on the machine and are not ours to judge.
PREFIX = "kv6l"
# Command-line fragments only this lab's processes have (its state dir; its daemons read /etc/kubev6
# configs; its internet's resolver).
LAB_MARKERS = (f"{STATE_ROOT}/{PREFIX}/", "/etc/kubev6/", "--listen-address=203.0.113.53")


def lab_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        pid, stat, args = line.split(None, 2)
        if "Z" not in stat and int(pid) != os.getpid() and any(m in args for m in LAB_MARKERS):
            found.append(line.strip())
    return found


def assert_nothing_left() -> None:
    assert list_namespaces(PREFIX + "-") == []
    assert not list(Path("/etc/netns").glob(f"{PREFIX}-*"))
    assert not (STATE_ROOT / PREFIX).exists()
    for path in ("/etc/kubev6", "/etc/cni", "/var/lib/cni", "/run/kubev6", "/var/lib/tayga-kubev6"):
        assert not Path(path).exists() or not any(Path(path).iterdir()), path
    assert lab_processes() == []
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert "kv6lab0" not in links  # the lab's only root-namespace link (root access)


@pytest.fixture(autouse=True)
def clean_machine() -> None:
    cleanup_stale(only=PREFIX)
    assert_nothing_left()


def test_context_exit_removes_everything() -> None:
    with lab_session("lab", log=lambda msg: None) as lab:
        assert len(list_namespaces()) >= 7 + len(lab.pods)
        assert lab_processes()
    assert_nothing_left()


def test_exception_inside_the_lab_removes_everything() -> None:
    with pytest.raises(RuntimeError, match="boom"), lab_session("lab", log=lambda msg: None):
        raise RuntimeError("boom")
    assert_nothing_left()


def test_sigterm_removes_everything() -> None:
    code = textwrap.dedent(
        """
        import time
        from lab.session import lab_session
        with lab_session("lab"):
            print("READY", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if "READY" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert_nothing_left()


def test_cleanup_stale_after_a_killed_run() -> None:
    """`python -m lab up` leaves the lab running (as a killed run would): cleanup_stale removes it."""
    subprocess.run([sys.executable, "-m", "lab", "up", "--stack", "lab"], cwd=ROOT, check=True, capture_output=True)
    assert list_namespaces(PREFIX + "-")
    assert cleanup_stale(only=PREFIX) == [PREFIX]
    assert_nothing_left()


def test_twice_in_a_row() -> None:
    for _ in range(2):
        with lab_session("lab", log=lambda msg: None) as lab:
            [result] = lab.check(["dns64_nat64"])
            assert result.ok, result.report()
        assert_nothing_left()
