"""A folder shaped like scripts/build-artifacts.sh's output, for tests that must not need the build."""

from __future__ import annotations

from pathlib import Path

from config_schemas.versions import KUBERNETES_VERSION
from rendering.node_install import MIRROR_BINARIES, MIRROR_IMAGES


def make_fake_artifacts(cache: Path, version: str = KUBERNETES_VERSION) -> Path:
    """A folder shaped like scripts/build-artifacts.sh's output, every file empty."""
    out = cache / f"v{version}"
    for kind, names in (("bin", MIRROR_BINARIES), ("images", MIRROR_IMAGES)):
        (out / kind).mkdir(parents=True, exist_ok=True)
        for name in names:
            (out / kind / name).touch()
    return out
