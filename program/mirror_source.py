"""What the gateway's mirror will serve (kubernetes.artifacts: mirror), read from the artifacts
built on the machine running `pulumi up`."""

from __future__ import annotations

from pathlib import Path

import pulumi

from config_schemas.versions import artifacts_dir
from planning.plan import ClusterPlan
from rendering.node_install import MIRROR_BINARIES, MirrorContent


def mirror_source(plan: ClusterPlan) -> Path:
    source = plan.config.kubernetes.mirror.source
    return Path(source) if source else artifacts_dir(plan.config.kubernetes.version)


def mirror_content(plan: ClusterPlan) -> MirrorContent:
    """What the mirror will serve, read from the local artifacts folder; a clear error if it is not built."""
    source = mirror_source(plan)
    missing = [b for b in MIRROR_BINARIES if not (source / "bin" / b).is_file()]
    images = tuple(sorted(p.name for p in (source / "images").glob("*.tar")))
    if missing or not images:
        what = ", ".join(missing) or "image archives"
        raise pulumi.RunError(
            f"kubev6:kubernetes.mirror.source: {source} lacks {what}: build the artifacts first "
            "(bash scripts/build-artifacts.sh), or point the key at a folder with bin/ and images/"
        )
    return MirrorContent(MIRROR_BINARIES, images)
