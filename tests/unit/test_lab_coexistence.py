"""A lab never removes a lab it did not start.

The tests' labs use names of their own (KUBEV6_LAB_INSTANCE, set in tests/conftest.py), so the
test suite runs beside `scripts/k8s-lab.sh up`; and a start under names that a live lab holds is
refused, naming that lab and how to replace it, while what a dead run left (stale) is cleaned.
Unit tests: the machine is faked (namespaces, their processes, the state folder); any teardown
or topology the lab would perform is recorded instead.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netaddr
import pytest

import harness.netlab.__main__ as cli
from config_schemas.stack_files import load_stack_file
from harness.netlab import session as netlab_session
from harness.netlab import state as netlab_state
from harness.netlab.naming import LabNames
from harness.netlab.preflight import LabRefused
from harness.netlab.session import Lab, lab_session
from planning.plan import make_plan

LAB_STACKS = ["lab", "lab-bind", "lab-k8s"]


def operators(stack: str) -> tuple[LabNames, Any]:
    """The names and plan of the stack's own lab, as `python -m harness.netlab` and scripts/k8s-lab.sh run it."""
    plan = make_plan(load_stack_file(stack).cluster)
    return LabNames.for_plan(stack, plan), plan


@pytest.mark.parametrize("stack", LAB_STACKS)
def test_the_tests_lab_shares_no_name_or_route_with_the_stacks_own(stack: str) -> None:
    names, plan = operators(stack)
    ours = Lab(stack, log=lambda m: None)
    assert ours.names.prefix != names.prefix
    assert not ours.names.prefix.startswith(names.prefix + "-") and not names.prefix.startswith(ours.names.prefix)
    assert ours.state.dir != netlab_state.LabState(names.prefix).dir
    assert {ours.names.host_ns(h) for h in ours.plan.hosts}.isdisjoint({names.host_ns(h) for h in plan.hosts})
    # The root namespace: the veth and the node prefix routed over it.
    assert ours.plan.local_bridge != plan.local_bridge
    assert len(ours.plan.local_bridge or "") <= 15
    assert netaddr.IPSet([ours.plan.node_prefix]).isdisjoint(netaddr.IPSet([plan.node_prefix]))
    # The nodes' cgroup roots (several kubelets per machine).
    for a, b in zip(ours.plan.nodes, plan.nodes, strict=True):
        if plan.kubeadm.cgroup_root(b.name) is not None:
            assert ours.plan.kubeadm.cgroup_root(a.name) != plan.kubeadm.cgroup_root(b.name)
        assert a.pod_subnet == b.pod_subnet and a.address != b.address
        assert int(a.address) - ours.plan.node_prefix.first == int(b.address) - plan.node_prefix.first


def test_the_stacks_own_lab_is_unchanged_without_an_instance() -> None:
    names, plan = operators("lab-k8s")
    theirs = Lab("lab-k8s", instance="", log=lambda m: None)
    assert theirs.names.prefix == names.prefix == "kv6lk"
    assert theirs.plan == plan and theirs.config_overrides == {}


class Machine:
    """The machine as the lab sees it: namespaces with processes, the teardowns asked for."""

    def __init__(self) -> None:
        self.namespaces: dict[str, list[int]] = {}
        self.torn_down: list[str] = []


class TopologyStarted(Exception):
    """The lab got past its start checks (the real topology is not built in unit tests)."""


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Machine]:
    m = Machine()
    monkeypatch.setattr(netlab_state, "STATE_ROOT", tmp_path / "run-kv6lab")
    monkeypatch.setattr(
        netlab_state, "list_namespaces", lambda prefix="kv6": [n for n in m.namespaces if n.startswith(prefix)]
    )
    monkeypatch.setattr(netlab_state, "namespace_pids", lambda ns: m.namespaces.get(ns, []))
    monkeypatch.setattr(netlab_session, "list_namespaces", netlab_state.list_namespaces)

    def teardown(prefix: str) -> None:
        m.torn_down.append(prefix)
        for ns in [n for n in m.namespaces if n.startswith(prefix + "-")]:
            del m.namespaces[ns]

    def topology_up(self: Any) -> None:
        raise TopologyStarted

    # Never the real machine: other people's labs run here.
    monkeypatch.setattr(netlab_state, "NETNS_ETC", tmp_path / "etc-netns")
    for module in (netlab_session, netlab_state):
        monkeypatch.setattr(module, "teardown_prefix", teardown)
        monkeypatch.setattr(module, "release_mountpoints", lambda: None)
    monkeypatch.setattr(netlab_session.Topology, "up", topology_up)
    monkeypatch.setattr(netlab_session.node_config, "unconfigure_host", lambda *a: ([], []))
    monkeypatch.setattr(netlab_session.node_config, "host_exec", lambda *a: None)
    yield m


