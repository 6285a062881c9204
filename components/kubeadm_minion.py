"""KubeadmMinion: a join credential made for this join, `kubeadm join`, and the Node's membership.

Three commands, in the order Pulumi creates them (and deletes them in reverse):
- `token` on the master: `kubeadm token create` when this minion joins (never a standing token);
  delete removes it;
- `join` on the minion: `kubeadm join` with that token on stdin; delete is `kubeadm reset`;
- `node` on the master: the Node registered and Ready; delete cordons, drains and deletes the
  Node, so removing the minion drains it before its host is reset.
Then its rollout (rendering/upgrade.py): `drain` on the master, `kubelet` on the minion (`kubeadm
upgrade node`, the kubelet config, the kubelet restarted), `uncordon` on the master; each does
nothing unless the version or the kubelet config changed. During an upgrade the minions take
their turns one after another (`after`).
Replacing the token replaces the join, and replacing the join replaces the Node. The join and the
Node are deleted before their replacements are made (a second join created before the first
one's reset would be undone by that reset): the Node is drained, the host reset, joined again with
the new token, the Node Ready; the old token goes last. The token is made before its replacement
on purpose: with a delete-before-replace token the join and the Node would both be dependents of
one replacement, which the engine deletes in no fixed order (seen: the reset before the drain).
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
class KubeadmMinionArgs:
    plan: ClusterPlan
    node: HostPlan
    access: SshAccess
    master: KubeadmMaster  # its init, CA hash and host; the token is made on it
    after: tuple[pulumi.Resource, ...] = ()  # the rollout waits for these (the previous minion's turn)


class KubeadmMinion(pulumi.ComponentResource):
    token: remote.Command
    join: remote.Command
    node: remote.Command
    rollout_done: remote.Command

    def __init__(self, name: str, args: KubeadmMinionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:KubeadmMinion", name, None, opts)
        plan, node, access, master = args.plan, args.node, args.access, args.master
        token_scripts = steps.join_token_scripts(plan.kubernetes, plan.master, node)
        self.token = run(
            f"{name}-token",
            access,
            plan.master,
            token_scripts.create,
            delete=token_scripts.delete,
            parent=self,
            depends_on=[master.init],
            secret=True,
            # A new joinTokenTtl is for the next join: the token this one used is not made again.
            ignore_changes=["create"],
            # The minion came back empty (a new machine id): it joins again, with a token of its own.
            replace_with=[i.command for i in [access.identities.get(node.name)] if i is not None],
        )
        secrets = pulumi.Output.all(self.token.stdout, master.ca_cert_hash).apply(
            lambda v: steps.stdin_secrets(v[0].strip(), v[1])
        )
        self.join = run(
            f"{name}-join",
            access,
            node,
            steps.kubeadm_join_step(plan.kubeadm, plan.master, node).create,
            delete=steps.KUBEADM_JOIN_DELETE,
            parent=self,
            depends_on=depends_on(opts),
            secret=True,
            stdin=secrets,
            delete_before_replace=True,
            replace_with=[self.token],  # a new token is a new join
            # What the join config holds is the node's identity (name, address, cgroup root: fixed) or
            # lives only as long as the join (timeouts, preflight checks): a joined node takes no change
            # of it, so a change is no update here; the next join (a new minion, a rejoin) uses it.
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
            # Not secret: kubectl with admin.conf prints no credential, and a drain that fails says why.
            # A changed drain timeout only updates the delete kept in state (no uncordon).
            update=f"echo {node.name}",
            delete_before_replace=True,
            replace_with=[self.join],  # a new join is a new Node: drain and delete the old one first
        )
        rollout = upgrade.node_rollout(plan.kubeadm, plan.master, node)
        drain = run(
            f"{name}-drain",
            access,
            plan.master,
            rollout.drain,
            parent=self,
            depends_on=[self.node, master.rollout_done, *args.after],
        )
        kubelet = run(f"{name}-kubelet", access, node, rollout.kubelet, parent=self, depends_on=[drain])
        self.rollout_done = run(
            f"{name}-uncordon", access, plan.master, rollout.uncordon, parent=self, depends_on=[kubelet]
        )
        self.register_outputs({"node": self.node.stdout})
