"""Check results, and the checks every lab runs the same way, written once over a narrow context.

A shared check is given `OnHost`s (a host's name and a way to run one shell command there) and the
parts of the plan it compares against, never a lab session: the namespace lab (commands in a
namespace), the engine and Kubernetes labs (the namespace lab's checks on what Pulumi configured)
and the VM lab (commands over SSH) each pass their own. Each returns or fills a `CheckResult`; a
failure names the host, the command and its output.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import netaddr

from harness.commons.shell import CommandResult
from planning.plan import HostPlan
from rendering import gateway, host_network, layout


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


# --- the narrow context ----------------------------------------------------------------------


@dataclass(frozen=True)
class OnHost:
    """What a shared check needs of a host: its name and `sh`, which runs one shell command there
    and returns its result (a non-zero exit is a result, not an exception)."""

    name: str
    sh: Callable[[str], CommandResult]

    def must(self, command: str) -> CommandResult:
        res = self.sh(command)
        if not res.ok:
            raise RuntimeError(f"{self.name}: {res.describe()}")
        return res


# --- counters ----------------------------------------------------------------------------------


def guard_drops(gw: OnHost) -> tuple[int, CommandResult]:
    """Packets the gateway's NAT64 guard (nftables) has dropped so far, and the listing read."""
    res = gw.must(f"nft -j list chain inet {gateway.NFT_GUARD_TABLE} guard")
    packets = 0
    for item in json.loads(res.stdout).get("nftables", []):
        exprs = item.get("rule", {}).get("expr", [])
        if any("drop" in e for e in exprs):
            packets += sum(e["counter"]["packets"] for e in exprs if "counter" in e)
    return packets, res


def translator_packets(gw: OnHost) -> int:
    """Packets sent into TAYGA's device so far (what entered the translator)."""
    res = gw.must(f"ip -j -s link show {gateway.TAYGA_DEVICE}")
    return int(json.loads(res.stdout)[0]["stats64"]["tx"]["packets"])


# --- the shared checks -------------------------------------------------------------------------


def nat64_guard(gw: OnHost, stranger: OnHost, url: str) -> CheckResult:
    """A source outside the cluster's prefixes (`stranger`) cannot use the translator, and it is the
    guard that stops it: its fetch of `url` (an address in the NAT64 prefix) fails, the guard's drop
    counter rises and no packet enters the translator."""

    def run(check: CheckResult) -> None:
        before, _ = guard_drops(gw)
        tun_before = translator_packets(gw)
        fetch = stranger.sh(f"curl -sS --max-time 3 -g '{url}'")
        after, listing = guard_drops(gw)
        tun_after = translator_packets(gw)
        if fetch.ok:
            check.fail_command(f"the stranger fetched {url} through NAT64: the translator is an open relay", fetch)
        if after <= before:
            check.fail_command(
                f"the guard counter did not increase ({before} -> {after}): the stranger's fetch failed for "
                "another reason",
                listing,
            )
        if tun_after != tun_before:
            check.fail(
                Failure(
                    f"{tun_after - tun_before} packet(s) entered the translator ({gateway.TAYGA_DEVICE}) during "
                    "the fetch"
                )
            )
        check.summary = (
            f"stranger fetch failed ({fetch.stderr.strip() or fetch.returncode}); "
            f"guard dropped {after - before} packet(s); translator saw {tun_after - tun_before}"
        )
        check.details.update(guard_before=before, guard_after=after)

    return timed_check("nat64_guard_drops_strangers", run)


_SHOW_LINE = re.compile(r"^(\S+) via (\S+)$")


def routes_as_rendered(check: CheckResult, host: HostPlan, on: OnHost, dev: str) -> int:
    """`host`'s rendered routes (`routes.sh show`) are the plan's, every one is in the kernel's main
    table via `dev`, and no other route there points at a next hop. Returns how many were compared."""
    show = on.sh(f"{layout.ROUTES_PATH} show")
    if not show.ok:
        check.fail_command(f"{host.name}: routes.sh show failed", show)
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
    table = on.must("ip -6 -j route show table main")
    kernel = {}
    for r in json.loads(table.stdout or "[]"):
        dst = netaddr.IPNetwork("::/0" if r["dst"] == "default" else r["dst"])
        if "gateway" in r:
            kernel[dst] = (netaddr.IPAddress(r["gateway"]), r.get("dev"))
    for dst, via in sorted(rendered):
        got = kernel.get(dst)
        if got is None:
            check.fail_command(f"{host.name}: rendered route {dst} via {via} is not in the kernel table", table)
        elif got != (via, dev):
            check.fail_command(f"{host.name}: {dst} is via {got[0]} dev {got[1]}, rendered via {via} dev {dev}", table)
    for dst, (via, d) in kernel.items():
        if (dst, via) not in rendered:
            check.fail_command(f"{host.name}: unexpected route {dst} via {via} dev {d} (not rendered)", table)
    return len(rendered)


def sysctls_as_rendered(check: CheckResult, host: HostPlan, on: OnHost) -> int:
    """Every key of `host`'s rendered sysctl file has its value there. Returns how many were compared."""
    wanted = host_network.sysctls(host)
    res = on.sh("sysctl " + " ".join(wanted))
    got = dict(line.split(" = ", 1) for line in res.stdout.splitlines() if " = " in line)
    for key, value in wanted.items():
        if got.get(key) != value:
            check.fail_command(f"{host.name}: {key} is {got.get(key)!r}, rendered {value!r}", res)
    return len(wanted)


def no_ipv4(check: CheckResult, on: OnHost) -> None:
    """IPv6-only: `on` has no IPv4 address but loopback's and no IPv4 route."""
    addr = on.must("ip -4 -j addr show")
    bad = [
        f"{a['local']}/{a['prefixlen']} on {link['ifname']}"
        for link in json.loads(addr.stdout or "[]")
        for a in link.get("addr_info", [])
        if a.get("scope") != "host"
    ]
    if bad:
        check.fail_command(f"{on.name} has IPv4 address(es) {', '.join(bad)}", addr)
    route = on.must("ip -4 -j route show")
    routes = [r.get("dst", "?") for r in json.loads(route.stdout or "[]")]
    if routes:
        check.fail_command(f"{on.name} has IPv4 route(s) {', '.join(routes)}", route)
