"""A folder shaped like scripts/build-artifacts.sh's output, for tests that must not need the build."""

from __future__ import annotations

from pathlib import Path

from config_schemas.versions import CONTAINERD_VERSION, KUBERNETES_VERSION, RUNC_VERSION
from program.mirror_source import POLICY_IMAGE
from rendering.bgp import BINARY as BGP_BINARY
from rendering.node_install import MIRROR_BINARIES, MIRROR_IMAGES, REGISTRY_BINARY


def make_fake_artifacts(cache: Path, version: str = KUBERNETES_VERSION) -> Path:
    """A folder shaped like scripts/build-artifacts.sh's output, every file empty."""
    out = cache / f"v{version}"
    files = (
        ("bin", (*MIRROR_BINARIES, REGISTRY_BINARY, BGP_BINARY)),  # with the network add-ons' files
        ("images", (*MIRROR_IMAGES, POLICY_IMAGE)),
        ("registry", ("registry.tar",)),
    )
    for kind, names in files:
        (out / kind).mkdir(parents=True, exist_ok=True)
        for name in names:
            (out / kind / name).touch()
    (out / "RUNTIME").write_text(f"containerd {CONTAINERD_VERSION}\nrunc {RUNC_VERSION}\n")
    return out
