"""The optional root-access veth: only with network.localBridge, removed again on teardown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.commons.shell import HostExec
from harness.netlab.checks import probe
from harness.netlab.instance import INSTANCE_ENV, current_instance
from harness.netlab.session import Lab, lab_session

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def root_state() -> tuple[str, str]:
    links = subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "-6", "route"], capture_output=True, text=True, check=True).stdout
    return links, routes


def test_root_access_reaches_the_nodes_and_goes_away() -> None:
    before = root_state()
    with lab_session("lab", root_access=True, pods_per_minion=0, pods_on_master=0, log=lambda m: None) as lab:
        bridge = lab.plan.local_bridge
        assert bridge is not None
        links, routes = root_state()
        assert f"{lab.plan.node_prefix[1]}/64" in links and bridge in links
        assert "default via fd00::1 dev eth0" in routes  # the machine's own route is untouched
        # This test runs in the root namespace: reach the master's HTTP server over the veth.
        with socket.create_connection((str(lab.plan.master.address), 8080), timeout=3) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert b"kv6lab-node" in b"".join(iter(lambda: conn.recv(4096), b""))
        [answer], _ = probe(
            HostExec(lab.names.host_ns(lab.plan.master)), [{"kind": "icmp", "dst": str(lab.plan.node_prefix[1])}]
        )
        assert answer["ok"], answer
    links, routes = root_state()
    assert bridge not in links and str(lab.plan.node_prefix) not in routes
    assert links.count("\n") == before[0].count("\n") and before[1] == routes


def test_root_access_refused_without_local_bridge() -> None:
    with pytest.raises(ValueError, match="localBridge"):
        Lab("dev", root_access=True).topology.validate()


def other_instance() -> str:
    """Another instance than this test run's: stands for the operator's lab of the same stack."""
    mine = current_instance()
    return (mine[:1] or "o") + ("p" if mine[1:] == "o" else "o")


def node_page(address: object) -> bytes:
    with socket.create_connection((str(address), 8080), timeout=3) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return b"".join(iter(lambda: conn.recv(4096), b""))


def test_two_labs_of_one_stack_run_side_by_side_each_with_its_root_access() -> None:
    """The scripts/k8s-lab.sh up + tests case: a lab of `lab` left running, this run's beside it."""
    other = Lab("lab", instance=other_instance())
    env = {**os.environ, INSTANCE_ENV: other.instance}
    lab_cmd = [sys.executable, "-m", "harness.netlab"]
    up = subprocess.run([*lab_cmd, "up", "--root-access", "--stack", "lab"], cwd=ROOT, env=env, capture_output=True)
    try:
        assert up.returncode == 0, up.stderr
        with lab_session("lab", root_access=True, pods_per_minion=0, pods_on_master=0, log=lambda m: None) as lab:
            assert lab.names.prefix != other.names.prefix
            links, _ = root_state()
            for each in (lab, other):
                assert f"{each.plan.local_bridge}@" in links
                assert b"kv6lab-node" in node_page(each.plan.master.address)
        assert b"kv6lab-node" in node_page(other.plan.master.address), "our teardown broke the other lab"
    finally:
        down = subprocess.run([*lab_cmd, "down", "--stack", "lab"], cwd=ROOT, env=env, capture_output=True)
    assert down.returncode == 0, down.stderr
    links, routes = root_state()
    assert f"{other.plan.local_bridge}@" not in links and str(other.plan.node_prefix) not in routes
