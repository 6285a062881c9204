"""Throughput of the lab's data plane (a script, not a test): `python benchmarks/lab_throughput.py [--stack lab]`.

From one lab run, with iperf3 (`-t 3`, lab addresses only):
- pod-to-pod TCP across minions, as a ratio of node-to-node TCP (the cost of the pod hop: veth + bridge);
- NAT64 TCP (a pod -> the IPv4-only host through the NAT64 prefix: TAYGA in user space + NAT44), as a
  ratio of direct IPv4 from the gateway to the same host.
All on one machine's veths, so the figures compare paths; they are not link speeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.commons.shell import HostExec
from harness.netlab.checks import nat64_address
from harness.netlab.internet import wait_listening
from harness.netlab.preflight import LabRefused, lab_plan
from harness.netlab.session import Lab, lab_session
from harness.netlab.topology import INTERNET_WEB
from planning.plan import ClusterPlan

PORT = 5201
SECONDS = 3


def iperf(lab: Lab, name: str, server: HostExec, bind: str, client: HostExec, target: str) -> float:
    """Bits per second received by the server in one `iperf3 -t 3` run."""
    pid = server.popen(["iperf3", "-s", "-1", "-B", bind, "-p", str(PORT)], lab.state.log_path(f"iperf-{name}"))
    lab.state.record_pid(f"iperf-{name}", pid)
    wait_listening(server, "tcp", bind, PORT, 10)
    res = client.run(
        ["iperf3", "-c", target, "-p", str(PORT), "-t", str(SECONDS), "-J"], timeout=SECONDS + 30, what=name
    )
    return float(json.loads(res.stdout)["end"]["sum_received"]["bits_per_second"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="lab")
    args = parser.parse_args()
    try:
        return measure(args.stack, lab_plan(args.stack))
    except LabRefused as exc:
        print(f"lab_throughput: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab_throughput: interrupted; the lab was torn down", file=sys.stderr)
        return 130


def measure(stack: str, plan: ClusterPlan) -> int:
    start = time.monotonic()
    with lab_session(stack, plan=plan) as lab:
        m1, m2 = lab.plan.minions[0], lab.plan.minions[1]
        p1 = next(p for p in lab.pods if p.node.name == m1.name)
        p2 = next(p for p in lab.pods if p.node.name == m2.name)
        node = iperf(lab, "node-to-node", lab.execs[m2.name], str(m2.address), lab.execs[m1.name], str(m2.address))
        pod = iperf(lab, "pod-to-pod", p2.exec, str(p2.address), p1.exec, str(p2.address))
        inet = lab.topology.internet()
        web = str(INTERNET_WEB)
        direct = iperf(lab, "ipv4-direct", inet, web, lab.execs[lab.plan.gateway.name], web)
        via64 = str(nat64_address(lab.plan.nat64_prefix, INTERNET_WEB))
        nat64 = iperf(lab, "nat64", inet, web, p1.exec, via64)
    gbit = 1e9
    total = time.monotonic() - start
    print(f"\nlab throughput ({stack}, iperf3 -t {SECONDS}, one TCP stream, {total:.1f}s with lab up/down)")
    print(f"  node-to-node  {m1.name} -> {m2.name}: {node / gbit:8.2f} Gbit/s")
    print(f"  pod-to-pod    {p1.name} -> {p2.name}: {pod / gbit:8.2f} Gbit/s  ratio {pod / node:.2f} of node-to-node")
    print(f"  IPv4 direct   gateway -> {web}: {direct / gbit:8.2f} Gbit/s")
    print(f"  NAT64         {p1.name} -> [{via64}]: {nat64 / gbit:8.2f} Gbit/s  ratio {nat64 / direct:.3f} of IPv4")
    return 0


if __name__ == "__main__":
    sys.exit(main())
