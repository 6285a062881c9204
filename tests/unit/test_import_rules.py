"""The layout's import rules, read from the source (every import, also under TYPE_CHECKING or in a
function body):

- the product (`__main__.py`, components/, config_schemas/, planning/, rendering/, program/,
  policy/) imports neither the harness nor the tests;
- a lab of `harness/` imports no other lab but the ones it stands on (`LAB_BASES`: the engine lab
  is the network lab's hosts configured by Pulumi, the Kubernetes lab is the engine lab on a
  cluster stack); the commons import no lab; what two labs share is in the commons;
- nothing outside tests/ imports `tests.*`; a test module imports no other test module or
  conftest (what tests share is in `tests/helpers/`);
- no import cycle between modules, and none between packages (`KNOWN_PACKAGE_CYCLES`, emptied by
  phase B of issue 21, stays empty).
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("__main__", "components", "config_schemas", "planning", "rendering", "program", "policy")
LABS = ("netlab", "enginelab", "k8slab", "vmlab")
# The labs each lab is built on (imports of any other lab are refused).
LAB_BASES = {"netlab": set(), "enginelab": {"netlab"}, "k8slab": {"netlab", "enginelab"}, "vmlab": set()}
# Package-level cycles of the product: none. Issue 21 phase B removed the last two (the derivations
# went to config_schemas/derive.py; components take the mirror's local folder from the program).
KNOWN_PACKAGE_CYCLES: list[set[str]] = []
SKIP = {".venv", ".tools", ".state", ".git", "artifacts", "node_modules"}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every Python module of the repository, by dotted name (`pkg/__init__.py` is `pkg`)."""
    found = {}
    paths = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith(".") and d != "__pycache__")
        paths += [Path(folder) / f for f in files if f.endswith(".py")]
    for path in paths:
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The repository modules `name` imports (`from pkg import sub` is `pkg.sub` where that is a module)."""
    known = set(known)
    is_package = path.name == "__init__.py"
    out: set[str] = set()

    def add(target: str) -> None:
        if target in known:
            out.add(target)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in known:
                    add(f"{module}.{alias.name}")
                else:
                    add(module)
    out.discard(name)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imports(name, path, found) for name, path in found.items()}


@functools.cache
def _repo_graph() -> dict[str, set[str]]:
    return graph()


def _top(module: str) -> str:
    return module.split(".")[0]


def _lab(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "harness" and parts[1] in LABS else None


def _unit(module: str) -> str:
    """The package a module belongs to for the package-cycle rule (harness and tests: per sub-package)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("harness", "tests") and len(parts) > 1 else parts[0]


def violations(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            edge = f"{module} imports {target}"
            if _top(module) in PRODUCT and _top(target) in ("harness", "tests"):
                found.append(f"{edge}: the product imports no harness or test module")
            if _top(module) != "tests" and _top(target) == "tests":
                found.append(f"{edge}: only tests import tests.*")
            lab, other = _lab(module), _lab(target)
            if lab and other and other != lab and other not in LAB_BASES[lab]:
                found.append(f"{edge}: the {lab} lab imports no other lab (shared code goes to harness/commons)")
            if module.startswith("harness.commons") and other:
                found.append(f"{edge}: the commons import no lab")
            last = target.split(".")[-1]
            if _top(target) == "tests" and (last.startswith("test_") or last == "conftest"):
                found.append(f"{edge}: a test imports no other test module or conftest (use tests/helpers)")
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, targets in edges.items():
        out.setdefault(_unit(module), set()).update(_unit(t) for t in targets if _unit(t) != _unit(module))
    return out


def test_the_repository_keeps_the_import_rules() -> None:
    edges = _repo_graph()
    assert {"harness.netlab.session", "harness.commons.checks", "components.kube_node"} <= edges.keys()
    assert violations(edges) == []
    assert cycles(edges) == [], "import cycles between modules"
    assert sorted(map(sorted, cycles(package_edges(edges)))) == sorted(map(sorted, KNOWN_PACKAGE_CYCLES))


def _with(edges: dict[str, set[str]], module: str, target: str) -> dict[str, set[str]]:
    planted = {m: set(t) for m, t in edges.items()}
    planted.setdefault(module, set()).add(target)
    return planted


@pytest.mark.parametrize(
    ("module", "target", "says"),
    [
        ("rendering.steps", "harness.netlab.session", "the product imports no harness"),
        ("components.remote", "tests.helpers.engine", "the product imports no harness or test"),
        ("harness.vmlab.checks", "harness.netlab.checks", "the vmlab lab imports no other lab"),
        ("harness.netlab.session", "harness.enginelab.engine_lab", "the netlab lab imports no other lab"),
        ("harness.commons.checks", "harness.netlab.pods", "the commons import no lab"),
        ("harness.benchmarks.scale_figures", "tests.helpers.configs", "only tests import tests.*"),
        ("tests.k8s.test_day2", "tests.k8s.test_cluster", "a test imports no other test module"),
        ("tests.k8s.test_day2", "tests.engine.conftest", "a test imports no other test module or conftest"),
    ],
)
def test_a_planted_forbidden_import_is_named(module: str, target: str, says: str) -> None:
    edges = _repo_graph()
    found = violations(_with(edges, module, target))
    assert any(f"{module} imports {target}: " in v and says in v for v in found), found


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    # A real tree, not an edited graph: two harness modules importing each other in their source.
    (tmp_path / "harness" / "commons").mkdir(parents=True)
    for name in ("harness", "harness/commons"):
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "harness/commons/a.py").write_text("from harness.commons import b\n")
    (tmp_path / "harness/commons/b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.commons.a import x\n"
    )
    assert cycles(graph(tmp_path)) == [["harness.commons.a", "harness.commons.b"]]
    edges = _repo_graph()
    assert not any("rendering.files" in c for c in cycles(edges))
    planted = cycles(_with(edges, "rendering.files", "rendering.steps"))
    assert any({"rendering.files", "rendering.steps"} <= set(c) for c in planted), planted
