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
CONTAINERD_VERSION = VERSIONS["CONTAINERD_VERSION"]
KUBE_NETWORK_POLICIES_VERSION = VERSIONS["KUBE_NETWORK_POLICIES_VERSION"]
RUNC_VERSION = VERSIONS["RUNC_VERSION"]
DISTRIBUTION_VERSION = VERSIONS["DISTRIBUTION_VERSION"]

# containerd releases recommended per Kubernetes minor: each supported containerd minor with its
# oldest patch. From the "Kubernetes Support" table of containerd v2.3.7's RELEASES.md; a
# Kubernetes minor missing here has no containerd the project knows to support it.
CONTAINERD_FOR_KUBERNETES: dict[int, tuple[tuple[int, int, int], ...]] = {
    32: ((2, 1, 0), (2, 0, 1), (1, 7, 24), (1, 6, 36)),
    33: ((2, 1, 0), (2, 0, 4), (1, 7, 24), (1, 6, 36)),
    34: ((2, 1, 3), (2, 0, 6), (1, 7, 28), (1, 6, 39)),
    35: ((2, 2, 0), (2, 1, 5), (1, 7, 28)),
    36: ((2, 3, 0), (2, 2, 0)),
}


def containerd_support_error(kubernetes_version: str, containerd_version: str) -> str | None:
    """Why this containerd does not suit this Kubernetes (None: it does), from the table above."""
    k8s_minor = int(kubernetes_version.removeprefix("v").split(".")[1])
    supported = CONTAINERD_FOR_KUBERNETES.get(k8s_minor)
    listed = ", ".join(f"1.{m}" for m in sorted(CONTAINERD_FOR_KUBERNETES))
    if supported is None:
        return f"no containerd is known to support Kubernetes 1.{k8s_minor} (known: {listed})"
    major, minor, patch = (int(p) for p in containerd_version.split("."))
    ok = [f"{a}.{b}.{c}+" for a, b, c in supported]
    for a, b, c in supported:
        if (major, minor) == (a, b):
            if patch >= c:
                return None
            break
    return (
        f"containerd {containerd_version} is not supported with Kubernetes 1.{k8s_minor}  (supported: {', '.join(ok)})"
    )


def artifacts_dir(kubernetes_version: str = KUBERNETES_VERSION) -> Path:
    """The build output of scripts/build-artifacts.sh for a Kubernetes version (bin/, images/)."""
    cache = os.environ.get("KUBEV6_ARTIFACTS") or DEFAULT_ARTIFACTS_CACHE
    return Path(cache) / f"v{kubernetes_version}"
