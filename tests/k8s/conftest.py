"""Fixtures of the `k8s` tests: the artifacts of scripts/build-artifacts.sh, or a skip that says so."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config_schemas.versions import KUBERNETES_VERSION, artifacts_dir
from harness.commons.engine import EngineEnv, engine_env
from harness.enginelab.engine_lab import EngineLab
from tests.helpers.engine import engine_lab, report_timings

BUILD_HINT = "run `bash scripts/build-artifacts.sh` (or set KUBEV6_ARTIFACTS to where it wrote them)"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    out = artifacts_dir()
    if not (out / "bin" / "kubeadm").is_file() or not (out / ".stamps" / "all").is_file():
        pytest.skip(f"Kubernetes {KUBERNETES_VERSION} artifacts are not built in {out}: {BUILD_HINT}")
    return out


@pytest.fixture(scope="session")
def kubeadm(artifacts: Path) -> Path:
    return artifacts / "bin" / "kubeadm"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> EngineEnv:
    """A backend and passphrase of the module's own (a generated passphrase: the operator's must not leak in)."""
    return engine_env(tmp_path_factory.mktemp("k8s-engine-state"), passphrase=os.urandom(12).hex())


@pytest.fixture(scope="module")
def cluster(artifacts: Path, env: EngineEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    """The module's own `lab-k8s` hosts (not yet deployed), torn down after the module."""
    yield from engine_lab("lab-k8s", env, tmp_path_factory.mktemp("lab-k8s"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report_timings(terminalreporter)
