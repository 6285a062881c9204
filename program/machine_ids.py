"""Which machine each existing host is: the token it holds, read over SSH before anything is declared.

The token (rendering/machine_identity.py) is written by the stack and recorded as the output
`machineIds`. On each run every recorded host is asked for it, side by side: the same token, and
the host is the machine the state describes; no token or another one, and the machine was
reinstalled or replaced, so it gets a new token and every command on it is replaced (runs again).
A host that cannot be asked (a preview away from the machines' network) keeps its recorded token:
nothing is replaced on a guess, and the run says so. Hosts never recorded (the first `up`, a node
just added) get a new token without being asked.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pulumi
from pulumi.runtime.sync_await import _sync_await

from planning.plan import ClusterPlan, HostPlan
from program.deployed import Deployed
from rendering.layout import MACHINE_ID_PATH

OUTPUT = "machineIds"
CONNECT_TIMEOUT = 5  # seconds: a host that does not answer by then is "could not be asked"


@dataclass(frozen=True)
class Reached:
    """How the program itself reaches the hosts (the same user, port and key as the commands)."""

    user: str
    port: int
    private_key: str


def read_tokens(hosts: Sequence[HostPlan], reached: Reached) -> dict[str, str | None]:
    """Each host's token ('' when it holds none); None when it could not be asked."""
    with tempfile.TemporaryDirectory(prefix="kubev6-ids-") as d:
        key = os.path.join(d, "id")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(reached.private_key if reached.private_key.endswith("\n") else reached.private_key + "\n")

        def ask(host: HostPlan) -> str | None:
            argv = [
                "ssh", "-i", key, "-p", str(reached.port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", f"ConnectTimeout={CONNECT_TIMEOUT}", f"{reached.user}@{host.ssh_host}",
                f"cat {MACHINE_ID_PATH} 2>/dev/null || true",
            ]  # fmt: skip
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=CONNECT_TIMEOUT + 10, check=False)
            except (OSError, subprocess.TimeoutExpired):
                return None
            return done.stdout.strip() if done.returncode == 0 else None

        with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
            return dict(zip((h.name for h in hosts), pool.map(ask, hosts), strict=True))


def new_token() -> str:
    return uuid.uuid4().hex


def choose_tokens(
    names: Sequence[str],
    recorded: Mapping[str, str],
    observed: Mapping[str, str | None],
    fresh: Callable[[], str],
) -> tuple[dict[str, str], list[str]]:
    """The token of each host, and a line for each host whose token is new or kept unread."""
    tokens: dict[str, str] = {}
    notes: list[str] = []
    for name in names:
        had, holds = recorded.get(name), observed.get(name)
        if had is None:
            tokens[name] = fresh()
        elif holds is None:
            tokens[name] = had
            notes.append(f"{name}: could not be asked for its machine id; taken to be the machine in the state")
        elif holds == had:
            tokens[name] = had
        else:
            tokens[name] = fresh()
            what = "holds no machine id" if not holds else "holds another stack's machine id"
            notes.append(f"{name}: {what} (reinstalled or replaced): every command on it runs again")
    return tokens, notes


def machine_tokens(plan: ClusterPlan, deployed: Deployed, private_key: pulumi.Output[str]) -> dict[str, str]:
    """Every host's token for this run (existing hosts only: a libvirt machine is its domain)."""
    previous = deployed.output(OUTPUT)
    recorded = {str(k): str(v) for k, v in previous.items()} if isinstance(previous, dict) else {}
    asked = [h for h in plan.hosts if h.name in recorded]
    observed: dict[str, str | None] = {}
    if asked:
        key = _sync_await(private_key.future())
        ssh = plan.ssh
        observed = read_tokens(asked, Reached(ssh.user, ssh.port, str(key))) if key else {}
    tokens, notes = choose_tokens([h.name for h in plan.hosts], recorded, observed, new_token)
    for note in notes:
        pulumi.log.warn(note)
    return tokens
