"""`python -m harness.netlab`: a refusal or an interruption is one clear line and a conventional exit code,
never a traceback, and a refused stack touches nothing on the machine.

These are unit tests: nothing here creates a namespace. `machine_guard` makes any command, kill
or removal the CLI would perform fail the test instead (a refused stack must be refused before
the lab does anything; `large` shares the initials of `lab` and used to tear down a running
`lab` lab before failing).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import harness.netlab.__main__ as cli
from config_schemas.stack_files import stack_names
from harness.netlab import session as netlab_session

ROOT = Path(__file__).resolve().parents[2]


class TouchedTheMachine(AssertionError):
    pass


@pytest.fixture
def machine_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise TouchedTheMachine(f"the lab CLI touched the machine: {args[:1]}")

    def kill(pid: int, sig: int) -> None:
        if sig != 0:
            refuse(pid, sig)

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(shutil, "rmtree", refuse)
    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # as root, where the damage would happen


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("python -m harness.netlab: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("stack", "reason"),
    [
        ("large", r"cannot run in the lab: gateway\.nat64\.engine is jool: the lab runs TAYGA only"),
        ("dev", r"cannot run in the lab: gateway\.nat64\.engine is jool"),
        (
            "tayga-bind",
            r"gateway\.dns64\.upstream \(192\.168\.166\.1\) lacks the lab internet's resolver 203\.0\.113\.53",
        ),
        ("foo", r"no stack 'foo': Pulumi\.foo\.yaml does not exist \(stacks: .*lab-bind"),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["up"], ["down"], ["check", "--running"]])
def test_a_stack_the_lab_cannot_run_is_refused_in_one_line(
    machine_guard: None, capsys: pytest.CaptureFixture[str], stack: str, reason: str, command: list[str]
) -> None:
    code = cli.main([*command, "--stack", stack])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert re.search(reason, line), line
    assert "lab stacks: lab, lab-bind" in line or stack == "foo"


def test_a_stack_with_config_problems_is_refused_in_one_line(
    machine_guard: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import config_schemas.stack_files as stack_files

    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  kubev6:nodez: []\n  kubev6:platform: {kind: existing}\n")
    monkeypatch.setattr(stack_files, "PROJECT_DIR", tmp_path)
    code = cli.main(["check", "--stack", "broken"])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert "stack 'broken':" in line and "kubev6:nodez: unknown key" in line and "kubev6:network:" in line


def test_every_runnable_stack_passes_the_refusals() -> None:
    from harness.netlab.preflight import lab_plan

    for stack in ("lab", "lab-bind"):
        assert lab_plan(stack).nat64.engine == "tayga"
    assert {"lab", "lab-bind"} <= set(stack_names())


@pytest.mark.parametrize("command", [["check"], ["up"]])
def test_ctrl_c_is_one_line_and_exit_130(
    machine_guard: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(netlab_session.Lab, "up", interrupted)
    monkeypatch.setattr(netlab_session.Lab, "down", lambda self: [])
    try:
        code = cli.main([*command, "--stack", "lab"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped the CLI (a traceback for the user)")
    line = one_line(capsys.readouterr().err)
    assert code == 130
    assert "interrupted" in line


def default_sigint() -> None:
    """In the child before exec: SIGINT back to its default disposition.

    A shell without job control starts background jobs with SIGINT ignored, and an ignored
    disposition survives exec (Python then installs no KeyboardInterrupt handler): the test
    sets up the signal it relies on instead of inheriting whatever its parent had.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_of_the_real_process_exits_130_without_a_traceback() -> None:
    """The real signal, in a child whose lab session only waits (it creates nothing)."""
    code = textwrap.dedent(
        """
        import contextlib, os, sys, time
        import harness.netlab.__main__ as cli

        @contextlib.contextmanager
        def waiting(*args, **kwargs):
            print("READY", flush=True)
            time.sleep(60)
            yield

        os.geteuid = lambda: 0
        cli.lab_session = waiting
        sys.exit(cli.main(["check", "--stack", "lab"]))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "READY" not in proc.stdout.readline():
            pass
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in one_line(err)


def test_the_engine_and_kubernetes_labs_keep_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m harness.enginelab` is the old `python -m lab --engine`; a Kubernetes stack is the
    Kubernetes lab's, refused before anything on the machine is touched; both parse the old options."""
    import harness.enginelab.__main__ as engine_cli
    import harness.k8slab.__main__ as k8s_cli

    assert engine_cli.main(["check", "--stack", "lab-k8s"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m harness.enginelab: stack lab-k8s runs Kubernetes: `python -m harness.k8slab`"), err
    for cli_main, prog in ((engine_cli.main, "harness.enginelab"), (k8s_cli.main, "harness.k8slab")):
        with pytest.raises(SystemExit) as usage:
            cli_main(["check", "--engine"])
        assert usage.value.code == 2
        assert f"usage: python -m {prog}" in capsys.readouterr().err
