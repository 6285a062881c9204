"""Step 4: checks of the running lab. Each returns a `CheckResult`; a failure names the
namespace, the command and its output.

Connectivity probes carry a hop limit: the node network is one segment, so a pod reaches a pod
on another node through exactly two routers (its node, then the peer's node) and a node or pod
reaches a node address or a pod of that node through one. A missing route on a node does not
always break reachability (the node's default route points to the gateway, which forwards the
packet on: a detour); with the hop limit, a detour fails with "time exceeded" from the router
on the detour, and the check explains the path the rendered routes give.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import netaddr

from harness.commons import checks as shared
from harness.commons.checks import CheckResult, Failure, OnHost, nat64_address
from harness.commons.shell import CommandResult, HostExec
from harness.netlab.internet import TEST_NAME
from harness.netlab.pods import POD_PORT, Pod
from harness.netlab.topology import INTERNET_WEB
from planning.plan import ClusterPlan, HostPlan

PROBE = Path(__file__).with_name("probe.py")


class LabView(Protocol):
    """What these checks need of a running lab (a `harness.netlab.session.Lab` is one): the plan it
    runs, a way into each host and pod, the page the IPv4 internet serves, and a stranger."""

    @property
    def plan(self) -> ClusterPlan: ...

    @property
    def execs(self) -> Mapping[str, HostExec]: ...

    @property
    def pods(self) -> Sequence[Pod]: ...

    @property
    def internet_token(self) -> str: ...

    def stranger(self) -> HostExec: ...


def on_host(name: str, exec_: HostExec) -> OnHost:
    """A lab host (or pod) as the shared checks see it."""
    return OnHost(name, lambda command: exec_.sh(command, check=False))


# --- helpers -------------------------------------------------------------------------------


def probe(exec_: HostExec, tasks: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], CommandResult]:
    """Run probe.py (next to this file) inside the namespace."""
    result = exec_.run([sys.executable, "-I", str(PROBE)], input=json.dumps(list(tasks)), check=False, timeout=60)
    try:
        out = json.loads(result.stdout)
    except json.JSONDecodeError:
        out = [{"ok": False, "detail": f"probe crashed: {result.stderr.strip()[-500:]}"}] * len(tasks)
    return out, result


def _lpm(host: HostPlan, dst: netaddr.IPAddress) -> netaddr.IPNetwork | None:
    best = None
    for r in host.routes:
        if dst in r.destination and (best is None or r.destination.prefixlen > best.destination.prefixlen):
            best = r
    return best


def planned_path(plan: ClusterPlan, start: HostPlan, dst: netaddr.IPAddress) -> list[str]:
    """The routers after `start` a packet to `dst` crosses under the plan's routes (for messages)."""
    by_address = {h.address: h for h in plan.hosts}
    path: list[str] = []
    cur = start
    for _ in range(len(plan.hosts) + 1):
        if dst == cur.address or (cur.pod_subnet is not None and dst in cur.pod_subnet):
            return path
        if dst in plan.node_prefix:
            return path
        route = _lpm(cur, dst)
        if route is None or route.via not in by_address:
            return [*path, f"(no route on {cur.name})"]
        cur = by_address[route.via]
        path.append(cur.name)
    return [*path, "(loop)"]


@dataclass(frozen=True)
class Target:
    label: str
    address: netaddr.IPAddress
    expect: str  # text the HTTP answer must contain
    port: int = POD_PORT


@dataclass(frozen=True)
class Source:
    label: str
    exec: HostExec
    origin: HostPlan  # the node the packet starts from (a pod's node, or the node itself)
    is_pod: bool


