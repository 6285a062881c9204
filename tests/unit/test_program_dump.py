"""The proof tool (`harness.commons.program_dump`) is deterministic and sees a deliberate change."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from harness.commons import program_dump

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(".git", ".venv", ".tools", ".state", "__pycache__", "e2e", "e2e-images", "docs")


def _copy(tmp: Path) -> Path:
    tree = tmp / "tree"
    shutil.copytree(ROOT, tree, ignore=IGNORED)
    return tree


@pytest.fixture(scope="module")
def baseline() -> str:
    return program_dump.dump_text(ROOT, hash_seed="1")


def test_dump_covers_every_stack_and_is_deterministic(baseline: str) -> None:
    # Two processes with different string hashing: nothing may depend on set or dict order.
    first, second = baseline, program_dump.dump_text(ROOT, hash_seed="2")
    assert first == second
    doc = json.loads(first)
    assert sorted(doc) == program_dump.stacks(ROOT) and len(doc) >= 8
    lab = doc["lab"]
    assert lab["up"]["resources"] and lab["preview"]["resources"] and lab["steps"]
    assert any("host_steps/" in k for k in lab["steps"])
    assert "<root>" not in first or str(ROOT) not in first  # paths of the tree are normalised
    assert "error" in doc["dev"]["up"]  # refused on a machine whose network is fd00::/64: its error is dumped


def test_compare_reports_a_deliberate_change(baseline: str, tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    # One rendered step changed (a command added to every host's network step) and one stack output added.
    with open(tree / "rendering" / "steps.py", "a") as f:
        f.write(
            "\n\n_unmutated_network_step = network_step\n\n\n"
            "def network_step(plan, host):  # noqa\n"
            "    import dataclasses\n\n"
            "    step = _unmutated_network_step(plan, host)\n"
            "    return dataclasses.replace(step, activate=(*step.activate, 'echo kv6-mutated'))\n"
        )
    with open(tree / "__main__.py", "a") as f:
        f.write("\nimport pulumi as _p\n\n_p.export('kv6MutatedOutput', 'x')\n")
    same, out = io.StringIO(), io.StringIO()
    before = baseline
    assert program_dump.report(before, before, "a", "a", same) == 0
    assert "are the same" in same.getvalue()
    assert program_dump.report(before, program_dump.dump_text(tree), "original", "mutated", out) == 1
    diff = out.getvalue()
    assert "~ /lab/steps/host_steps/" in diff and "    +echo kv6-mutated" in diff
    assert "+ /lab/up/outputs/kv6MutatedOutput/value" in diff
    assert "kv6MutatedOutput" in diff
    assert "differ" in diff.splitlines()[-1]
