"""The optional root-access veth: only with network.localBridge, removed again on teardown."""

from __future__ import annotations

import socket
import subprocess

import pytest

from lab.checks import probe
from lab.session import Lab, lab_session
from lab.shell import HostExec

pytestmark = pytest.mark.lab


def root_state() -> tuple[str, str]:
    links = subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "-6", "route"], capture_output=True, text=True, check=True).stdout
    return links, routes


def test_root_access_reaches_the_nodes_and_goes_away() -> None:
    before = root_state()
    with lab_session("lab", root_access=True, pods_per_minion=0, pods_on_master=0, log=lambda m: None) as lab:
        bridge = lab.plan.config.network.local_bridge
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
