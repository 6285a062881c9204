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
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import netaddr

from lab.internet import TEST_NAME
from lab.pods import POD_PORT, Pod
from lab.shell import CommandResult, HostExec
from lab.topology import INTERNET_WEB
from planning.plan import ClusterPlan, HostPlan
from rendering import gateway, host_network

if TYPE_CHECKING:
    from lab.session import Lab

PROBE = Path(__file__).with_name("probe.py")


@dataclass(frozen=True)
class Failure:
    message: str
    namespace: str | None = None
    command: str = ""
    output: str = ""

    def describe(self) -> str:
        lines = [f"- {self.message}"]
        if self.command:
            lines.append(f"    namespace: {self.namespace or '(root)'}\n    command:   {self.command}")
        if self.output.strip():
            lines.append("    output:    " + self.output.strip().replace("\n", "\n               "))
        return "\n".join(lines)


@dataclass
class CheckResult:
    name: str
    ok: bool = True
    summary: str = ""
    failures: list[Failure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, failure: Failure) -> None:
        self.ok = False
        self.failures.append(failure)

    def fail_command(self, message: str, result: CommandResult) -> None:
        self.fail(Failure(message, result.namespace, " ".join(result.argv), (result.stdout + result.stderr)))

    def report(self) -> str:
        head = f"[{'PASS' if self.ok else 'FAIL'}] {self.name} ({self.seconds:.2f}s): {self.summary}"
        return "\n".join([head, *(f.describe() for f in self.failures)])


# --- helpers -------------------------------------------------------------------------------


def timed_check(name: str, body: Callable[[CheckResult], None]) -> CheckResult:
    """Run `body` on a fresh result; an exception is a failure that names itself, not a crash."""
    result = CheckResult(name)
    start = time.monotonic()
    try:
        body(result)
    except Exception as exc:
        result.fail(Failure(f"{type(exc).__name__}: {exc}"))
    result.seconds = time.monotonic() - start
    return result


