"""Kubernetes lab figures (a script, not a test): `sudo .venv/bin/python benchmarks/k8s_figures.py [--cold]`.

- the artifact build, cached (and cold with --cold: `build-artifacts.sh --rebuild`, tens of minutes);
- `pulumi up` of `lab-k8s` split into phases (hosts, node preparation, kubeadm init, joins, workloads),
  each the span from its first resource's start to its last one's end, and the critical path (the
  slowest chain of dependent resources, from the state's dependencies and each step's duration)
  as a ratio of the whole `up`: near 1.0 means the chain, not the parallel work, sets the time;
- the no-change `up`;
- pod-to-pod TCP across nodes (iperf3 in the echo pods' network namespaces) as a ratio of node-to-node.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.benchmarks.lab_throughput import iperf
from harness.commons.engine import OpResult, engine_env
from harness.commons.shell import HostExec
from harness.enginelab.engine_lab import engine_lab_session
from harness.netlab.k8s_machine import cgroup_root_pids

ROOT = Path(__file__).resolve().parents[2]
STACK = "lab-k8s"


@dataclass(frozen=True)
class PodNet(HostExec):
    """Commands in the network namespace of a pod's process (found by the node's cgroup root)."""

    pid: int = 0

    def argv(self, command: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", *command]


def phase_of(name: str) -> str:
    if name.startswith(("checks-", "kubev6-checks")):
        return "workloads"
    if name.endswith("-join"):
        return "joins"
    if name.startswith("kubeadm-master"):
        return "kubeadm init"
    if name.endswith("-network"):
        return "hosts (network)"
    return "node preparation"


def _is_step(urn: str) -> bool:
    """A resource that does work: not the stack, a provider or a component (their spans cover children)."""
    kind = urn.split("::")[-2].rsplit("$", 1)[-1]
    return not kind.startswith(("pulumi:pulumi:Stack", "pulumi:providers:", "kubev6:index:"))


def durations(up: OpResult) -> dict[str, tuple[float, float]]:
    """URN -> (start, end) seconds into the operation, for the resources that do work."""
    spans: dict[str, list[float]] = {}
    for t, kind, _, urn in up.timeline:
        if not _is_step(urn):
            continue
        span = spans.setdefault(urn, [t, t])
        if kind == "start":
            span[0] = t
        else:
            span[1] = t
    return {urn: (a, b) for urn, (a, b) in spans.items()}


def critical_path(export: dict, spans: dict[str, tuple[float, float]]) -> tuple[float, list[str]]:
    deps = {r["urn"]: [d for d in r.get("dependencies", []) if d in spans] for r in export["deployment"]["resources"]}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(urn: str) -> tuple[float, list[str]]:
        if urn not in best:
            own = spans[urn][1] - spans[urn][0]
            chains = [longest(d) for d in deps.get(urn, [])]
            before = max(chains, default=(0.0, []))
            best[urn] = (before[0] + own, [*before[1], urn.rsplit("::", 1)[-1]])
        return best[urn]

    return max((longest(u) for u in spans), default=(0.0, []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", action="store_true", help="rebuild the artifacts from scratch first (slow)")
    args = parser.parse_args()
    for label, extra in ([("cold", ["--rebuild"])] if args.cold else []) + [("cached", [])]:
        start = time.monotonic()
        subprocess.run(["bash", str(ROOT / "scripts" / "build-artifacts.sh"), *extra], check=True, capture_output=True)
        print(f"artifact build ({label}): {time.monotonic() - start:.1f}s")

    with tempfile.TemporaryDirectory(prefix="kv6-k8s-bench-") as tmp:
        env = engine_env(Path(tmp) / "state", passphrase="benchmark")
        with engine_lab_session(STACK, env, Path(tmp) / STACK, log=lambda m: None) as lab:
            assert lab.run is not None
            hosts = lab.lab.timings.phases
            print(f"hosts up (namespaces, sshd): {hosts.get('topology', 0) + hosts.get('sshd', 0):.1f}s")
            up = lab.pulumi_up()
            spans = durations(up)
            print(f"pulumi up: {up.seconds:.1f}s ({sum(up.changes.values())} resources)")
            phases: dict[str, list[float]] = {}
            for urn, (a, b) in spans.items():
                ph = phases.setdefault(phase_of(urn.rsplit("::", 1)[-1]), [a, b])
                ph[0], ph[1] = min(ph[0], a), max(ph[1], b)
            for name, (a, b) in sorted(phases.items(), key=lambda kv: kv[1][0]):
                print(f"  {name:<18} {a:6.1f}s -> {b:6.1f}s  ({b - a:.1f}s)")
            length, chain = critical_path(json.loads(lab.run.export()), spans)
            print(f"critical path {length:.1f}s = {length / up.seconds:.2f} of the up: {' -> '.join(chain)}")
            noop = lab.run.up()
            print(f"no-change up: {noop.seconds:.1f}s ({noop.changes})")

            plan = lab.lab.plan
            m1, m2 = plan.minions[0], plan.minions[1]
            node = iperf(lab.lab, "node-to-node", lab.lab.execs[m2.name], str(m2.address), lab.lab.execs[m1.name],
                         str(m2.address))  # fmt: skip
            pods = {}
            for minion in (m1, m2):
                root = plan.kubeadm.cgroup_root(minion.name).lstrip("/")
                pids = [p for p in cgroup_root_pids(root) if _comm(p) == "agnhost"]
                pods[minion.name] = pids[0]
            server = PodNet("pod-on-" + m2.name, pid=pods[m2.name])
            client = PodNet("pod-on-" + m1.name, pid=pods[m1.name])
            pod_ip = server.run(["ip", "-6", "-o", "addr", "show", "eth0", "scope", "global"]).stdout.split()[3]
            pod_ip = pod_ip.split("/")[0]
            pod = iperf(lab.lab, "pod-to-pod", server, pod_ip, client, pod_ip)
            print(f"node-to-node TCP {node / 1e9:.2f} Gbit/s; pod-to-pod across nodes {pod / 1e9:.2f} Gbit/s "
                  f"= {pod / node:.2f} of node-to-node")  # fmt: skip
        destroy = lab.lab.timings.phases.get("pulumi destroy", float("nan"))
        print(f"pulumi destroy: {destroy:.1f}s")
    return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