def _connectivity(lab: LabView, name: str, pairs: list[tuple[Source, Target, int, str]]) -> CheckResult:
    """ICMP echo and an HTTP GET for each (source, target, hop limit, expected path) pair."""
    check = CheckResult(name)
    by_source: dict[str, list[tuple[Source, Target, int, str]]] = {}
    for pair in pairs:
        by_source.setdefault(pair[0].exec.namespace, []).append(pair)

    def run_source(items: list[tuple[Source, Target, int, str]]) -> list[tuple[Any, ...]]:
        tasks = []
        for _, target, hops, _ in items:
            tasks.append({"kind": "icmp", "dst": str(target.address), "hops": hops})
            tasks.append(
                {"kind": "http", "dst": str(target.address), "port": target.port, "hops": hops, "expect": target.expect}
            )
        results, cmd = probe(items[0][0].exec, tasks)
        retry = [i for i in range(len(items)) if not (results[2 * i]["ok"] and results[2 * i + 1]["ok"])]
        unbounded: dict[int, list[dict[str, Any]]] = {}
        if retry:  # classify: unreachable, or reachable only over a longer path?
            again = []
            for i in retry:
                again += [{**tasks[2 * i], "hops": None}, {**tasks[2 * i + 1], "hops": None}]
            res2, _ = probe(items[0][0].exec, again)
            for k, i in enumerate(retry):
                unbounded[i] = res2[2 * k : 2 * k + 2]
        return [(item, results[2 * i : 2 * i + 2], unbounded.get(i), cmd) for i, item in enumerate(items)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [o for chunk in pool.map(run_source, by_source.values()) for o in chunk]
    passed = 0
    for (source, target, hops, expected), (icmp, http), unbounded, cmd in outcomes:
        if icmp["ok"] and http["ok"]:
            passed += 1
            continue
        kinds = [k for k, r in (("ICMP", icmp), ("TCP", http)) if not r["ok"]]
        why = f"ICMP: {icmp['detail']}; TCP: {http['detail']}"
        actual = planned_path(lab.plan, source.origin, target.address)
        if unbounded is not None and all(r["ok"] for r in unbounded):
            verdict = (
                f"reachable only over a longer path than the {hops - 1} router(s) expected ({expected}); "
                f"the rendered routes send it {' -> '.join([source.origin.name, *actual])} -> {target.address}"
            )
        else:
            verdict = "unreachable"
            if unbounded is not None:
                verdict += f" (without hop limit: ICMP: {unbounded[0]['detail']}; TCP: {unbounded[1]['detail']})"
        check.fail(
            Failure(
                f"{source.label} cannot reach {target.label} ({'/'.join(kinds)}, hop limit {hops}): {verdict}",
                source.exec.namespace,
                f"{' '.join(cmd.argv[:3])} <<< icmp+http to [{target.address}]:{target.port} hops={hops}",
                why,
            )
        )
    check.summary = f"{passed}/{len(outcomes)} source->target pairs answered ICMP and TCP within the hop limit"
    check.details["pairs"] = len(outcomes)
    return check


def _pod_source(pod: Pod) -> Source:
    return Source(pod.label, pod.exec, pod.node, True)


def _pod_target(pod: Pod) -> Target:
    return Target(pod.label, pod.address, f"kv6lab-pod {pod.name}")


# --- the checks ----------------------------------------------------------------------------


def pod_to_pod_across_nodes(lab: LabView) -> CheckResult:
    """Every pod reaches every pod on the other minions, directly: its node, then the peer's node."""
    pairs = [
        (_pod_source(a), _pod_target(b), 3, f"{a.node.name} -> {b.node.name}")
        for a in lab.pods
        for b in lab.pods
        if a.node.role == "minion" and b.node.role == "minion" and a.node.name != b.node.name
    ]
    return _connectivity(lab, "pod_to_pod_across_minions", pairs)


def pod_to_master(lab: LabView) -> CheckResult:
    m = lab.plan.master
    target = Target(f"master {m.name} ({m.address})", m.address, f"kv6lab-node {m.name}")
    pairs = [(_pod_source(p), target, 2, f"{p.node.name} -> {m.name}") for p in lab.pods if p.node.name != m.name]
    return _connectivity(lab, "pod_to_master", pairs)


def master_to_pods(lab: LabView) -> CheckResult:
    m = lab.plan.master
    source = Source(f"master {m.name} ({m.address})", lab.execs[m.name], m, False)
    pairs = [(source, _pod_target(p), 2, f"{m.name} -> {p.node.name}") for p in lab.pods if p.node.name != m.name]
    return _connectivity(lab, "master_to_pods", pairs)


def dns64_nat64_fetch(lab: LabView) -> CheckResult:
    """A pod resolves the A-only name to the NAT64 prefix (DNS64) and fetches the page by name (NAT64)."""
    check = CheckResult("dns64_nat64_fetch")
    expected = nat64_address(lab.plan.nat64_prefix, INTERNET_WEB)
    pods = list({p.node.name: p for p in reversed(lab.pods)}.values())  # first pod of each node

    def one(pod: Pod) -> None:
        res = pod.exec.run(["getent", "ahostsv6", TEST_NAME], check=False, timeout=15)
        addrs = sorted({line.split()[0] for line in res.stdout.splitlines() if line.strip()})
        if not res.ok or addrs != [str(expected)]:
            check.fail_command(
                f"{pod.label}: {TEST_NAME} should resolve to {expected} only (DNS64 via {lab.plan.gateway.address}), "
                f"got {addrs or 'nothing'}",
                res,
            )
            return
        res = pod.exec.run(
            ["curl", "-sS", "--max-time", "5", "-w", "\n%{http_code} %{remote_ip}", f"http://{TEST_NAME}/"],
            check=False,
            timeout=15,
        )
        body, _, tail = res.stdout.rpartition("\n")
        code, _, remote = tail.partition(" ")
        if not res.ok or code != "200" or lab.internet_token not in body or remote != str(expected):
            check.fail_command(
                f"{pod.label}: fetching http://{TEST_NAME}/ should return 200 with {lab.internet_token!r} "
                f"from {expected}; got code {code or '-'} from {remote or '-'}",
                res,
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, pods))
    check.summary = (
        f"{len(pods) - len(check.failures)}/{len(pods)} pods resolved {TEST_NAME} to {expected} and fetched it"
    )
    check.details["synthesized"] = str(expected)
    return check


