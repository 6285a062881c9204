"""Fixtures of the `k8s` tests: the artifacts of scripts/build-artifacts.sh, or a skip that says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_schemas.versions import KUBERNETES_VERSION, artifacts_dir

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
