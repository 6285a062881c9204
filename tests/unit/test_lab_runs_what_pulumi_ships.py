"""The namespace lab runs exactly the remote commands Pulumi declares: the same create scripts in
each host, in the order of `host_steps`, and the same delete scripts in reverse order on down."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import config_schemas.pulumi_config as pulumi_config
from components.machines import IDENTITY_COMMAND
from config_schemas.stack_files import load_stack_file
from harness.commons.program_mocks import Declared, run_program
from harness.commons.shell import CommandResult
from harness.netlab import node_config
from planning.plan import ClusterPlan, HostPlan, make_plan
from rendering import gateway
from rendering.machine_identity import guarded_delete
from rendering.steps import host_steps

# The stacks the namespace lab runs (every command they declare is one of its steps).
LAB_STACKS = ["lab", "lab-bind"]
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@dataclass
class RecordingExec:
    """Stands in for a lab host's HostExec: records the scripts run through `sh`."""

    namespace: str
    scripts: list[str] = field(default_factory=list)

    def sh(self, script: str, **kwargs: object) -> CommandResult:
        self.scripts.append(script)
        return CommandResult(self.namespace, ("sh", "-c", "..."), 0, "", "", 0.0)

    def run(self, command: Sequence[str], **kwargs: object) -> CommandResult:
        raise AssertionError(f"the lab ran {list(command)} outside its steps")


@pytest.fixture(autouse=True)
def _no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    # This machine may carry a lab's node prefix (the engine lab's root access): not what is tested here.
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])


def _commands_by_host(stack: str) -> dict[str, dict[str, Declared]]:
    """The host's remote commands, but for its machine identity (the lab's hosts are the machines
    the lab made; `_token` reads it)."""
    rec, _ = run_program(stack)
    by_host: dict[str, dict[str, Declared]] = {}
    for command in rec.of_type("command:remote:Command"):
        connection = command.inputs["connection"]
        if SECRET_SIG in connection:  # the connection holds the private key: a secret
            connection = connection["value"]
        by_host.setdefault(connection["host"], {})[command.name] = command
    return by_host


def _token(commands: dict[str, Declared], host: HostPlan) -> str:
    """The machine token the host's commands are guarded with, taken out of the list."""
    identity = commands.pop(f"{host.name}-{IDENTITY_COMMAND}")
    (token,) = identity.inputs["triggers"]
    return str(token)


def _lab_runs(plan: ClusterPlan, host: HostPlan, monkeypatch: pytest.MonkeyPatch) -> RecordingExec:
    """What `configure_host` runs in the host (landing and the kernel are checked by the lab tests)."""
    monkeypatch.setattr(node_config, "verify_landed", lambda files, targets: None)
    monkeypatch.setattr(node_config, "apply_kernel", lambda exec_, report: None)
    exec_ = RecordingExec(f"ns-{host.name}")
    node_config.configure_host(plan, host, exec_)  # type: ignore[arg-type]
    return exec_


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_the_lab_runs_each_hosts_remote_commands_in_order(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = make_plan(load_stack_file(stack).cluster)
    declared = _commands_by_host(stack)
    assert set(declared) == {h.ssh_host for h in plan.hosts}
    for host in plan.hosts:
        commands = declared[host.ssh_host]
        _token(commands, host)
        names = [f"{host.name}-{name}" for name, _ in host_steps(plan, host)]
        # Every command Pulumi runs on this host is a step of the lab, and no other.
        assert sorted(names) == sorted(commands), host.name
        ran = _lab_runs(plan, host, monkeypatch).scripts
        assert ran == [commands[n].inputs["create"] for n in names], host.name


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_lab_down_runs_each_hosts_delete_commands_in_reverse(
    stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan(load_stack_file(stack).cluster)
    declared = _commands_by_host(stack)
    monkeypatch.setattr(node_config, "NETNS_ETC", tmp_path)
    for host in plan.hosts:
        exec_ = RecordingExec(f"ns-{host.name}")
        (tmp_path / exec_.namespace).mkdir()
        for name in node_config.ETC_FILES:  # as `prepare_host` leaves them
            (tmp_path / exec_.namespace / name).touch()
        # Nothing ran yet: there is nothing to delete.
        assert node_config.unconfigure_host(plan, host, exec_) == ([], [])  # type: ignore[arg-type]
        assert exec_.scripts == []
        for _, step in host_steps(plan, host):  # as if every step had run
            for f in step.files:
                landed = node_config.netns_etc_path(exec_.namespace, f.path)
                landed.parent.mkdir(parents=True, exist_ok=True)
                landed.write_text(f.content)
        names = [f"{host.name}-{name}" for name, _ in reversed(host_steps(plan, host))]
        done, errors = node_config.unconfigure_host(plan, host, exec_)  # type: ignore[arg-type]
        assert (done, errors) == (names, [])
        # Pulumi's deletes are the lab's, run only on the machine they were made on.
        commands = declared[host.ssh_host]
        token = _token(commands, host)
        assert [guarded_delete(token, s) for s in exec_.scripts] == [commands[n].inputs["delete"] for n in names]


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_the_gateways_private_dirs_are_the_dirs_its_rendered_daemons_write(stack: str) -> None:
    """The lab makes the steps' state dirs private; the daemons' configs name no other directory."""
    plan = make_plan(load_stack_file(stack).cluster)
    private = node_config.private_targets(plan, plan.gateway)
    written = [re.search(r"^data-dir (\S+)$", gateway.tayga_conf(plan.nat64).content, re.M).group(1)]  # type: ignore[union-attr]
    if plan.dns64.engine == "bind9":
        written.append(re.search(r'directory "([^"]+)"', gateway.named_conf(plan.dns64).content).group(1))  # type: ignore[union-attr]
    written += re.findall(r'"(/[^"]+)/[^/"]+\.pid"', gateway.dns64_conf(plan.dns64).content)  # the pidfile's directory
    assert sorted(set(written)) == sorted(private), private
    for node in plan.nodes:
        assert node_config.private_targets(plan, node) == ["/var/lib/cni", "/opt/cni/bin"]
