"""The proof that a refactoring changed nothing: the program under mocks, dumped deterministically.

    python -m harness.commons.program_dump dump [-o FILE] [--root DIR]   # this tree (or DIR)
    python -m harness.commons.program_dump compare main                  # main vs this tree

`dump` evaluates `__main__.py` for every shipped stack file (`Pulumi.*.yaml`) under Pulumi mocks, in
`up` and in `preview` mode, and writes one JSON document: every declared resource (type, name,
parent, inputs with secrets marked, the options that change what the engine does:
deleteBeforeReplace, dependsOn, ...), the stack outputs with their secretness, and every rendered
step of `rendering/steps.py` (per host: files, create and delete scripts). A stack the program
refuses is dumped as its error. Paths of the evaluated tree and of the fake artifacts folder are
written as `<root>` and `<artifacts>`, so two trees compare equal when they declare the same.

`compare REV [REV2]` dumps the tree at git revision REV (`git archive` into a temporary folder) and
the working tree (or REV2), prints a unified diff of the two dumps and exits 1 on any difference.

Each tree is evaluated in a process of its own, with that tree first on `sys.path`: the product's
modules come from the tree under test, this tool's from where it lives (loaded by path, so a tree
that has its own copy of the tool does not shadow this one).
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]  # the repository this tool belongs to
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in resource inputs
# ResourceOptions that change what the engine does with a resource (None / empty ones are left out).
OPTIONS = (
    "delete_before_replace",
    "replace_on_changes",
    "ignore_changes",
    "protect",
    "retain_on_delete",
    "deleted_with",
    "replace_with",
    "replacement_trigger",
    "custom_timeouts",
    "additional_secret_outputs",
    "aliases",
    "provider",
    "providers",
    "version",
    "plugin_download_url",
    "import_",
    "id",
    "hooks",
)


def _sibling(name: str) -> ModuleType:
    """A module next to this file, loaded by path under a private name (never the evaluated tree's copy)."""
    key = f"_kubev6_dump_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _plain(value: Any) -> Any:
    """JSON of a value the program passed: secrets marked, resources by name, objects by their fields."""
    import pulumi

    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270" and "value" in value:
            return {"<secret>": _plain(value["value"])}
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return {"<resource>": value._name}
    if isinstance(value, pulumi.Output):
        return "<output>"
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"<asset>": type(value).__name__, **{k: _plain(v) for k, v in sorted(vars(value).items())}}
    if hasattr(value, "__dict__"):
        fields = {k: _plain(v) for k, v in sorted(vars(value).items()) if not k.startswith("_") and v is not None}
        return {"<object>": type(value).__name__, **fields}
    return repr(value)


