"""KubeNode: one machine of the cluster, prepared for Kubernetes over SSH."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.machines import Machines, machine_and_network
from components.remote import SshAccess, depends_on, run_step
from planning.plan import ClusterPlan, HostPlan
from rendering import steps
from rendering.node_install import MirrorContent


@dataclass(frozen=True)
class KubeNodeArgs:
    plan: ClusterPlan
    host: HostPlan
    access: SshAccess
    machines: Machines
    # What the packages step fetches through: the gateway (DNS64/NAT64, or its mirror).
    gateway: pulumi.Resource | None = None
    mirror: MirrorContent | None = None  # what the gateway's mirror serves (kubernetes.artifacts: mirror)


class KubeNode(pulumi.ComponentResource):
    """A machine (declared by `machines`, or an existing host); then its network (sysctls, modules,
    persisted routes, resolver) and, with stages.install, containerd + kubeadm/kubelet/kubectl."""

    network: remote.Command
    packages: remote.Command | None  # None with stages.install off
    address: pulumi.Output[str]
    pod_subnet: pulumi.Output[str]

    def __init__(self, name: str, args: KubeNodeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:KubeNode", name, None, opts)
        plan, host = args.plan, args.host
        self.network = machine_and_network(
            name, plan, host, args.access, args.machines, parent=self, after=depends_on(opts)
        )
        self.packages = None
        if plan.stages.install:
            self.packages = run_step(
                f"{name}-packages",
                args.access,
                host,
                steps.packages_step(plan.kubernetes, plan.mirror, host, args.mirror),
                parent=self,
                depends_on=[self.network, *([args.gateway] if args.gateway else [])],
            )
        self.address = pulumi.Output.from_input(str(host.address))
        self.pod_subnet = pulumi.Output.from_input(str(host.pod_subnet))
        self.register_outputs({"address": self.address, "pod_subnet": self.pod_subnet})
