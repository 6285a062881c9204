"""BridgeCniConfig: the node's bridge + host-local conflist where containerd reads it."""

from __future__ import annotations

import pulumi

from components.remote_steps import SshAccess, run
from planning.plan import ClusterPlan, HostPlan
from rendering import steps


class BridgeCniConfig(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        plan: ClusterPlan,
        node: HostPlan,
        access: SshAccess,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:BridgeCniConfig", name, None, opts)
        step = steps.cni_step(plan, node)
        self.config = run(
            f"{name}-conflist", access, node, step.create, delete=step.delete, parent=self, depends_on=depends_on
        )
        self.pod_subnet = pulumi.Output.from_input(str(node.pod_subnet))
        self.register_outputs({"pod_subnet": self.pod_subnet})
