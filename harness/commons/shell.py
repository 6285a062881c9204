"""Running commands in the root namespace or inside a lab namespace, with readable failures.

Every command inside a lab host goes through `host_argv`: `ip netns exec NS` (which gives the
command its own mount namespace and bind-mounts `/etc/netns/NS/*` over `/etc`), then the
host's private directories (e.g. a node's `/var/lib/cni`) bind-mounted from the lab state
dir. A daemon started this way keeps that view for its lifetime, so a later sshd started
through the same wrapper would see exactly what the lab's own commands see.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CommandResult:
    namespace: str | None
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        where = f"in namespace {self.namespace}" if self.namespace else "in the root namespace"
        lines = [f"$ {shlex.join(self.argv)}  ({where}, exit {self.returncode}, {self.seconds:.2f}s)"]
        if self.stdout.strip():
            lines.append("stdout:\n" + _indent(self.stdout))
        if self.stderr.strip():
            lines.append("stderr:\n" + _indent(self.stderr))
        return "\n".join(lines)


class CommandFailed(RuntimeError):
    def __init__(self, result: CommandResult, what: str = "") -> None:
        self.result = result
        super().__init__(f"{what + ': ' if what else ''}{result.describe()}")


def _indent(text: str, limit: int = 4000) -> str:
    if len(text) > limit:
        text = text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]
    return "\n".join("  " + line for line in text.rstrip("\n").splitlines())


@dataclass(frozen=True)
class PrivateDir:
    """`source` (in the lab state dir) is bind-mounted over `target` for a host's commands."""

    source: str
    target: str


@dataclass(frozen=True)
class HostExec:
    """How to run a command on one lab host (a network namespace)."""

    namespace: str
    private_dirs: tuple[PrivateDir, ...] = field(default=())
    # Shell run after the private dirs are bound (e.g. a Kubernetes machine's cgroup mounts).
    setup: tuple[str, ...] = field(default=())
    # A UTS namespace of its own (the machine's host name; `setup` sets it).
    own_uts: bool = False

    def argv(self, command: Sequence[str]) -> list[str]:
        enter = ["ip", "netns", "exec", self.namespace, *(["unshare", "--uts"] if self.own_uts else [])]
        if not self.private_dirs and not self.setup:
            return [*enter, *command]
        mounts = [f"mount --bind {shlex.quote(d.source)} {shlex.quote(d.target)}" for d in self.private_dirs]
        script = " && ".join([*mounts, *self.setup, 'exec "$@"'])
        return [*enter, "sh", "-c", script, "kv6lab", *command]

    def run(
        self,
        command: Sequence[str],
        *,
        check: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        what: str = "",
    ) -> CommandResult:
        return run(
            self.argv(command),
            namespace=self.namespace,
            display=command,
            check=check,
            input=input,
            env=env,
            timeout=timeout,
            what=what,
        )

    def sh(self, script: str, **kwargs: object) -> CommandResult:
        return self.run(["sh", "-c", script], **kwargs)  # type: ignore[arg-type]

    def popen(self, command: Sequence[str], log_path: str, env: Mapping[str, str] | None = None) -> int:
        """Start a long-running process in its own session; returns its pid (same pid as the command:
        `ip netns exec` and the wrapper both exec)."""
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                self.argv(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        return proc.pid


def run(
    argv: Sequence[str],
    *,
    namespace: str | None = None,
    display: Sequence[str] | None = None,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    what: str = "",
) -> CommandResult:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})} if env else None,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = 124
        out = _text(exc.stdout)
        err = _text(exc.stderr) + f"\n(timed out after {timeout}s)"
    except FileNotFoundError as exc:
        code, out, err = 127, "", str(exc)
    result = CommandResult(namespace, tuple(display or argv), code, out, err, time.monotonic() - start)
    if check and not result.ok:
        raise CommandFailed(result, what)
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