def running_lab_of(stack: str, machine: Machine, pid: int) -> str:
    prefix = Lab(stack, log=lambda m: None).names.prefix
    machine.namespaces.update({f"{prefix}-gw": [pid], f"{prefix}-sw": []})
    return prefix


def test_a_start_under_names_a_live_lab_holds_is_refused_and_removes_nothing(machine: Machine) -> None:
    prefix = running_lab_of("lab", machine, 4242)  # an older lab: no owner record, live processes
    with pytest.raises(LabRefused, match=rf"lab {prefix} .*is running.*--replace"):
        with lab_session("lab", log=lambda m: None):
            pass
    assert machine.torn_down == []
    assert f"{prefix}-gw" in machine.namespaces


def test_replace_removes_the_running_lab(machine: Machine) -> None:
    prefix = running_lab_of("lab", machine, 4242)
    with pytest.raises(TopologyStarted):
        Lab("lab", replace=True, log=lambda m: None).up_infrastructure()
    assert machine.torn_down == [prefix]


def test_what_a_dead_run_left_is_cleaned(machine: Machine) -> None:
    prefix = running_lab_of("lab", machine, 4242)
    machine.namespaces[f"{prefix}-gw"] = []  # namespaces, nothing runs in them
    with pytest.raises(TopologyStarted):
        Lab("lab", log=lambda m: None).up_infrastructure()
    assert machine.torn_down == [prefix]


def owner_record(stack: str, pid: int, start: str | None, detached: bool = False) -> None:
    first = Lab(stack, log=lambda m: None)
    first.state.create()
    first.state.write_owner(
        netlab_state.Owner(pid, start or "", stack, "python -m harness.netlab up", first.down_command(), detached)
    )


@pytest.fixture
def live_process() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_a_lab_whose_owner_runs_is_alive_and_named(machine: Machine, live_process: int) -> None:
    prefix = running_lab_of("lab-k8s", machine, live_process)
    owner_record("lab-k8s", live_process, netlab_state.process_start(live_process))
    with pytest.raises(LabRefused) as err:
        Lab("lab-k8s", log=lambda m: None).up_infrastructure()
    message = str(err.value)
    assert f"lab {prefix} (stack lab-k8s) is running, run by pid {live_process} python -m harness.netlab up" in message
    assert "python -m harness.netlab down --stack lab-k8s` removes it" in message and "--replace" in message
    assert machine.torn_down == []


def test_a_lab_left_running_by_up_is_alive_after_its_process_ended(machine: Machine) -> None:
    prefix = running_lab_of("lab", machine, 4242)
    owner_record("lab", 999_999_999, "1", detached=True)  # that `up` has ended
    with pytest.raises(LabRefused, match="left running by pid 999999999"):
        Lab("lab", log=lambda m: None).up_infrastructure()
    assert netlab_state.cleanup_stale() == []  # not stale either
    assert machine.torn_down == []
    # `down` is how it goes: it adopts the lab and removes it.
    down = Lab("lab", log=lambda m: None)
    down.adopt()
    down.down()
    assert machine.torn_down == [prefix]


def test_a_lab_whose_owner_died_is_stale(machine: Machine, live_process: int) -> None:
    prefix = running_lab_of("lab", machine, live_process)  # its daemons survived the owner
    owner_record("lab", live_process, "1")  # the pid is alive but is another process (recycled)
    assert netlab_state.running_lab(prefix) is None
    with pytest.raises(TopologyStarted):
        Lab("lab", log=lambda m: None).up_infrastructure()
    assert machine.torn_down == [prefix]


def test_down_is_refused_while_another_process_runs_the_lab(machine: Machine, live_process: int) -> None:
    running_lab_of("lab", machine, live_process)
    owner_record("lab", live_process, netlab_state.process_start(live_process))
    with pytest.raises(LabRefused, match="is running"):
        Lab("lab", log=lambda m: None).adopt()
    assert machine.torn_down == []


def test_the_cli_refusal_is_one_line_and_exit_2(
    machine: Machine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    prefix = running_lab_of("lab", machine, 4242)
    assert cli.main(["up", "--stack", "lab"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"python -m harness.netlab: lab {prefix} ") and "--replace" in err
    assert machine.torn_down == []
