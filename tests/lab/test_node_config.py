"""Running steps in a lab host is strict and never touches the machine's own /etc."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config_schemas.stack_files import load_stack_file
from harness.commons.shell import CommandFailed, run
from harness.netlab.instance import current_instance
from harness.netlab.node_config import (
    HostReport,
    apply_kernel,
    netns_etc_path,
    prepare_host,
    run_step,
    unconfigure_host,
)
from harness.netlab.snapshot import diff, host_snapshot
from harness.netlab.state import LabState, release_mountpoints, teardown_prefix
from planning.plan import make_plan
from rendering.files import RenderedFile
from rendering.layout import CNI_CONFLIST_PATH, SYSCTL_PATH
from rendering.steps import Step, host_steps

pytestmark = pytest.mark.lab
PREFIX = f"kv6{current_instance()}x"  # this test run's own name (tests/conftest.py)
NS = f"{PREFIX}-node"


@pytest.fixture
def node() -> Iterator[tuple[object, LabState]]:
    plan = make_plan(load_stack_file("lab").cluster)
    state = LabState(PREFIX)
    state.create()
    run(["ip", "netns", "add", NS])
    try:
        yield prepare_host(plan, plan.minions[0], NS, state), state
    finally:
        teardown_prefix(PREFIX)
        release_mountpoints()


def test_sysctl_apply_fails_on_a_missing_key(node: tuple) -> None:
    exec_, _ = node
    bad = RenderedFile(SYSCTL_PATH, "net.ipv6.conf.all.forwarding = 1\nnet.kubev6.no_such_key = 1\n")
    run_step(exec_, "bad", Step(files=(bad,)))
    with pytest.raises((CommandFailed, RuntimeError), match="no_such_key"):
        apply_kernel(exec_, HostReport("x", NS))


def test_files_outside_the_namespace_etc_are_refused(node: tuple) -> None:
    exec_, _ = node
    with pytest.raises(ValueError, match="would change this machine"):
        run_step(exec_, "ssh", Step(files=(RenderedFile("/etc/ssh/sshd_config.d/x.conf", "Port 2222\n"),)))
    with pytest.raises(ValueError):
        netns_etc_path(NS, "/usr/local/bin/x")


def test_installed_files_land_in_the_namespace_only(node: tuple) -> None:
    exec_, _ = node
    run_step(exec_, "probe", Step(files=(RenderedFile("/etc/kubev6/probe.txt", "only here\n"),)))
    assert exec_.run(["cat", "/etc/kubev6/probe.txt"]).stdout == "only here\n"
    assert netns_etc_path(NS, "/etc/kubev6/probe.txt").read_text() == "only here\n"
    assert run(["cat", "/etc/kubev6/probe.txt"], check=False).returncode != 0


def test_a_steps_delete_returns_the_host_to_before_it_ran(node: tuple) -> None:
    exec_, _ = node
    plan = make_plan(load_stack_file("lab").cluster)
    minion = plan.minions[0]
    before = host_snapshot(exec_)
    [(name, step)] = [(n, s) for n, s in host_steps(plan, minion) if n == "cni-conflist"]
    assert run_step(exec_, name, step) == [CNI_CONFLIST_PATH]
    # Its activate ran too: the plugin links, in the node's private /opt/cni/bin.
    assert exec_.run(["readlink", "/opt/cni/bin/bridge"]).stdout.strip() == "/usr/lib/cni/bridge"
    assert diff(before, host_snapshot(exec_))
    # The network step never ran here: only the CNI step's delete runs.
    assert unconfigure_host(plan, minion, exec_) == ([f"{minion.name}-cni-conflist"], [])
    assert diff(before, host_snapshot(exec_)) == []
