"""Where a host comes from: a machine factory the host components call, so they never branch on
the platform. `ExistingMachines` declares nothing (the operator's hosts, reached over SSH);
`LibvirtInfra` (components/libvirt_infra.py) declares a domain per host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pulumi
from pulumi_command import remote

from components.remote import SshAccess, run_step
from planning.plan import ClusterPlan, HostPlan
from rendering import steps


class Machines(Protocol):
    def machine(self, host: HostPlan, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """Declare `host`'s machine as children of `parent`; return what its remote commands wait for."""
        ...


class ExistingMachines:
    """platform.kind: existing: the machines are already there."""

    def machine(self, host: HostPlan, parent: pulumi.Resource) -> list[pulumi.Resource]:
        return []


def machine_and_network(
    name: str,
    plan: ClusterPlan,
    host: HostPlan,
    access: SshAccess,
    machines: Machines,
    *,
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource] = (),
) -> remote.Command:
    """What every host starts with, gateway or node: its machine, then the network step (sysctls,
    modules, persisted routes, resolver, hosts) once SSH answers."""
    machine = machines.machine(host, parent)
    step = steps.network_step(plan, host)
    return run_step(f"{name}-network", access, host, step, parent=parent, depends_on=[*after, *machine])
