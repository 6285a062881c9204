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

from harness.netlab.preflight import LabRefused
from harness.netlab.session import Lab, lab_session
from harness.netlab.state import STATE_ROOT, cleanup_stale, list_namespaces, pid_namespace

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
# This lab only (this test run's instance of `lab`, tests/conftest.py): other labs or VM labs may
# run on the machine and are not ours to judge.
LAB = Lab("lab", log=lambda msg: None)
PREFIX = LAB.names.prefix
ROOT_LINK = LAB.plan.local_bridge
# Command-line fragments of this lab's processes (its state dir; its daemons read /etc/kubev6
# configs; its internet's resolver). Every lab's daemons have the last two: a process inside
# another lab's namespace is that lab's.
LAB_MARKERS = (f"{STATE_ROOT}/{PREFIX}/", "/etc/kubev6/", "--listen-address=203.0.113.53")


def lab_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        pid, stat, args = line.split(None, 2)
        if "Z" in stat or int(pid) == os.getpid() or not any(m in args for m in LAB_MARKERS):
            continue
        ns = pid_namespace(int(pid))
        if LAB_MARKERS[0] in args or not ns or ns.startswith(PREFIX + "-"):
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
    assert f"{ROOT_LINK}:" not in links and f"{ROOT_LINK}@" not in links  # its only root-namespace link


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
        from harness.netlab.session import lab_session
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


HOLDING = textwrap.dedent(
    """
    import time
    from harness.netlab.session import lab_session
    with lab_session("lab"):
        print("READY", flush=True)
        time.sleep(120)
    """
)


def started_lab() -> subprocess.Popen[str]:
    """A child process with this test run's `lab` up, once it printed READY."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDING], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if "READY" in line or time.monotonic() > deadline:
            break
    return proc


def test_cleanup_stale_after_a_killed_run() -> None:
    """A run killed without its teardown leaves its namespaces and daemons: stale, cleanup removes it."""
    proc = started_lab()
    try:
        assert list_namespaces(PREFIX + "-")
        proc.kill()
        proc.wait()
        assert cleanup_stale(only=PREFIX) == [PREFIX]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_nothing_left()


def test_a_lab_left_running_by_up_stays_until_down() -> None:
    """`python -m harness.netlab up` leaves the lab running: not stale; a start is refused; `down` removes it."""
    up = subprocess.run(
        [sys.executable, "-m", "harness.netlab", "up", "--stack", "lab"], cwd=ROOT, capture_output=True, text=True
    )
    try:
        assert up.returncode == 0, up.stderr
        namespaces = list_namespaces(PREFIX + "-")
        assert cleanup_stale(only=PREFIX) == []
        again = subprocess.run(
            [sys.executable, "-m", "harness.netlab", "check", "--stack", "lab"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 2, again.stderr
        assert f"lab {PREFIX} (stack lab) is running, left running by pid" in again.stderr
        assert "python -m harness.netlab down --stack lab` removes it" in again.stderr and "--replace" in again.stderr
        assert list_namespaces(PREFIX + "-") == namespaces
        running = subprocess.run(
            [sys.executable, "-m", "harness.netlab", "check", "--running", "--only", "no_ipv4", "--stack", "lab"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert running.returncode == 0, running.stdout + running.stderr
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "harness.netlab", "down", "--stack", "lab"], cwd=ROOT, capture_output=True
        )
    assert down.returncode == 0, down.stderr
    assert_nothing_left()


def test_a_start_is_refused_while_another_process_runs_the_lab() -> None:
    proc = started_lab()
    try:
        with pytest.raises(LabRefused, match=rf"lab {PREFIX} \(stack lab\) is running, run by pid {proc.pid} "):
            with lab_session("lab", log=lambda msg: None):
                pass
        assert list_namespaces(PREFIX + "-"), "the refused start removed the running lab"
        with lab_session("lab", replace=True, log=lambda msg: None) as lab:
            [result] = lab.check(["no_ipv4"])
            assert result.ok, result.report()
    finally:
        proc.kill()
        proc.wait()
    assert_nothing_left()


def test_twice_in_a_row() -> None:
    for _ in range(2):
        with lab_session("lab", log=lambda msg: None) as lab:
            [result] = lab.check(["dns64_nat64"])
            assert result.ok, result.report()
        assert_nothing_left()