def no_node_ipv4(lab: LabView) -> CheckResult:
    """IPv6-only: no node or pod has an IPv4 address (but loopback's) or an IPv4 route."""
    check = CheckResult("no_ipv4_on_nodes_and_pods")
    subjects = [(n.name, lab.execs[n.name]) for n in lab.plan.nodes] + [(p.name, p.exec) for p in lab.pods]
    for label, exec_ in subjects:
        shared.no_ipv4(check, on_host(label, exec_))
    check.summary = f"{len(subjects)} nodes and pods checked; {len(check.failures)} problem(s)"
    return check


def nat64_guard(lab: LabView) -> CheckResult:
    """A source outside the cluster's prefixes cannot use the translator, and it is the guard that stops it."""
    gw = lab.plan.gateway
    target = nat64_address(lab.plan.nat64_prefix, INTERNET_WEB)
    return shared.nat64_guard(
        on_host(gw.name, lab.execs[gw.name]), on_host("stranger", lab.stranger()), f"http://[{target}]/"
    )


def routes_complete(lab: LabView) -> CheckResult:
    """Every host's kernel routing table holds every rendered route (`routes.sh show`) and the rendered
    routes are the plan's; no other route points at a next hop."""
    check = CheckResult("rendered_routes_installed")
    total = sum(
        shared.routes_as_rendered(check, h, on_host(h.name, lab.execs[h.name]), lab.plan.cluster_interface)
        for h in lab.plan.hosts
    )
    check.summary = f"{total} rendered routes on {len(lab.plan.hosts)} hosts compared with the kernel tables"
    return check


def sysctls_applied(lab: LabView) -> CheckResult:
    """Every key of each host's rendered sysctl file has its value in that host's namespace."""
    check = CheckResult("rendered_sysctls_applied")
    count = sum(shared.sysctls_as_rendered(check, h, on_host(h.name, lab.execs[h.name])) for h in lab.plan.hosts)
    check.summary = f"{count} keys on {len(lab.plan.hosts)} hosts"
    return check


ALL_CHECKS: dict[str, Callable[[LabView], CheckResult]] = {
    "pod_to_pod": pod_to_pod_across_nodes,
    "pod_to_master": pod_to_master,
    "master_to_pods": master_to_pods,
    "dns64_nat64": dns64_nat64_fetch,
    "no_ipv4": no_node_ipv4,
    "nat64_guard": nat64_guard,
    "routes": routes_complete,
    "sysctls": sysctls_applied,
}


def run_check(lab: LabView, name: str) -> CheckResult:
    start = time.monotonic()
    try:
        result = ALL_CHECKS[name](lab)
    except Exception as exc:  # a crashing check is a failing check, with the reason
        result = CheckResult(name, ok=False, summary=f"check crashed: {type(exc).__name__}")
        result.failures.append(Failure(str(exc)))
    result.seconds = time.monotonic() - start
    return result


def run_checks(lab: LabView, names: Sequence[str] | None = None) -> list[CheckResult]:
    return [run_check(lab, n) for n in (names or list(ALL_CHECKS))]
