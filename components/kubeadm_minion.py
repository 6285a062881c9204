"""KubeadmMinion: `kubeadm join`, fed by the master's outputs only through the graph."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.kubeadm_master import KubeadmMaster
from components.remote import SshAccess, depends_on, run
from planning.plan import ClusterPlan, HostPlan
from rendering import steps


@dataclass(frozen=True)
class KubeadmMinionArgs:
    plan: ClusterPlan
    node: HostPlan
    access: SshAccess
    master: KubeadmMaster  # its token and CA hash reach the join through the graph


class KubeadmMinion(pulumi.ComponentResource):
    join: remote.Command

    def __init__(self, name: str, args: KubeadmMinionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:KubeadmMinion", name, None, opts)
        plan, node = args.plan, args.node
        secrets = pulumi.Output.all(args.master.token, args.master.ca_cert_hash).apply(
            lambda v: steps.stdin_secrets(v[0], v[1])
        )
        self.join = run(
            f"{name}-join",
            args.access,
            node,
            steps.kubeadm_join_step(plan, node).create,
            delete=steps.KUBEADM_JOIN_DELETE,
            parent=self,
            depends_on=depends_on(opts),
            secret=True,
            stdin=secrets,
        )
        self.register_outputs({"joined": self.join.stdout})
