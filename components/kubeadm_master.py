"""KubeadmMaster: `kubeadm init` with the v1beta4 config; join data and kubeconfig as secrets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.join_token import join_token
from components.remote import SshAccess, depends_on, run
from planning.plan import ClusterPlan
from rendering import steps


@dataclass(frozen=True)
class KubeadmMasterArgs:
    plan: ClusterPlan
    access: SshAccess


class KubeadmMaster(pulumi.ComponentResource):
    init: remote.Command
    token: pulumi.Output[str]
    ca_cert_hash: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: KubeadmMasterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:KubeadmMaster", name, None, opts)
        plan, access, master = args.plan, args.access, args.plan.master
        self.token = join_token(f"{name}-token", parent=self)
        self.init = run(
            f"{name}-init",
            access,
            master,
            steps.kubeadm_init_step(plan).create,
            delete=steps.KUBEADM_INIT_DELETE,
            parent=self,
            depends_on=depends_on(opts),
            secret=True,
            stdin=self.token.apply(steps.stdin_secrets),
        )
        ca_hash = run(
            f"{name}-ca-cert-hash",
            access,
            master,
            steps.CA_CERT_HASH_COMMAND,
            parent=self,
            depends_on=[self.init],
            secret=True,
        )
        kubeconfig = run(
            f"{name}-kubeconfig",
            access,
            master,
            steps.KUBECONFIG_COMMAND,
            parent=self,
            depends_on=[self.init],
            secret=True,
        )
        self.ca_cert_hash = pulumi.Output.secret(ca_hash.stdout.apply(str.strip))
        self.kubeconfig = pulumi.Output.secret(kubeconfig.stdout)
        self.api_endpoint = pulumi.Output.secret(plan.api_endpoint)
        self.register_outputs(
            {
                "token": self.token,
                "ca_cert_hash": self.ca_cert_hash,
                "kubeconfig": self.kubeconfig,
                "api_endpoint": self.api_endpoint,
            }
        )
