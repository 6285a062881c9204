"""KubeNode: one machine of the cluster, prepared for Kubernetes over SSH."""

from __future__ import annotations

import pulumi

from components.libvirt_infra import LibvirtInfra
from components.remote_steps import SshAccess, run
from planning.plan import ClusterPlan, HostPlan
from rendering import steps
from rendering.node_install import MirrorContent


class KubeNode(pulumi.ComponentResource):
    """A libvirt domain or an existing host; then its network (sysctls, modules, persisted
    routes, resolver) and, with stages.install, containerd + kubeadm/kubelet/kubectl."""

    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        plan: ClusterPlan,
        host: HostPlan,
        access: SshAccess,
        public_key: pulumi.Output[str],
        infra: LibvirtInfra | None = None,
        needs: list[pulumi.Resource] | None = None,
        mirror: MirrorContent | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:KubeNode", name, None, opts)
        machine = [infra.domain(plan, host, public_key, parent=self)] if infra else []
        network = steps.network_step(plan, host)
        self.network = run(
            f"{name}-network", access, host, network.create, delete=network.delete, parent=self, depends_on=machine
        )
        self.ready = [self.network]
        if plan.config.stages.install:
            packages = steps.packages_step(plan, host, mirror)
            self.packages = run(
                f"{name}-packages",
                access,
                host,
                packages.create,
                delete=packages.delete,
                parent=self,
                # Packages come through the gateway's DNS64/NAT64, or from its mirror.
                depends_on=[self.network, *(needs or [])],
            )
            self.ready.append(self.packages)
        self.address = pulumi.Output.from_input(str(host.address))
        self.pod_subnet = pulumi.Output.from_input(str(host.pod_subnet))
        self.register_outputs({"address": self.address, "pod_subnet": self.pod_subnet})
