"""KubeadmControlPlaneMember: a master after the first joins the control plane (stacked etcd).

Like a minion's join (components/kubeadm_minion.py), with the control plane's certificates:
- `token` on the first master: a bootstrap token for this join only;
- `certs` on the first master: `kubeadm init phase upload-certs` right before the join (kubeadm
  deletes uploaded certificates 2 hours after the upload, so a master added a day later finds them);
- `join` on the master: `kubeadm join --control-plane` (its API server on its own address, its etcd
  member added), token, CA hash and certificate key read from stdin; delete: `kubeadm reset`;
- `node` on the first master: the Node Ready; delete: drained, its etcd member removed (etcdctl in
  the first master's etcd pod), the Node deleted, all before the reset (steps.node_membership_scripts).
The masters join one after another (`after`: the previous master's Node Ready): etcd grows one
member at a time. Removing a master deletes in reverse: drain and Node, etcd member, reset.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.kubeadm_master import KubeadmMaster
from components.remote import SshAccess, depends_on, run
from planning.plan import ClusterPlan, HostPlan
from rendering import steps, upgrade


@dataclass(frozen=True)
class KubeadmControlPlaneMemberArgs:
    plan: ClusterPlan
    node: HostPlan  # a master other than the first
    access: SshAccess
    master: KubeadmMaster  # the first master: its init, CA hash and certificate key
    after: tuple[pulumi.Resource, ...] = ()  # the join waits for these (the previous master's Node)


class KubeadmControlPlaneMember(pulumi.ComponentResource):
    token: remote.Command
    certs: remote.Command
    join: remote.Command
    node: remote.Command
    rollout_done: remote.Command

    def __init__(
        self, name: str, args: KubeadmControlPlaneMemberArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("kubev6:index:KubeadmControlPlaneMember", name, None, opts)
        plan, node, access, master = args.plan, args.node, args.access, args.master
        if master.certificate_key is None:
            raise ValueError("a master joins the control plane only with plan.kubeadm.upload_certs")
        token_scripts = steps.join_token_scripts(plan.kubernetes, plan.master, node)
        self.token = run(
            f"{name}-token",
            access,
            plan.master,
            token_scripts.create,
            delete=token_scripts.delete,
            parent=self,
            depends_on=[master.init, *args.after],
            secret=True,
            ignore_changes=["create"],
            # The master came back empty (a new machine id): it joins again, with a token of its own.
            replace_with=[i.command for i in [access.identities.get(node.name)] if i is not None],
        )
        self.certs = run(
            f"{name}-certs",
            access,
            plan.master,
            steps.upload_certs_script(node),
            parent=self,
            depends_on=[self.token],
            secret=True,  # kubeadm's output there would name the certificate key; it prints none
            replace_with=[self.token],  # a new join uploads them again
            ignore_changes=["create"],
        )
        secrets = pulumi.Output.all(self.token.stdout, master.ca_cert_hash, master.certificate_key).apply(
            lambda v: steps.stdin_secrets(v[0].strip(), v[1], v[2])
        )
        self.join = run(
            f"{name}-join",
            access,
            node,
            steps.kubeadm_join_step(plan.kubeadm, plan.master, node).create,
            delete=steps.KUBEADM_CONTROL_PLANE_JOIN_DELETE,
            parent=self,
            depends_on=[*depends_on(opts), self.certs],
            secret=True,
            stdin=secrets,
            delete_before_replace=True,
            replace_with=[self.token],
            ignore_changes=["create"],
        )
        membership = steps.node_membership_scripts(plan.kubernetes, plan.master, node)
        self.node = run(
            f"{name}-node",
            access,
            plan.master,
            membership.create,
            delete=membership.delete,
            parent=self,
            depends_on=[self.join, master.init],
            update=f"echo {node.name}",
            delete_before_replace=True,
            replace_with=[self.join],
        )
        rollout = upgrade.node_rollout(plan.kubeadm, plan.master, node)
        drain = run(
            f"{name}-drain",
            access,
            plan.master,
            rollout.drain,
            parent=self,
            depends_on=[self.node, master.rollout_done],
        )
        kubelet = run(f"{name}-kubelet", access, node, rollout.kubelet, parent=self, depends_on=[drain])
        self.rollout_done = run(
            f"{name}-uncordon", access, plan.master, rollout.uncordon, parent=self, depends_on=[kubelet]
        )
        self.register_outputs({"node": self.node.stdout})
