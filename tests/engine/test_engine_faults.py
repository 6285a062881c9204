"""The engine against faults: an `up` interrupted by SIGINT, and a host nobody answers on."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.commons.engine import EngineEnv, EngineError, StackRun
from harness.netlab.snapshot import diff, host_snapshot
from tests.helpers.engine import engine_lab

pytestmark = pytest.mark.engine


@pytest.mark.lab
def test_up_interrupted_by_sigint_then_up_again_converges(env: EngineEnv, tmp_path: Path) -> None:
    """SIGINT once the first command is created: the engine stops; the next `up` finishes the rest,
    nothing is created twice, the checks pass, and destroy still returns every host to its state."""
    for lab in engine_lab("lab-bind", env, tmp_path):
        assert lab.run is not None
        lab.deployed = True
        argv = [str(env.cli_dir / "pulumi"), "up", "--yes", "--skip-preview", "--non-interactive"]
        argv += ["--stack", "lab-bind"]
        proc = subprocess.Popen(
            argv,
            cwd=lab.run.project_dir,
            env={**os.environ, **env.variables()},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "-network created" in line:
                proc.send_signal(signal.SIGINT)
                break
        rest, _ = proc.communicate(timeout=120)
        out = "".join(seen) + rest
        assert proc.returncode != 0, out
        assert "cancel" in out.lower(), out

        done = lab.pulumi_up()
        assert done.changes.get("create", 0) >= 1, done.changes
        # 23: see test_engine_lab.RESOURCES; the read is the stack's own outputs (a StackReference).
        assert done.changes.get("create", 0) + done.changes.get("same", 0) == 23, done.changes
        assert set(done.changes) <= {"create", "same", "read"}, done.changes
        assert lab.run.up().changed == 0

        lab.lab.up_workloads()
        failed = [r.report() for r in lab.lab.check() if not r.ok]
        assert not failed, "\n".join(failed)

        lab.lab.stop_workloads()
        lab.run.destroy()
        lab.deployed = False
        differences = []
        for name, before in lab.before.items():  # type: ignore[attr-defined]
            differences += [f"{name}: {d}" for d in diff(before, host_snapshot(lab.lab.execs[name]))]
        assert not differences, "\n".join(differences)


def test_unreachable_host_fails_naming_it(env: EngineEnv, tmp_path: Path) -> None:
    """The lab stack without its lab: nothing listens on the hosts' addresses."""
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    run = StackRun("lab", env, tmp_path)
    run.set_config("sshPrivateKey", key.read_text(), secret=True)
    run.set_config("ssh.publicKey", (tmp_path / "id.pub").read_text().strip(), path=True)
    run.set_config("ssh.dialErrorLimit", "1", path=True)
    run.set_config("ssh.perDialTimeout", "2", path=True)
    start = time.monotonic()
    with pytest.raises(EngineError) as err:
        run.up()
    out = err.value.output
    # The first command on a host is its machine identity (program/machine_ids.py).
    assert "fd6b:7636::64" in out and "kube-nat64-dns64-machine-id" in out, out
    assert "Traceback" not in out
    assert time.monotonic() - start < 120
    run.destroy()
