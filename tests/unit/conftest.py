"""Fixtures of the unit tests: nothing here may need what only a lab or a build provides.

The program reads the gateway mirror's file list from the built artifacts folder
(`program/mirror_source.py`); unit tests evaluate it against a fake folder holding the names the
build writes (empty files), so they pass before `scripts/build-artifacts.sh` has run. The `k8s`
tests check the real folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.commons.fake_artifacts import make_fake_artifacts


@pytest.fixture(scope="session")
def fake_artifacts_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("artifacts-cache")
    make_fake_artifacts(cache)
    return cache


@pytest.fixture(autouse=True)
def _fake_artifacts(fake_artifacts_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Per test, not per session: the variable must not outlive the unit tests (the `k8s` tests of
    # the same session read the real cache).
    monkeypatch.setenv("KUBEV6_ARTIFACTS", str(fake_artifacts_cache))
