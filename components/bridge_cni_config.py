"""BridgeCniConfig: the node's bridge + host-local conflist where containerd reads it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.remote import SshAccess, depends_on, run_step
from planning.plan import HostPlan
from rendering import steps


@dataclass(frozen=True)
class BridgeCniConfigArgs:
    node: HostPlan  # its pod /64 is all the conflist needs: no plan
    access: SshAccess


class BridgeCniConfig(pulumi.ComponentResource):
    config: remote.Command
    pod_subnet: pulumi.Output[str]

    def __init__(self, name: str, args: BridgeCniConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:BridgeCniConfig", name, None, opts)
        step = steps.cni_step(args.node)
        self.config = run_step(
            f"{name}-conflist", args.access, args.node, step, parent=self, depends_on=depends_on(opts)
        )
        self.pod_subnet = pulumi.Output.from_input(str(args.node.pod_subnet))
        self.register_outputs({"pod_subnet": self.pod_subnet})
