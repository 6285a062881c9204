"""Where a host comes from: a machine factory the host components call, so they never branch on
the platform. `ExistingMachines` declares nothing (the operator's hosts, reached over SSH);
`LibvirtInfra` (components/libvirt_infra.py) declares a domain per host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi_command import remote

from components.remote import MachineIdentity, SshAccess, run, run_step
from planning.plan import ClusterPlan, HostPlan
from rendering import steps
from rendering.machine_identity import identity_delete, identity_step


class Machines(Protocol):
    def machine(self, host: HostPlan, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """Declare `host`'s machine as children of `parent`; return what its remote commands wait for."""
        ...


class ExistingMachines:
    """platform.kind: existing: the machines are already there."""

    def machine(self, host: HostPlan, parent: pulumi.Resource) -> list[pulumi.Resource]:
        return []


IDENTITY_COMMAND = "machine-id"  # `<host>-machine-id`: the one command on a host that is not a step


@dataclass(frozen=True)
class MachineIdentitiesArgs:
    hosts: Sequence[HostPlan]
    access: SshAccess  # without identities: these commands are what the others are guarded by
    tokens: Mapping[str, str]  # host name -> token (program/machine_ids.py)


class MachineIdentities(pulumi.ComponentResource):
    """platform.kind: existing: one command per host that writes its machine token; a new token
    (the machine came back empty) replaces it, and with it every command on that host."""

    by_host: dict[str, MachineIdentity]

    def __init__(self, name: str, args: MachineIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:MachineIdentities", name, None, opts)
        self.by_host = {}
        for host in args.hosts:
            token = args.tokens[host.name]
            command = run(
                f"{host.name}-{IDENTITY_COMMAND}",
                args.access,
                host,
                identity_step(token).create,
                delete=identity_delete(token),
                parent=self,
                triggers=[token],
            )
            self.by_host[host.name] = MachineIdentity(command, token)
        self.register_outputs({"tokens": dict(args.tokens)})


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
