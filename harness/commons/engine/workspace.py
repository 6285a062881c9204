"""One stack of this project under the real engine, in a work folder of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from harness.commons.engine.toolchain import ROOT, EngineEnv

# Not part of the program: never linked into a work copy.
_SKIP = {".git", ".state", ".tools", ".work", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__"}
# Kept from an earlier copy of a stack file: they belong to the stack in the backend.
_KEEP_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")
# The project's CrossGuard policy pack (policy/PulumiPolicy.yaml).
POLICY_PACK = ROOT / "policy"


class EngineError(RuntimeError):
    """A failed engine operation; `output` is what the CLI printed (secrets stay masked)."""

    def __init__(self, what: str, output: str) -> None:
        self.output = output
        super().__init__(f"pulumi {what} failed:\n{output.strip()}")


@dataclass
class OpResult:
    op: str
    seconds: float
    changes: dict[str, int]  # engine op (create, update, delete, same, ...) -> count
    output: str
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (op, resource name) of every non-`same` step
    # (seconds since the operation started, "start" | "done" | "failed", op, URN) for every resource step
    timeline: list[tuple[float, str, str, str]] = field(default_factory=list)

    @property
    def changed(self) -> int:
        # A read (the StackReference of the stack's own outputs) changes nothing.
        return sum(n for op, n in self.changes.items() if op not in ("same", "read"))


def link_project(project_dir: Path, stack: str) -> None:
    """`project_dir` becomes the project: symlinks to the code, a copy of the stack file."""
    project_dir.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name in _SKIP or (entry.name.startswith("Pulumi.") and entry.name != "Pulumi.yaml"):
            continue
        link = project_dir / entry.name
        if not link.is_symlink():
            link.symlink_to(entry)
    source = ROOT / f"Pulumi.{stack}.yaml"
    if not source.is_file():
        raise FileNotFoundError(f"no stack file Pulumi.{stack}.yaml in {ROOT}")
    target = project_dir / source.name
    fresh = yaml.safe_load(source.read_text()) or {}
    if target.is_file():
        old = yaml.safe_load(target.read_text()) or {}
        fresh.update({k: old[k] for k in _KEEP_KEYS if k in old})
    target.write_text(yaml.safe_dump(fresh, sort_keys=False))


class StackRun:
    """`stack` of this project in `work_dir`: preview, up, destroy through the Automation API."""

    def __init__(self, stack: str, env: EngineEnv, work_dir: Path, log: Callable[[str], None] | None = None) -> None:
        self.name = stack
        self.env = env
        self.work_dir = work_dir
        self.project_dir = work_dir / "project"
        self.log_path = work_dir / f"{stack}.log"
        self._log = log
        link_project(self.project_dir, stack)
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.project_dir),
            env_vars=env.variables(),
            secrets_provider="passphrase",
            pulumi_command=env.command(),
        )
        self.stack = auto.create_or_select_stack(stack, work_dir=str(self.project_dir), opts=opts)
        self.timeline: list[tuple[float, str, str, str]] = []  # of the last operation (see OpResult)

    # --- config -------------------------------------------------------------------------------

    def set_config(self, key: str, value: str, *, secret: bool = False, path: bool = False) -> None:
        self.stack.set_config(f"kubev6:{key}", auto.ConfigValue(value, secret=secret), path=path)

    def remove_config(self, key: str, *, path: bool = False) -> None:
        self.stack.remove_config(f"kubev6:{key}", path=path)

    # --- operations ---------------------------------------------------------------------------

    def _echo(self, line: str) -> None:
        with open(self.log_path, "a") as f:
            f.write(line + "\n")
        if self._log:
            self._log(line)

    def _run(self, op: str, fn: Callable[..., Any], **kwargs: Any) -> tuple[Any, float, str, list[tuple[str, str]]]:
        lines: list[str] = []
        steps: list[tuple[str, str]] = []
        self.timeline = timeline = []
        start = time.monotonic()

        def on_output(line: str) -> None:
            lines.append(line)
            self._echo(line)

        def on_event(event: auto.EngineEvent) -> None:
            pre = event.resource_pre_event
            if pre is not None and str(pre.metadata.op.value) != "same":
                steps.append((str(pre.metadata.op.value), pre.metadata.urn.rsplit("::", 1)[-1]))
            for kind, ev in (("start", pre), ("done", event.res_outputs_event), ("failed", event.res_op_failed_event)):
                if ev is not None:
                    timeline.append((time.monotonic() - start, kind, str(ev.metadata.op.value), ev.metadata.urn))

        self._echo(f"### pulumi {op} --stack {self.name}")
        try:
            # show_secrets=False: the Automation API would print secret values in diffs otherwise.
            result = fn(on_output=on_output, on_event=on_event, color="never", **kwargs)
        except auto.CommandError as exc:
            # str(exc) holds the CLI's stdout and stderr (stdout also came through on_output).
            self._echo(str(exc))
            raise EngineError(f"{op} --stack {self.name}", str(exc)) from None
        return result, time.monotonic() - start, "\n".join(lines), steps

    def preview(self, *, expect_no_changes: bool = False, policy_packs: list[Path] | None = None) -> OpResult:
        """`pulumi preview`; with `policy_packs` (folders such as POLICY_PACK), their rules too."""
        packs = [str(p) for p in policy_packs or []] or None
        res, seconds, text, steps = self._run(
            "preview", self.stack.preview, expect_no_changes=expect_no_changes, policy_packs=packs
        )
        return OpResult("preview", seconds, _counts(res.change_summary), text, steps=steps, timeline=self.timeline)

    def up(self, *, replace: list[str] | None = None) -> OpResult:
        """`pulumi up`; `replace`: URNs to replace (`--replace`)."""
        extra: dict[str, Any] = {"replace": replace} if replace else {}
        res, seconds, text, steps = self._run("up", self.stack.up, show_secrets=False, **extra)
        outputs = {k: v.value for k, v in res.outputs.items()}
        return OpResult("up", seconds, _counts(res.summary.resource_changes), text, outputs, steps, self.timeline)

    def destroy(self) -> OpResult:
        res, seconds, text, steps = self._run("destroy", self.stack.destroy, show_secrets=False)
        return OpResult(
            "destroy", seconds, _counts(res.summary.resource_changes), text, steps=steps, timeline=self.timeline
        )

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The CLI itself in the work copy (the Automation API adds --show-secrets to some commands)."""
        argv = [str(self.env.cli_dir / "pulumi"), *args, "--stack", self.name, "--non-interactive"]
        return subprocess.run(
            argv,
            cwd=self.project_dir,
            env={**os.environ, **self.env.variables()},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def export(self) -> str:
        """The stack's state as `pulumi stack export` gives it (secrets encrypted)."""
        return self.cli("stack", "export").stdout

    def state_files(self) -> list[Path]:
        return [p for p in self.env.backend_dir.rglob("*") if p.is_file()]

    def remove(self) -> None:
        """Forget the stack (after destroy) and the work copy."""
        self.stack.workspace.remove_stack(self.name)
        shutil.rmtree(self.project_dir, ignore_errors=True)


def _counts(summary: dict[str, int] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in (summary or {}).items()}
