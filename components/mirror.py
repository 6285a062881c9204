"""The gateway's artifact mirror (kubernetes.artifacts: mirror): the files copied from the machine
running `pulumi up`, then served over IPv6 by the gateway."""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi_command import remote

from components.remote_steps import SshAccess, run
from config_schemas.versions import artifacts_dir
from planning.plan import ClusterPlan
from rendering import mirror, steps
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


def declare_mirror(
    name: str,
    plan: ClusterPlan,
    access: SshAccess,
    content: MirrorContent,
    *,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> list[pulumi.Resource]:
    """One copy per file (CopyToRemote takes a file or a whole folder), then the server."""
    source = mirror_source(plan)
    files = [("bin", b) for b in content.binaries] + [("images", i) for i in content.images]
    copies: list[pulumi.Resource] = [
        remote.CopyToRemote(
            f"{name}-{kind}-{file_name.removesuffix('.tar')}",
            connection=access.connection(plan.gateway),
            source=pulumi.FileAsset(str(source / kind / file_name)),
            remote_path=f"{mirror.MIRROR_DIR}/{kind}/{file_name}",
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
        )
        for kind, file_name in files
    ]
    step = steps.mirror_step(plan)
    serve = run(
        f"{name}-serve", access, plan.gateway, step.create, delete=step.delete, parent=parent, depends_on=copies
    )
    return [*copies, serve]
