"""KubeadmMinion: `kubeadm join`, fed by the master's outputs only through the graph."""

from __future__ import annotations

import pulumi

from components.kubeadm_master import KubeadmMaster
from components.remote_steps import SshAccess, run
from planning.plan import ClusterPlan, HostPlan
from rendering import steps


class KubeadmMinion(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        plan: ClusterPlan,
        node: HostPlan,
        access: SshAccess,
        master: KubeadmMaster,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:KubeadmMinion", name, None, opts)
        create = pulumi.Output.all(master.token, master.ca_cert_hash).apply(
            lambda v: steps.kubeadm_join_step(plan, node, v[0], v[1]).create
        )
        self.join = run(
            f"{name}-join",
            access,
            node,
            create,
            delete=steps.KUBEADM_JOIN_DELETE,
            parent=self,
            depends_on=depends_on,
            secret=True,
        )
        self.register_outputs({"joined": self.join.stdout})
