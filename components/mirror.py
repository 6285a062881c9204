"""The gateway's artifact mirror (kubernetes.artifacts: mirror): the files copied from the machine
running `pulumi up`, then served over IPv6 by the gateway. Declared by Nat64Gateway, as its children.

The local folder comes from the caller (program/mirror_source.py reads it): components import nothing
of program/, which imports them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pulumi
from pulumi_command import remote

from components.remote import SshAccess, run_step
from planning.plan import ClusterPlan
from rendering import layout, steps
from rendering.node_install import REGISTRY_BINARY, MirrorContent


def declare_mirror(
    name: str,
    plan: ClusterPlan,
    access: SshAccess,
    content: MirrorContent,
    source: Path,
    *,
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """One copy per file of `source` (CopyToRemote takes a file or a whole folder), then the server."""
    files = [("bin", b) for b in content.binaries] + [("images", i) for i in content.images]
    # An empty gateway (reinstalled) is copied to again: the copies are replaced with its identity.
    identity = access.identities.get(plan.gateway.name)
    machine = [identity.command] if identity is not None else []
    if content.registry:
        files += [("bin", REGISTRY_BINARY), ("registry", content.registry)]
    copies: list[pulumi.Resource] = [
        remote.CopyToRemote(
            f"{name}-{kind}-{file_name.removesuffix('.tar')}",
            connection=access.connection(plan.gateway),
            source=pulumi.FileAsset(str(source / kind / file_name)),
            remote_path=f"{layout.MIRROR_DIR}/{kind}/{file_name}",
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, *machine], replace_with=machine or None),
        )
        for kind, file_name in files
    ]
    step = steps.mirror_step(plan.mirror, registry=content.registry is not None)
    serve = run_step(f"{name}-serve", access, plan.gateway, step, parent=parent, depends_on=copies)
    return [*copies, serve]
