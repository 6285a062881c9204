"""Remote commands over SSH: one per host per concern, idempotent, secrets kept out of logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pulumi
from pulumi_command import remote

from planning.plan import ClusterPlan, HostPlan
from rendering.machine_identity import guarded_delete
from rendering.steps import Step


@dataclass(frozen=True)
class MachineIdentity:
    """An existing host's identity command and the token it wrote (rendering/machine_identity.py)."""

    command: pulumi.Resource
    token: str


@dataclass(frozen=True)
class SshAccess:
    """How every machine is reached: user, port, the private key (a secret) and dial retries."""

    user: str
    port: int
    private_key: pulumi.Output[str]
    dial_error_limit: int
    per_dial_timeout: int
    # Host name -> its identity: every command on that host is replaced with it, and undoes only
    # on the machine it was made on. Empty on libvirt (a machine there is its domain).
    identities: Mapping[str, MachineIdentity] = field(default_factory=dict)

    def with_identities(self, identities: Mapping[str, MachineIdentity]) -> SshAccess:
        return replace(self, identities=dict(identities))

    def connection(self, host: HostPlan) -> remote.ConnectionArgs:
        # A bare IPv6 literal: the provider adds the brackets when it joins host and port.
        return remote.ConnectionArgs(
            host=host.ssh_host,
            port=self.port,
            user=self.user,
            private_key=self.private_key,
            dial_error_limit=self.dial_error_limit,
            per_dial_timeout=self.per_dial_timeout,
        )


def ssh_access(plan: ClusterPlan, private_key: pulumi.Output[str]) -> SshAccess:
    ssh = plan.ssh
    return SshAccess(ssh.user, ssh.port, private_key, ssh.dial_error_limit, ssh.per_dial_timeout)


def depends_on(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """A component's `depends_on`, handed to the children that must wait for it as well (a child
    waits for its parent's registration; this says it outright rather than rely on that)."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    return [deps] if isinstance(deps, pulumi.Resource) else list(deps)  # type: ignore[arg-type]


def run(
    name: str,
    access: SshAccess,
    host: HostPlan,
    create: pulumi.Input[str],
    *,
    parent: pulumi.Resource,
    delete: str | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    secret: bool = False,
    stdin: pulumi.Input[str] | None = None,
    update: str | None = None,
    delete_before_replace: bool = False,
    replace_with: Sequence[pulumi.Resource] = (),
    ignore_changes: Sequence[str] = (),
    triggers: Sequence[str] = (),
) -> remote.Command:
    """One remote command. With `secret`, its output is encrypted in state and never logged;
    `stdin` (a secret) carries the values the script must not hold. `delete_before_replace` where
    a replacement made first would be undone by the old one's delete; `replace_with`: replaced
    whenever one of those is; `triggers`: replaced when one of them changes. `update` runs instead of
    `create` when an input changed. On a host
    with an identity the command waits for it, is replaced with it, and its delete is guarded."""
    identity = access.identities.get(host.name)
    if identity is not None:
        depends_on = [*depends_on, identity.command]
        replace_with = [*replace_with, identity.command]
        delete = guarded_delete(identity.token, delete) if delete is not None else None
    opts = pulumi.ResourceOptions(
        parent=parent,
        depends_on=list(depends_on),
        additional_secret_outputs=["stdout", "stderr"] if secret else None,
        delete_before_replace=delete_before_replace or None,
        replace_with=list(replace_with) or None,
        ignore_changes=list(ignore_changes) or None,
    )
    return remote.Command(
        name,
        connection=access.connection(host),
        create=create,
        update=update,
        delete=delete,
        triggers=list(triggers) or None,
        stdin=pulumi.Output.secret(stdin) if stdin is not None else None,
        logging=remote.Logging.NONE if secret else remote.Logging.STDOUT_AND_STDERR,
        opts=opts,
    )


def run_step(
    name: str,
    access: SshAccess,
    host: HostPlan,
    step: Step,
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> remote.Command:
    """A rendered step as one remote command: its create script, and its delete script on destroy."""
    delete = step.delete if step.undoes_anything else None
    return run(name, access, host, step.create, delete=delete, parent=parent, depends_on=depends_on)
