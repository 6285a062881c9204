"""The project's Kubernetes versions, read from `artifacts/versions.env`: the one place that
both `scripts/build-artifacts.sh` (which sources it) and the Python code take them from."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = ROOT / "artifacts" / "versions.env"
# Where scripts/build-artifacts.sh puts its output (outside the repository's tracked files).
DEFAULT_ARTIFACTS_CACHE = "/var/cache/kube-v6/artifacts"


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments are skipped (bash `source` reads it too)."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier() or any(c in value for c in " \"'$`"):
            raise ValueError(f"{path}:{number}: expected a plain KEY=VALUE line, got {line!r}")
        values[key] = value
    return values


VERSIONS = read_versions()
KUBERNETES_VERSION = VERSIONS["KUBERNETES_VERSION"]
ETCD_VERSION = VERSIONS["ETCD_VERSION"]
COREDNS_VERSION = VERSIONS["COREDNS_VERSION"]
PAUSE_VERSION = VERSIONS["PAUSE_VERSION"]


def artifacts_dir(kubernetes_version: str = KUBERNETES_VERSION) -> Path:
    """The build output of scripts/build-artifacts.sh for a Kubernetes version (bin/, images/)."""
    cache = os.environ.get("KUBEV6_ARTIFACTS") or DEFAULT_ARTIFACTS_CACHE
    return Path(cache) / f"v{kubernetes_version}"
