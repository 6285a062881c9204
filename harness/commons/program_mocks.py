"""Runs the Pulumi program under mocks for one stack file and records what it declared.

Used by the unit tests and by `harness.commons.program_dump` (the proof that a refactoring changed
nothing), which loads this file by path inside the tree it evaluates: it imports nothing of the
repository, and `root` names the tree whose `__main__.py` and stack files are evaluated."""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[2]  # the repository holding this file


@dataclass
class Declared:
    type_: str
    name: str
    inputs: dict[str, Any]
    resource_id: str


@dataclass
class Recorder(pulumi.runtime.Mocks):
    resources: list[Declared] = field(default_factory=list)
    # name -> names of explicit depends_on, and name -> parent name (from ResourceOptions)
    depends_on: dict[str, list[str]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    options: dict[str, pulumi.ResourceOptions] = field(default_factory=dict)  # name -> its ResourceOptions
    # What a StackReference of the stack itself reads: the previous deployment's outputs.
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    # What each host answers when the program asks for its machine token (program/machine_ids.py):
    # a token, '' (none) or None (could not be asked, also for a host not listed). Nothing is dialled.
    machine_tokens: dict[str, str | None] = field(default_factory=dict)
    tokens_made: int = 0  # new machine tokens are numbered, so a dump is the same on every run
    token_seed: str = "mock-token"  # and told apart from another run's by this

    def read_tokens(self, hosts: Sequence[Any], reached: object) -> dict[str, str | None]:
        return {h.name: self.machine_tokens.get(h.name) for h in hosts}

    def new_token(self) -> str:
        self.tokens_made += 1
        return f"{self.token_seed}-{self.tokens_made:04d}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            outputs.update(outputs=self.stack_outputs, secretOutputNames=[])
        if args.typ == "command:remote:Command" or args.typ == "command:local:Command":
            outputs.setdefault("stdout", f"stdout-of-{args.name}")
            outputs.setdefault("stderr", "")
        rid = f"{args.name}-id"
        self.resources.append(Declared(args.typ, args.name, dict(args.inputs), rid))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type_ == type_]

    def named(self, name: str) -> Declared:
        return next(r for r in self.resources if r.name == name)

    def ancestors(self, name: str) -> list[str]:
        chain, current = [], self.parents.get(name)
        while current is not None:
            assert current not in chain and current != name, f"resource name {current!r} is not unique"
            chain.append(current)
            current = self.parents.get(current)
        return chain

    def descendants(self, name: str) -> set[str]:
        children = {child for child, parent in self.parents.items() if parent == name}
        return children.union(*(self.descendants(c) for c in children))

    def all_depends_on(self, name: str) -> set[str]:
        """Explicit dependencies of a resource and of its component ancestors (a child waits for its
        parent's), each with its descendants: depending on a component waits for all its children."""
        deps: set[str] = set()
        for n in [name, *self.ancestors(name)]:
            deps.update(self.depends_on.get(n, []))
        return deps.union(*(self.descendants(d) for d in deps))


def stack_config(stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT) -> dict[str, str]:
    doc = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())
    config = dict(doc.get("config") or {})
    config.update(overrides or {})
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


@dataclass
class Exported:
    value: Any
    secret: bool


def run_program(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    recorder: Recorder | None = None,
    root: Path = ROOT,
) -> tuple[Recorder, dict[str, Exported]]:
    """Evaluate __main__.py for `stack` under mocks and wait for every registration.

    Returns what was declared and the stack outputs (resolved, with their secretness).
    """
    recorder = recorder if recorder is not None else Recorder()
    pulumi.runtime.set_mocks(recorder, project="kube-v6", stack=stack, preview=preview)
    pulumi.runtime.set_all_config(stack_config(stack, overrides, root), secret_keys or [])
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    exports: dict[str, Any] = {}
    real_export = pulumi.export

    real_init = pulumi.Resource.__init__

    def recording_init(self: pulumi.Resource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        opts = kwargs.get("opts") or (args[2] if len(args) > 2 else None)
        deps = list(opts.depends_on or []) if opts is not None and isinstance(opts.depends_on, list) else []
        recorder.depends_on[name] = [d._name for d in deps]
        parent = opts.parent if opts is not None else None
        recorder.parents[name] = parent._name if parent is not None else None
        if opts is not None:
            recorder.options[name] = opts
        real_init(self, t, name, *args, **kwargs)

    import program.machine_ids as machine_ids  # the root is on sys.path now

    real_read, real_new = machine_ids.read_tokens, machine_ids.new_token

    def program() -> None:
        pulumi.export = lambda name, value: exports.__setitem__(name, value)  # type: ignore[assignment]
        pulumi.Resource.__init__ = recording_init  # type: ignore[method-assign]
        machine_ids.read_tokens, machine_ids.new_token = recorder.read_tokens, recorder.new_token  # type: ignore[assignment]
        try:
            runpy.run_path(str(root / "__main__.py"), run_name="__pulumi_program__")
        finally:
            pulumi.export = real_export
            pulumi.Resource.__init__ = real_init  # type: ignore[method-assign]
            machine_ids.read_tokens, machine_ids.new_token = real_read, real_new  # type: ignore[assignment]

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(program))
    resolved = {}
    for name, value in exports.items():
        out = pulumi.Output.from_input(value)
        resolved[name] = Exported(_sync_await(out.future(with_unknowns=True)), _sync_await(out.is_secret()))
    return recorder, resolved