def _lines(value: Any) -> Any:
    """Multi-line strings (scripts, files) as lists of lines: a diff then shows the line that changed."""
    if isinstance(value, dict):
        return {k: _lines(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lines(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return {"<lines>": value.split("\n")}
    return value


def _options(opts: Any) -> dict[str, Any]:
    out = {}
    for name in OPTIONS:
        value = getattr(opts, name, None)
        if value is not None and value != [] and value != {}:
            out[name] = _plain(value)
    return out


def _dump_program(mocks: ModuleType, root: Path, stack: str, preview: bool) -> dict[str, Any]:
    try:
        recorder, outputs = mocks.run_program(stack, preview=preview, root=root)
    except BaseException as exc:  # a refused stack: its error is what it does
        return {"error": f"{type(exc).__name__}: {exc}"}
    resources = {}
    for r in recorder.resources:
        key = f"{r.type_}::{r.name}"
        assert key not in resources, f"{stack}: {key} declared twice"
        resources[key] = {
            "type": r.type_,
            "name": r.name,
            "parent": recorder.parents.get(r.name),
            "dependsOn": sorted(recorder.depends_on.get(r.name, [])),
            "options": _options(recorder.options.get(r.name)),
            "inputs": _plain(r.inputs),
        }
    # Everything the program constructed is registered with the mocks (components too) but the stack.
    for name in sorted(set(recorder.parents) - {r.name for r in recorder.resources}):
        resources[f"<not registered>::{name}"] = {"parent": recorder.parents[name]}
    exported = {k: {"value": _plain(v.value), "secret": bool(v.secret)} for k, v in sorted(outputs.items())}
    return {"resources": dict(sorted(resources.items())), "outputs": exported}


def _step(step: Any) -> dict[str, Any]:
    return {
        "files": [{"path": f.path, "mode": f.mode, "content": f.content} for f in step.files],
        "create": step.create,
        "delete": step.delete,
        **{k: list(getattr(step, k)) for k in ("state_dirs",) if hasattr(step, k)},
    }


def _dump_steps(stack: str) -> dict[str, Any]:
    """`host_steps` of every host (what the namespace lab runs), and each other `*_step` builder of
    `rendering.steps` whose required parameters are the plan, a host (`host` or `node`: called for
    every host) or sub-plans named as the plan's fields (`nat64`, ...); the rest appear as the
    Commands' inputs. Keys do not depend on which of these a builder takes, so a builder narrowed
    from the plan to a sub-plan dumps under the same key."""
    from config_schemas.stack_files import load_stack_file
    from planning.plan import make_plan
    from rendering import steps

    try:
        plan = make_plan(load_stack_file(stack).cluster)
    except BaseException as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    out: dict[str, Any] = {}
    for host in plan.hosts:
        for name, step in steps.host_steps(plan, host):
            out[f"host_steps/{host.name}/{name}"] = _step(step)
    builders = sorted((n, f) for n, f in vars(steps).items() if n.endswith("_step") and inspect.isfunction(f))
    for name, fn in builders:
        params = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
        names = [p.name for p in params]
        per_host = [n for n in names if n in ("host", "node")]
        given = [n for n in names if n not in per_host]
        if len(per_host) > 1 or not all(n == "plan" or hasattr(plan, n) for n in given):
            continue

        def args(host: Any, names: list[str] = names) -> tuple[Any, ...]:
            return tuple(host if n in ("host", "node") else plan if n == "plan" else getattr(plan, n) for n in names)

        calls = {f"{name}/{h.name}": args(h) for h in plan.hosts} if per_host else {name: args(None)}
        for key, args in calls.items():
            try:
                out[key] = _step(fn(*args))
            except Exception as exc:  # a builder that does not apply to this host or stack
                out[key] = {"error": f"{type(exc).__name__}: {exc}"}
    return dict(sorted(out.items()))


def dump_tree(root: Path) -> dict[str, Any]:
    """The dump of the tree at `root`, evaluated in this process (`root` must come first on sys.path)."""
    root = root.resolve()
    mocks = _sibling("program_mocks")
    artifacts = _sibling("fake_artifacts")
    with tempfile.TemporaryDirectory(prefix="kv6-dump-artifacts-") as cache:
        os.environ["KUBEV6_ARTIFACTS"] = cache
        artifacts.make_fake_artifacts(Path(cache))
        doc: dict[str, Any] = {}
        for stack in stacks(root):
            doc[stack] = {
                "up": _dump_program(mocks, root, stack, preview=False),
                "preview": _dump_program(mocks, root, stack, preview=True),
                "steps": _dump_steps(stack),
            }
        text = json.dumps(_lines(doc), indent=1, sort_keys=True)
        text = text.replace(str(Path(cache).resolve()), "<artifacts>").replace(cache, "<artifacts>")
    return json.loads(text.replace(str(root), "<root>"))


def dump_text(root: Path, hash_seed: str = "0") -> str:
    """The dump of `root` as text, from a fresh process (so two trees never share imported modules)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": hash_seed}
    env.pop("PYTHONPATH", None)
    res = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_worker", str(root.resolve())],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"dumping {root} failed (exit {res.returncode}):\n{res.stderr[-4000:]}")
    return res.stdout


def export_revision(rev: str, into: Path, repo: Path = REPO) -> Path:
    """The tree of git revision `rev` of `repo` as files in `into` (`git archive`)."""
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def compare(old: str, new: str | None, repo: Path = REPO, out: Any = sys.stdout) -> int:
    """Dump revision `old` and `new` (None: the working tree at `repo`); print the diff; 1 if any."""
    with tempfile.TemporaryDirectory(prefix="kv6-dump-") as tmp:
        trees = {}
        for side, rev in (("old", old), ("new", new)):
            if rev is None:
                trees[side] = repo
            else:
                (Path(tmp) / side).mkdir()
                trees[side] = export_revision(rev, Path(tmp) / side, repo)
        before, after = dump_text(trees["old"]), dump_text(trees["new"])
    return report(before, after, old, new or "the working tree", out)


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    """Leaves by path; a script or file (`<lines>`) stays one leaf, diffed line by line."""
    if isinstance(value, dict) and "<lines>" not in value and value:
        for k, v in value.items():
            _flatten(v, f"{path}/{k}", out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two dumps, by path (`stack/mode/resources/type::name/inputs/...`)."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    _flatten(before, "", old)
    _flatten(after, "", new)
    lines = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path, "<absent>"), new.get(path, "<absent>")
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and "<lines>" in a and "<lines>" in b:
            lines.append(f"~ {path}:")
            diff = difflib.unified_diff(a["<lines>"], b["<lines>"], lineterm="", n=2)
            lines += [f"    {line}" for line in list(diff)[2:]]
        else:
            lines += [f"- {path}: {json.dumps(a)[:2000]}", f"+ {path}: {json.dumps(b)[:2000]}"]
    return lines


def report(before: str, after: str, old: str, new: str, out: Any = sys.stdout) -> int:
    """Print what differs between two dumps and a summary line; 1 if they differ."""
    docs = [json.loads(before), json.loads(after)]
    diff = differences(docs[0], docs[1])
    for line in diff:
        print(line, file=out)
    counted = []
    for doc in docs:
        resources = sum(len(s["up"].get("resources", {})) for s in doc.values())
        steps = sum(len(s["steps"]) for s in doc.values())
        counted.append(f"{len(doc)} stacks, {resources} resources, {steps} steps")
    verdict = f"differ ({sum(1 for line in diff if line[0] in '~-')} paths)" if diff else "are the same"
    print(f"program_dump: {old} ({counted[0]}) and {new} ({counted[1]}) {verdict}", file=out)
    return 1 if diff else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.commons.program_dump", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="dump a tree (default: this repository's working tree)")
    d.add_argument("--root", type=Path, default=REPO)
    d.add_argument("-o", "--output", type=Path)
    c = sub.add_parser("compare", help="dump at a git revision vs the working tree (or a second revision)")
    c.add_argument("old")
    c.add_argument("new", nargs="?")
    c.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args(argv)
    if args.command == "dump":
        text = dump_text(args.root)
        if args.output:
            args.output.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    return compare(args.old, args.new, args.repo)


def _worker(root: Path) -> None:
    sys.path[:] = [str(root), *(p for p in sys.path[1:] if Path(p).resolve() != HERE)]
    doc = dump_tree(root)
    sys.stdout.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_worker"]:
        _worker(Path(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
