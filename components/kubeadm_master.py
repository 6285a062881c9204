"""KubeadmMaster: `kubeadm init` on the first master with the v1beta4 config; join data, the certificate
key (several masters) and the kubeconfig as secrets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.join_token import certificate_key, join_token
from components.remote import SshAccess, depends_on, run
from planning.plan import ClusterPlan
from rendering import steps, upgrade


@dataclass(frozen=True)
class KubeadmMasterArgs:
    plan: ClusterPlan
    access: SshAccess


class KubeadmMaster(pulumi.ComponentResource):
    """`kubeadm init`, whose re-run converges the live control plane to a changed config (a new
    version through `kubeadm upgrade apply`, settings in place); then the master's own kubelet
    rollout, the CA hash, the kubeconfig and the certificates' expiry dates."""

    init: remote.Command
    rollout_done: remote.Command  # the master's kubelet at the config's version and settings
    cert_expiry: pulumi.Output[dict[str, str]]
    token: pulumi.Output[str]
    ca_cert_hash: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    certificate_key: pulumi.Output[str] | None  # with several masters possible (plan.kubeadm.upload_certs)

    def __init__(self, name: str, args: KubeadmMasterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:KubeadmMaster", name, None, opts)
        plan, access, master = args.plan, args.access, args.plan.master
        self.token = join_token(f"{name}-token", parent=self)
        self.certificate_key = None
        stdin = self.token.apply(steps.stdin_secrets)
        if plan.kubeadm.upload_certs:
            self.certificate_key = certificate_key(f"{name}-certificate-key", parent=self)
            stdin = pulumi.Output.all(self.token, self.certificate_key).apply(lambda v: steps.stdin_secrets(*v))
        self.init = run(
            f"{name}-init",
            access,
            master,
            steps.kubeadm_init_step(plan.kubeadm, master).create,
            delete=steps.KUBEADM_INIT_DELETE,
            parent=self,
            depends_on=depends_on(opts),
            secret=True,
            stdin=stdin,
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
        rollout = upgrade.node_rollout(plan.kubeadm, master, master)
        drain = run(f"{name}-drain", access, master, rollout.drain, parent=self, depends_on=[self.init])
        kubelet = run(f"{name}-kubelet", access, master, rollout.kubelet, parent=self, depends_on=[drain])
        self.rollout_done = run(f"{name}-uncordon", access, master, rollout.uncordon, parent=self, depends_on=[kubelet])
        expiry_command = upgrade.cert_expiry_command(plan.kubernetes)
        expiry = run(f"{name}-cert-expiry", access, master, expiry_command, parent=self, depends_on=[self.init])
        self.cert_expiry = expiry.stdout.apply(upgrade.parse_cert_expiry)
        self.ca_cert_hash = pulumi.Output.secret(ca_hash.stdout.apply(str.strip))
        self.kubeconfig = pulumi.Output.secret(kubeconfig.stdout)
        self.api_endpoint = pulumi.Output.secret(plan.api_endpoint)
        outputs: dict[str, pulumi.Output[object]] = {
            "token": self.token,
            "ca_cert_hash": self.ca_cert_hash,
            "kubeconfig": self.kubeconfig,
            "api_endpoint": self.api_endpoint,
            "cert_expiry": self.cert_expiry,
        }
        if self.certificate_key is not None:
            outputs["certificate_key"] = self.certificate_key
        self.register_outputs(outputs)
