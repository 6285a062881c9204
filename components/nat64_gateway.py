"""Nat64Gateway: the dual-stack machine that translates (NAT64) and synthesises (DNS64)."""

from __future__ import annotations

import pulumi

from components.libvirt_infra import LibvirtInfra
from components.mirror import declare_mirror
from components.remote_steps import SshAccess, run
from planning.plan import ClusterPlan
from rendering import steps
from rendering.node_install import MirrorContent


class Nat64Gateway(pulumi.ComponentResource):
    """Routes the pod /64s to their nodes, runs Jool or TAYGA behind a guard that serves
    only the cluster's prefixes, and Unbound or BIND9 with DNS64."""

    def __init__(
        self,
        name: str,
        plan: ClusterPlan,
        access: SshAccess,
        public_key: pulumi.Output[str],
        infra: LibvirtInfra | None = None,
        mirror: MirrorContent | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:Nat64Gateway", name, None, opts)
        host = plan.gateway
        machine = [infra.domain(plan, host, public_key, parent=self)] if infra else []
        network = steps.network_step(plan, host)
        self.network = run(
            f"{name}-network", access, host, network.create, delete=network.delete, parent=self, depends_on=machine
        )
        after = [self.network]
        if plan.config.stages.install:
            packages = steps.gateway_packages_step(plan)
            after = [run(f"{name}-packages", access, host, packages.create, parent=self, depends_on=after)]
        nat64 = steps.nat64_step(plan)
        self.nat64 = run(
            f"{name}-nat64", access, host, nat64.create, delete=nat64.delete, parent=self, depends_on=after
        )
        dns64 = steps.dns64_step(plan)
        self.dns64 = run(
            f"{name}-dns64", access, host, dns64.create, delete=dns64.delete, parent=self, depends_on=after
        )
        self.ready: list[pulumi.Resource] = [self.network, self.nat64, self.dns64]
        # Air-gapped: the gateway serves the Kubernetes artifacts to the nodes.
        self.mirror = (
            declare_mirror(f"{name}-mirror", plan, access, mirror, parent=self, depends_on=[self.network])
            if mirror
            else []
        )
        self.ready += self.mirror
        self.address = pulumi.Output.from_input(str(host.address))
        self.nat64_prefix = pulumi.Output.from_input(str(plan.nat64_prefix))
        self.register_outputs({"address": self.address, "nat64_prefix": self.nat64_prefix})
