"""Nat64Gateway: the dual-stack machine that translates (NAT64) and synthesises (DNS64)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import remote

from components.machines import Machines, machine_and_network
from components.mirror import declare_mirror
from components.remote import SshAccess, depends_on, run_step
from planning.plan import ClusterPlan
from rendering import steps
from rendering.node_install import MirrorContent


@dataclass(frozen=True)
class Nat64GatewayArgs:
    plan: ClusterPlan
    access: SshAccess
    machines: Machines
    mirror: MirrorContent | None = None  # with kubernetes.artifacts: mirror, what the gateway serves
    mirror_source: Path | None = None  # and the local folder its files are copied from


class Nat64Gateway(pulumi.ComponentResource):
    """Routes the pod /64s to their nodes, runs Jool or TAYGA behind a guard that serves
    only the cluster's prefixes, and Unbound or BIND9 with DNS64."""

    network: remote.Command
    packages: remote.Command | None  # None with stages.install off
    nat64: remote.Command
    dns64: remote.Command
    mirror: list[pulumi.Resource]  # empty unless kubernetes.artifacts: mirror
    api_lb: remote.Command | None  # HAProxy in front of the masters (controlPlaneEndpoint.mode: gateway-haproxy)
    address: pulumi.Output[str]
    nat64_prefix: pulumi.Output[str]

    def __init__(self, name: str, args: Nat64GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:Nat64Gateway", name, None, opts)
        plan, access, host = args.plan, args.access, args.plan.gateway
        self.network = machine_and_network(name, plan, host, access, args.machines, parent=self, after=depends_on(opts))
        self.packages = None
        if plan.stages.install:
            step = steps.gateway_packages_step(plan.nat64, plan.dns64, plan.kubernetes, plan.api_lb)
            self.packages = run_step(f"{name}-packages", access, host, step, parent=self, depends_on=[self.network])
        services_after = [self.packages or self.network]
        self.nat64 = run_step(
            f"{name}-nat64", access, host, steps.nat64_step(plan.nat64), parent=self, depends_on=services_after
        )
        self.dns64 = run_step(
            f"{name}-dns64", access, host, steps.dns64_step(plan.dns64), parent=self, depends_on=services_after
        )
        self.api_lb = None
        if plan.api_lb is not None and plan.stages.kubeadm:
            self.api_lb = run_step(
                f"{name}-api-lb", access, host, steps.api_lb_step(plan.api_lb), parent=self, depends_on=services_after
            )
        # Air-gapped: the gateway serves the Kubernetes artifacts to the nodes.
        self.mirror = []
        if args.mirror is not None:
            if args.mirror_source is None:
                raise ValueError("Nat64GatewayArgs.mirror needs mirror_source, the folder its files are in")
            self.mirror = declare_mirror(
                f"{name}-mirror", plan, access, args.mirror, args.mirror_source, parent=self, after=[self.network]
            )
        self.address = pulumi.Output.from_input(str(host.address))
        self.nat64_prefix = pulumi.Output.from_input(str(plan.nat64.prefix))
        self.register_outputs({"address": self.address, "nat64_prefix": self.nat64_prefix})
