"""Refuse, before any resource, a config that changes what the live cluster cannot take in place.

The deployed values are this stack's own `liveSettings` output, read through a StackReference of
the current stack (on the file backend and the service alike it reads the last completed
deployment; an update in progress has not written its outputs yet). Read synchronously: on
`pulumi up --skip-preview` nothing may be created before the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.runtime.sync_await import _sync_await

from planning.live_settings import VERSION_KEY, live_settings, refused_changes
from planning.plan import ClusterPlan

OUTPUT = "liveSettings"


@dataclass(frozen=True)
class LiveSettings:
    wanted: dict[str, str]  # what this run exports as `liveSettings`
    deployed_version: str | None  # the Kubernetes version the last completed `up` left (None: no cluster yet)

    @property
    def upgrading(self) -> bool:
        return self.deployed_version is not None and self.deployed_version != self.wanted[VERSION_KEY]


def refuse_live_changes(plan: ClusterPlan) -> LiveSettings:
    """What to export as `liveSettings` and the deployed version; raises pulumi.RunError naming
    each refused key."""
    wanted = live_settings(plan)
    me = pulumi.StackReference(
        f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}",
        opts=pulumi.ResourceOptions(),
    )
    deployed = _sync_await(me.get_output_details(OUTPUT))
    previous = deployed.value if deployed.value is not None else deployed.secret_value
    problems = refused_changes(previous if isinstance(previous, dict) else None, wanted)
    if problems:
        raise pulumi.RunError("\n".join(["this change cannot be made to the live cluster:", *problems]))
    version = previous.get(VERSION_KEY) if isinstance(previous, dict) else None
    return LiveSettings(wanted, str(version) if version is not None else None)
