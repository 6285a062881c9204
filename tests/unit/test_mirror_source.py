"""The gateway mirror's file list: what the build writes, a clear error naming the key when the
folder lacks any of it, and the unit tests' fake folder shaped like the real one."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest

from config_schemas.stack_files import load_stack_file
from config_schemas.versions import artifacts_dir
from harness.commons.fake_artifacts import make_fake_artifacts
from planning import make_plan
from program.mirror_source import POLICY_IMAGE, mirror_content, mirror_source
from rendering.node_install import MIRROR_BINARIES, MIRROR_IMAGES

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_writes_exactly_the_images_the_program_expects() -> None:
    script = (ROOT / "scripts" / "build-artifacts.sh").read_text()
    block = re.search(r"declare -A IMAGE_REFS=\((.*?)\n\)", script, re.S)
    assert block is not None, "IMAGE_REFS not found in scripts/build-artifacts.sh"
    built = {f"{name}.tar" for name in re.findall(r"^\s*\[([\w-]+)\]=", block.group(1), re.M)}
    assert built == set(MIRROR_IMAGES)


def test_unit_tests_evaluate_against_the_fake_folder_not_the_real_cache() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    assert mirror_source(plan) == artifacts_dir()
    assert not str(artifacts_dir()).startswith("/var/cache/kube-v6")
    content = mirror_content(plan)
    assert content.binaries == MIRROR_BINARIES
    assert set(content.images) == {*MIRROR_IMAGES, POLICY_IMAGE}  # every archive the build wrote


@pytest.mark.parametrize("removed", ["bin/kubelet", "images/etcd.tar"])
def test_a_half_built_folder_is_refused_naming_the_key_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, removed: str
) -> None:
    out = make_fake_artifacts(tmp_path)
    (out / removed).unlink()
    monkeypatch.setenv("KUBEV6_ARTIFACTS", str(tmp_path))
    with pytest.raises(pulumi.RunError, match=rf"^kubev6:kubernetes\.mirror\.source: {out} lacks {removed}: build"):
        mirror_content(make_plan(load_stack_file("lab-k8s").cluster))


def test_no_folder_at_all_is_one_short_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEV6_ARTIFACTS", str(tmp_path / "none"))
    with pytest.raises(pulumi.RunError, match=r"lacks everything \(no such folder\): build the artifacts first"):
        mirror_content(make_plan(load_stack_file("lab-k8s").cluster))
