"""The rendered supervise.sh (machines without systemd) keeps a daemon running and stops all of it.

It runs as rendered, with /bin/sh (dash: no `kill --`, which once left every kubelet running after
`stop`), in a private mount namespace whose /run/kubev6 is a fresh tmpfs and a PID namespace of its
own: whatever the script leaves running ends with it, also when the test fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rendering.layout import RUN_DIR
from rendering.node_install import supervise_script

pytestmark = pytest.mark.lab


@pytest.fixture
def script(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root for a private mount namespace")
    path = tmp_path / "supervise.sh"
    rendered = supervise_script()
    path.write_text(rendered.content)
    path.chmod(int(rendered.mode, 8))
    return path


def in_private_run(shell: str) -> str:
    res = subprocess.run(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mkdir -p {RUN_DIR} && mount -t tmpfs tmpfs {RUN_DIR} && {shell}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return res.stdout


def test_start_restarts_the_daemon_and_stop_ends_loop_and_daemon(script: Path, tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    daemon = f"sh -c 'echo x >> {marker}; exec sleep 0.3'"
    out = in_private_run(
        f"{script} start demo {daemon} && sleep 3 && pgid=$(cat {RUN_DIR}/demo.pid) && "
        f"{script} start demo {daemon} && "  # a second start is a no-op
        f'{script} stop demo && sleep 0.5 && ps -eo pgid= | grep -cx " *$pgid" || true; '
        f"[ -e {RUN_DIR}/demo.pid ] && echo pidfile-left || echo pidfile-gone; "
        # Inside the namespace: after stop, the loop must not start the daemon again.
        f"before=$(grep -c x {marker}); sleep 1; echo $before $(grep -c x {marker})"
    )
    lines = out.split()
    assert lines[-4] == "0", f"processes of the group survived stop: {out}"
    assert lines[-3] == "pidfile-gone"
    before, after = int(lines[-2]), int(lines[-1])
    assert before >= 2, f"the daemon was not restarted after it exited ({before} start)"
    assert after == before, "the loop kept restarting after stop"