def nat64_address(prefix: netaddr.IPNetwork, v4: netaddr.IPAddress) -> netaddr.IPAddress:
    """RFC 6052 address of `v4` in `prefix` (/32, /40, /48, /56, /64 or /96)."""
    plen = prefix.prefixlen
    if plen == 96:
        return netaddr.IPAddress(int(prefix.network) | int(v4), 6)
    if plen not in (32, 40, 48, 56, 64):
        raise ValueError(f"{prefix}: not an RFC 6052 prefix length")
    octets = list(int(prefix.network).to_bytes(16, "big"))
    v4b = list(int(v4).to_bytes(4, "big"))
    positions = [i for i in range(plen // 8, 16) if i != 8][:4]  # bits 64..71 (the u octet) stay zero
    for pos, b in zip(positions, v4b, strict=True):
        octets[pos] = b
    return netaddr.IPAddress(int.from_bytes(bytes(octets), "big"), 6)


def probe(exec_: HostExec, tasks: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], CommandResult]:
    """Run lab/probe.py inside the namespace."""
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


def _connectivity(lab: Lab, name: str, pairs: list[tuple[Source, Target, int, str]]) -> CheckResult:
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


def pod_to_pod_across_nodes(lab: Lab) -> CheckResult:
    """Every pod reaches every pod on the other minions, directly: its node, then the peer's node."""
    pairs = [
        (_pod_source(a), _pod_target(b), 3, f"{a.node.name} -> {b.node.name}")
        for a in lab.pods
        for b in lab.pods
        if a.node.role == "minion" and b.node.role == "minion" and a.node.name != b.node.name
    ]
    return _connectivity(lab, "pod_to_pod_across_minions", pairs)


def pod_to_master(lab: Lab) -> CheckResult:
    m = lab.plan.master
    target = Target(f"master {m.name} ({m.address})", m.address, f"kv6lab-node {m.name}")
    pairs = [(_pod_source(p), target, 2, f"{p.node.name} -> {m.name}") for p in lab.pods if p.node.name != m.name]
    return _connectivity(lab, "pod_to_master", pairs)


def master_to_pods(lab: Lab) -> CheckResult:
    m = lab.plan.master
    source = Source(f"master {m.name} ({m.address})", lab.execs[m.name], m, False)
    pairs = [(source, _pod_target(p), 2, f"{m.name} -> {p.node.name}") for p in lab.pods if p.node.name != m.name]
    return _connectivity(lab, "master_to_pods", pairs)


def dns64_nat64_fetch(lab: Lab) -> CheckResult:
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


def no_node_ipv4(lab: Lab) -> CheckResult:
    """IPv6-only: no node or pod has a global IPv4 address or an IPv4 default route."""
    check = CheckResult("no_ipv4_on_nodes_and_pods")
    subjects = [(n.name, lab.execs[n.name]) for n in lab.plan.nodes] + [(p.name, p.exec) for p in lab.pods]
    for label, exec_ in subjects:
        addr = exec_.run(["ip", "-4", "-j", "addr", "show"])
        bad = [
            f"{a['local']}/{a['prefixlen']} on {link['ifname']}"
            for link in json.loads(addr.stdout or "[]")
            for a in link.get("addr_info", [])
            if a.get("scope") != "host"
        ]
        if bad:
            check.fail_command(f"{label} has IPv4 address(es) {', '.join(bad)}", addr)
        route = exec_.run(["ip", "-4", "-j", "route", "show", "default"])
        if json.loads(route.stdout or "[]"):
            check.fail_command(f"{label} has an IPv4 default route", route)
    check.summary = f"{len(subjects)} nodes and pods checked; {len(check.failures)} problem(s)"
    return check


def _guard_counter(gw: HostExec) -> tuple[int, CommandResult]:
    res = gw.run(["nft", "-j", "list", "chain", "inet", gateway.NFT_GUARD_TABLE, "guard"])
    packets = 0
    for item in json.loads(res.stdout).get("nftables", []):
        exprs = item.get("rule", {}).get("expr", [])
        if any("drop" in e for e in exprs):
            packets += sum(e["counter"]["packets"] for e in exprs if "counter" in e)
    return packets, res


def _tun_tx(gw: HostExec) -> int:
    res = gw.run(["ip", "-j", "-s", "link", "show", gateway.TAYGA_DEVICE])
    return int(json.loads(res.stdout)[0]["stats64"]["tx"]["packets"])


def nat64_guard(lab: Lab) -> CheckResult:
    """A source outside the cluster's prefixes cannot use the translator, and it is the guard that stops it."""
    check = CheckResult("nat64_guard_drops_strangers")
    gw = lab.execs[lab.plan.gateway.name]
    target = nat64_address(lab.plan.nat64_prefix, INTERNET_WEB)
    before, _ = _guard_counter(gw)
    tun_before = _tun_tx(gw)
    fetch = lab.topology.stranger().run(
        ["curl", "-sS", "--max-time", "2", "-g", f"http://[{target}]/"], check=False, timeout=10
    )
    after, listing = _guard_counter(gw)
    tun_after = _tun_tx(gw)
    if fetch.ok:
        check.fail_command(
            f"the stranger fetched http://[{target}]/ through NAT64: the translator is an open relay", fetch
        )
    if after <= before:
        check.fail_command(
            f"the guard counter did not increase ({before} -> {after}): the stranger's fetch failed for another reason",
            listing,
        )
    if tun_after != tun_before:
        check.fail(
            Failure(
                f"{tun_after - tun_before} packet(s) entered the translator ({gateway.TAYGA_DEVICE}) during the fetch"
            )
        )
    check.summary = (
        f"stranger fetch failed ({fetch.stderr.strip() or fetch.returncode}); "
        f"guard dropped {after - before} packet(s); translator saw {tun_after - tun_before}"
    )
    check.details.update(guard_before=before, guard_after=after)
    return check


_SHOW_LINE = re.compile(r"^(\S+) via (\S+)$")


def routes_complete(lab: Lab) -> CheckResult:
    """Every host's kernel routing table holds every rendered route (`routes.sh show`) and the rendered
    routes are the plan's; no other route points at a next hop."""
    check = CheckResult("rendered_routes_installed")
    dev = lab.plan.config.network.cluster_interface
    total = 0
    for host in lab.plan.hosts:
        exec_ = lab.execs[host.name]
        show = exec_.run([host_network.ROUTES_PATH, "show"])
        rendered = set()
        for line in show.stdout.splitlines():
            m = _SHOW_LINE.match(line.strip())
            if m:
                rendered.add((netaddr.IPNetwork(m.group(1)), netaddr.IPAddress(m.group(2))))
            elif line.strip():
                check.fail_command(f"{host.name}: unparsable line {line!r} in routes.sh show", show)
        planned = {(r.destination, r.via) for r in host.routes}
        if rendered != planned:
            check.fail_command(
                f"{host.name}: routes.sh differs from the plan: missing {sorted(map(str, planned - rendered))}, "
                f"extra {sorted(map(str, rendered - planned))}",
                show,
            )
        table = exec_.run(["ip", "-6", "-j", "route", "show", "table", "main"])
        kernel = {}
        for r in json.loads(table.stdout or "[]"):
            dst = netaddr.IPNetwork("::/0" if r["dst"] == "default" else r["dst"])
            if "gateway" in r:
                kernel[dst] = (netaddr.IPAddress(r["gateway"]), r.get("dev"))
        for dst, via in sorted(rendered):
            total += 1
            got = kernel.get(dst)
            if got is None:
                check.fail_command(f"{host.name}: rendered route {dst} via {via} is not in the kernel table", table)
            elif got != (via, dev):
                check.fail_command(
                    f"{host.name}: {dst} is via {got[0]} dev {got[1]}, rendered via {via} dev {dev}", table
                )
        for dst, (via, d) in kernel.items():
            if (dst, via) not in rendered:
                check.fail_command(f"{host.name}: unexpected route {dst} via {via} dev {d} (not rendered)", table)
    check.summary = f"{total} rendered routes on {len(lab.plan.hosts)} hosts compared with the kernel tables"
    return check


def sysctls_applied(lab: Lab) -> CheckResult:
    """Every key of each host's rendered sysctl file has its value in that host's namespace."""
    check = CheckResult("rendered_sysctls_applied")
    count = 0
    for host in lab.plan.hosts:
        wanted = host_network.sysctls(host)
        res = lab.execs[host.name].run(["sysctl", *wanted], check=False)
        got = dict(line.split(" = ", 1) for line in res.stdout.splitlines() if " = " in line)
        for key, value in wanted.items():
            count += 1
            if got.get(key) != value:
                check.fail_command(f"{host.name}: {key} is {got.get(key)!r}, rendered {value!r}", res)
    check.summary = f"{count} keys on {len(lab.plan.hosts)} hosts"
    return check


ALL_CHECKS: dict[str, Callable[[Lab], CheckResult]] = {
    "pod_to_pod": pod_to_pod_across_nodes,
    "pod_to_master": pod_to_master,
    "master_to_pods": master_to_pods,
    "dns64_nat64": dns64_nat64_fetch,
    "no_ipv4": no_node_ipv4,
    "nat64_guard": nat64_guard,
    "routes": routes_complete,
    "sysctls": sysctls_applied,
}


def run_check(lab: Lab, name: str) -> CheckResult:
    start = time.monotonic()
    try:
        result = ALL_CHECKS[name](lab)
    except Exception as exc:  # a crashing check is a failing check, with the reason
        result = CheckResult(name, ok=False, summary=f"check crashed: {type(exc).__name__}")
        result.failures.append(Failure(str(exc)))
    result.seconds = time.monotonic() - start
    return result


def run_checks(lab: Lab, names: Sequence[str] | None = None) -> list[CheckResult]:
    return [run_check(lab, n) for n in (names or list(ALL_CHECKS))]
