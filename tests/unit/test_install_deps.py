"""`scripts/install-deps.sh` never touches a process it did not start.

It used to run `pkill -x unbound` and `pkill -x named` machine-wide after installing, which killed
the `named` of a `lab-bind` lab another engineer had running. The script runs here in a sandbox:
a copy of the project with a ready virtualenv stub, and stubs in PATH for apt-get, dpkg-query and
every command that could stop a process (they only record their arguments). Decoy processes
named `unbound` and `named` must survive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Commands that stop processes by name, by pid or through an init script.
PROCESS_COMMANDS = ("pkill", "killall", "killall5", "pgrep", "pidof", "start-stop-daemon", "service", "invoke-rc.d")
POLICY_MARK = "kube-v6 install-deps"


@dataclass
class Sandbox:
    project: Path
    env: dict[str, str]
    log: Path
    policy: Path

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.project / "scripts" / "install-deps.sh")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def _stub(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install-deps.sh", project / "scripts")
    # The Pulumi toolchain step is its own script (it stops nothing either: see the last test).
    _stub(project / "scripts" / "toolchain.sh", 'echo "toolchain $*" >> "$KV6_LOG"')
    requirements = b""
    (project / "policy").mkdir()
    for name in ("requirements.txt", "requirements-dev.txt", "policy/requirements.txt"):
        shutil.copy(ROOT / name, project / name)
        requirements += (ROOT / name).read_bytes()
    # A virtualenv that is already up to date: the Python half of the script does nothing.
    (project / ".venv" / "bin").mkdir(parents=True)
    _stub(project / ".venv" / "bin" / "python", 'echo "python $*" >> "$KV6_LOG"')
    (project / ".venv" / ".requirements.sha").write_text(hashlib.sha256(requirements).hexdigest() + "\n")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    policy = tmp_path / "policy-rc.d"
    _stub(bin_dir / "dpkg-query", "exit 1")  # nothing is installed yet
    # apt-get records what it was asked and what the policy says about starting a daemon then.
    _stub(
        bin_dir / "apt-get",
        'echo "apt-get $*" >> "$KV6_LOG"\n'
        'if [ "$1" = install ] || [ "$2" = install ] || echo "$*" | grep -q " install "; then\n'
        '  if [ -x "$KV6_POLICY" ]; then "$KV6_POLICY" unbound start; echo "policy unbound start: $?" >> "$KV6_LOG";\n'
        '  else echo "policy unbound start: none" >> "$KV6_LOG"; fi\n'
        "fi",
    )
    for name in (*PROCESS_COMMANDS, "systemctl"):
        _stub(bin_dir / name, f'echo "{name} $*" >> "$KV6_LOG"')
    env = {
        "PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(tmp_path),
        "KV6_LOG": str(log),
        "KV6_POLICY": str(policy),
        "KUBEV6_POLICY_RC_D": str(policy),
    }
    return Sandbox(project, env, log, policy)


@pytest.fixture
def decoys(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes named like the daemons other people's labs run."""
    procs = []
    for name in ("unbound", "named"):
        exe = tmp_path / name
        shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
        procs.append(subprocess.Popen([str(exe), "300"]))
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_setup_stops_no_process(sandbox: Sandbox, decoys: list[subprocess.Popen[bytes]]) -> None:
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    touched = [c for c in sandbox.calls() if c.split()[0] in PROCESS_COMMANDS]
    assert touched == [], f"set-up ran process-stopping commands: {touched}"
    assert all(p.poll() is None for p in decoys), "a process named unbound or named was stopped"


def test_packaged_daemons_cannot_start_during_the_install(sandbox: Sandbox) -> None:
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    calls = sandbox.calls()
    install = next(i for i, c in enumerate(calls) if c.startswith("apt-get") and " install " in f" {c} ")
    # policy-rc.d's "101": the action is forbidden (invoke-rc.d and deb-systemd-invoke obey it).
    assert calls[install + 1] == "policy unbound start: 101", calls
    assert not sandbox.policy.exists(), "the temporary policy-rc.d must be removed afterwards"


def test_an_existing_policy_is_left_alone(sandbox: Sandbox) -> None:
    theirs = "#!/bin/sh\n# the container's own policy\nexit 101\n"
    sandbox.policy.write_text(theirs)
    sandbox.policy.chmod(0o755)
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert sandbox.policy.read_text() == theirs
    assert "policy unbound start: 101" in sandbox.calls()


def test_nothing_is_installed_or_stopped_when_everything_is_there(sandbox: Sandbox) -> None:
    (Path(sandbox.env["PATH"].split(":")[0]) / "dpkg-query").write_text("#!/bin/sh\necho 'install ok installed'\n")
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    # The toolchain script always runs: it checks the installed versions itself (about a second).
    assert [c for c in sandbox.calls() if not c.startswith(("python", "toolchain"))] == []
    assert not sandbox.policy.exists()


def test_toolchain_script_stops_no_process() -> None:
    text = (ROOT / "scripts" / "toolchain.sh").read_text()
    assert not [c for c in PROCESS_COMMANDS if f"{c} " in text]
