"""The checks every lab shares (harness.commons.checks) over a fake host: they pass on what they
should see and fail, naming the host, on what they should not."""

from __future__ import annotations

import json
from collections.abc import Callable

from config_schemas.stack_files import load_stack_file
from harness.commons import checks
from harness.commons.checks import CheckResult, OnHost
from harness.commons.shell import CommandResult
from planning.plan import make_plan
from rendering import gateway, layout

PLAN = make_plan(load_stack_file("lab").cluster)


def host(name: str, answer: Callable[[str], tuple[int, str]]) -> OnHost:
    def sh(command: str) -> CommandResult:
        code, out = answer(command)
        return CommandResult(name, ("sh", "-c", command), code, out, "", 0.0)

    return OnHost(name, sh)


def gateway_with(drops: list[int], tun: list[int]) -> OnHost:
    def answer(command: str) -> tuple[int, str]:
        if command.startswith("nft -j list chain inet " + gateway.NFT_GUARD_TABLE):
            rule = {"rule": {"expr": [{"counter": {"packets": drops.pop(0), "bytes": 0}}, {"drop": None}]}}
            return 0, json.dumps({"nftables": [rule]})
        if command == f"ip -j -s link show {gateway.TAYGA_DEVICE}":
            return 0, json.dumps([{"stats64": {"tx": {"packets": tun.pop(0)}}}])
        raise AssertionError(command)

    return gateway_with_answer(answer)


def gateway_with_answer(answer: Callable[[str], tuple[int, str]]) -> OnHost:
    return host("gw", answer)


def test_nat64_guard_passes_when_the_guard_drops_the_stranger() -> None:
    stranger = host("stranger", lambda c: (28, ""))
    result = checks.nat64_guard(gateway_with([3, 5], [7, 7]), stranger, "http://[64:ff9b::1]/")
    assert result.ok, result.report()
    assert result.details == {"guard_before": 3, "guard_after": 5}


def test_nat64_guard_fails_on_an_open_relay_a_silent_guard_or_a_leak() -> None:
    relay = checks.nat64_guard(gateway_with([3, 5], [7, 7]), host("stranger", lambda c: (0, "page")), "http://x/")
    assert not relay.ok and "open relay" in relay.report()
    silent = checks.nat64_guard(gateway_with([3, 3], [7, 7]), host("stranger", lambda c: (28, "")), "http://x/")
    assert not silent.ok and "did not increase (3 -> 3)" in silent.report()
    leak = checks.nat64_guard(gateway_with([3, 5], [7, 9]), host("stranger", lambda c: (28, "")), "http://x/")
    assert not leak.ok and "2 packet(s) entered the translator" in leak.report()


def _routes_host(drop_one: bool) -> tuple[OnHost, str]:
    node = PLAN.nodes[0]
    routes = list(node.routes)[1:] if drop_one else list(node.routes)
    dev = PLAN.cluster_interface
    kernel = [
        {"dst": "default" if str(r.destination) == "::/0" else str(r.destination), "gateway": str(r.via), "dev": dev}
        for r in routes
    ]

    def answer(command: str) -> tuple[int, str]:
        if command == f"{layout.ROUTES_PATH} show":
            return 0, "".join(f"{r.destination} via {r.via}\n" for r in node.routes)
        if command == "ip -6 -j route show table main":
            return 0, json.dumps(kernel)
        raise AssertionError(command)

    return host(node.name, answer), dev


def test_routes_as_rendered_finds_a_missing_kernel_route() -> None:
    node = PLAN.nodes[0]
    good = CheckResult("routes")
    on, dev = _routes_host(drop_one=False)
    assert checks.routes_as_rendered(good, node, on, dev) == len(node.routes) and good.ok, good.report()
    bad = CheckResult("routes")
    on, dev = _routes_host(drop_one=True)
    checks.routes_as_rendered(bad, node, on, dev)
    assert not bad.ok and f"{node.name}: rendered route" in bad.report() and "not in the kernel" in bad.report()


def test_no_ipv4_names_an_address_and_a_route() -> None:
    clean = CheckResult("v4")
    checks.no_ipv4(clean, host("n1", lambda c: (0, "[]" if "route" in c else _addr("127.0.0.1", "host"))))
    assert clean.ok, clean.report()
    dirty = CheckResult("v4")
    checks.no_ipv4(dirty, host("n1", lambda c: (0, '[{"dst": "default"}]' if "route" in c else _addr("10.0.0.5"))))
    assert not dirty.ok
    assert "n1 has IPv4 address(es) 10.0.0.5/24 on eth0" in dirty.report() and "IPv4 route(s) default" in dirty.report()


def _addr(local: str, scope: str = "global") -> str:
    return json.dumps([{"ifname": "eth0", "addr_info": [{"local": local, "prefixlen": 24, "scope": scope}]}])
