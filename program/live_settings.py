"""Refuse, before any resource, a config that changes what the live cluster cannot take in place.

The deployed values are this stack's own `liveSettings` output (program/deployed.py), read
synchronously: on `pulumi up --skip-preview` nothing may be created before the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from planning.live_settings import VERSION_KEY, live_settings, refused_changes
from planning.plan import ClusterPlan
from program.deployed import Deployed

OUTPUT = "liveSettings"


@dataclass(frozen=True)
class LiveSettings:
    wanted: dict[str, str]  # what this run exports as `liveSettings`
    deployed_version: str | None  # the Kubernetes version the last completed `up` left (None: no cluster yet)

    @property
    def upgrading(self) -> bool:
        return self.deployed_version is not None and self.deployed_version != self.wanted[VERSION_KEY]


def refuse_live_changes(plan: ClusterPlan, deployed: Deployed) -> LiveSettings:
    """What to export as `liveSettings` and the deployed version; raises pulumi.RunError naming
    each refused key."""
    wanted = live_settings(plan)
    previous = deployed.output(OUTPUT)
    problems = refused_changes(previous if isinstance(previous, dict) else None, wanted)
    if problems:
        raise pulumi.RunError("\n".join(["this change cannot be made to the live cluster:", *problems]))
    version = previous.get(VERSION_KEY) if isinstance(previous, dict) else None
    return LiveSettings(wanted, str(version) if version is not None else None)
