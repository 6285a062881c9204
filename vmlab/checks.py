"""Checks inside the VM lab's guests (over SSH) and of what libvirt holds on this machine.

Each returns a `lab.checks.CheckResult`; a failure names the guest, the command and its output.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import netaddr

from lab.checks import CheckResult, Failure, nat64_address, timed_check
from planning.plan import HostPlan
from rendering import gateway, host_network
from vmlab.hostside import STRANGER_NS, TEST_NAME, WEB_PORT

if TYPE_CHECKING:
    from vmlab.session import VmLab

REBOOT_TIMEOUT = 600.0  # a software-emulated boot on a busy 2-core machine


def cluster_network_is_ipv6_only(lab: VmLab) -> CheckResult:
    """libvirt's cluster network has IPv6 elements only (no IPv4 address, no DHCPv4)."""

    def run(check: CheckResult) -> None:
        name = lab.infra_names()["cluster"]
        res = subprocess.run(
            ["virsh", "-c", lab.uri, "net-dumpxml", name], capture_output=True, text=True, check=False, timeout=30
        )
        if res.returncode != 0:
            check.fail(Failure(f"virsh net-dumpxml {name}: {res.stderr.strip()}"))
            return
        ips = re.findall(r"<ip\b[^>]*>", res.stdout)
        v4 = [ip for ip in ips if "family='ipv6'" not in ip and 'family="ipv6"' not in ip]
        if not ips or v4:
            check.fail(Failure(f"{name}: IPv4 elements {v4} (all: {ips})", output=res.stdout))
        check.summary = f"{name}: {len(ips)} IPv6 element(s), no IPv4"

    return timed_check("cluster_network_ipv6_only", run)


def no_global_ipv4_on_nodes(lab: VmLab, hosts: Sequence[HostPlan] | None = None) -> CheckResult:
    """Kubernetes nodes carry no global IPv4 address and no IPv4 route; the gateway has its uplink."""

    def run(check: CheckResult) -> None:
        seen = []
        for host in hosts or lab.plan.nodes:
            g = lab.guest(host.name)
            res = g.run("ip -4 -o addr show scope global; ip -4 route show")
            if not res.ok or res.stdout.strip():
                check.fail_command(f"{host.name}: IPv4 on a node of the IPv6-only network", res)
            seen.append(host.name)
        gw = lab.plan.gateway
        uplink = str(lab.plan.config.gateway.uplink_address)
        res = lab.guest(gw.name).run(f"ip -4 -o addr show dev {lab.plan.config.gateway.uplink_interface}")
        if uplink not in res.stdout:
            check.fail_command(f"{gw.name}: uplink address {uplink} missing", res)
        check.summary = f"no IPv4 on {', '.join(seen)}; gateway uplink {uplink}"

    return timed_check("no_global_ipv4_on_nodes", run)


_SHOW = re.compile(r"^(\S+) via (\S+)$")


def _routes_and_sysctls(lab: VmLab, host: HostPlan, check: CheckResult) -> int:
    """The kernel holds every rendered route and sysctl value of `host`; returns how many were compared."""
    g = lab.guest(host.name)
    dev = lab.plan.config.network.cluster_interface
    planned = {(r.destination, r.via) for r in host.routes}
    show = g.run(f"{host_network.ROUTES_PATH} show")
    rendered = set()
    for line in show.stdout.splitlines():
        m = _SHOW.match(line.strip())
        if m:
            rendered.add((netaddr.IPNetwork(m.group(1)), netaddr.IPAddress(m.group(2))))
    if not show.ok or rendered != planned:
        check.fail_command(f"{host.name}: routes.sh show differs from the plan", show)
    table = g.run("ip -6 -j route show table main")
    kernel: dict[netaddr.IPNetwork, tuple[netaddr.IPAddress, str | None]] = {}
    for r in json.loads(table.stdout or "[]"):
        if "gateway" in r:
            dst = netaddr.IPNetwork("::/0" if r["dst"] == "default" else r["dst"])
            kernel[dst] = (netaddr.IPAddress(r["gateway"]), r.get("dev"))
    for dst, via in sorted(planned):
        if kernel.get(dst) != (via, dev):
            check.fail_command(
                f"{host.name}: route {dst} via {via} dev {dev} is not in the kernel ({kernel.get(dst)})", table
            )
    extra = {d: v for d, v in kernel.items() if (d, v[0]) not in planned}
    if extra:
        check.fail_command(f"{host.name}: next-hop routes nobody planned: {extra}", table)
    wanted = host_network.sysctls(host)
    got = g.run("sysctl " + " ".join(wanted))
    values = dict(line.split(" = ", 1) for line in got.stdout.splitlines() if " = " in line)
    for k, v in wanted.items():
        if values.get(k) != v:
            check.fail_command(f"{host.name}: sysctl {k} is {values.get(k)!r}, rendered {v!r}", got)
    return len(planned) + len(wanted)


def routes_and_sysctls(
    lab: VmLab, hosts: Sequence[HostPlan] | None = None, name: str = "routes_and_sysctls"
) -> CheckResult:
    def run(check: CheckResult) -> None:
        chosen = list(hosts or lab.plan.hosts)
        total = sum(_routes_and_sysctls(lab, h, check) for h in chosen)
        check.summary = f"{total} routes and sysctls as rendered on {', '.join(h.name for h in chosen)}"

    return timed_check(name, run)


def units(host: HostPlan) -> list[str]:
    names = ["kubev6-routes.service"]
    if host.role == "gateway":
        names += ["kubev6-nat64.service", "kubev6-dns64.service"]
    return names


def units_active(lab: VmLab, hosts: Sequence[HostPlan] | None = None, name: str = "units_active") -> CheckResult:
    """The project's systemd units are enabled and active, and systemd reports no failed unit."""

    def run(check: CheckResult) -> None:
        count = 0
        for host in hosts or lab.plan.hosts:
            g = lab.guest(host.name)
            for unit in units(host):
                res = g.run(f"systemctl is-enabled {unit}; systemctl is-active {unit}")
                if res.stdout.split() != ["enabled", "active"]:
                    journal = g.run(f"systemctl status --no-pager {unit}; journalctl -b --no-pager -n 30 -u {unit}")
                    check.fail_command(f"{host.name}: {unit} is {' '.join(res.stdout.split())}", journal)
                count += 1
            failed = g.run("systemctl --failed --no-legend --plain")
            if failed.stdout.strip():
                check.fail_command(f"{host.name}: failed units", failed)
        check.summary = f"{count} kube-v6 unit(s) enabled and active, no failed unit"

    return timed_check(name, run)


def dns64_nat64(lab: VmLab, hosts: Sequence[HostPlan] | None = None, name: str = "dns64_nat64_egress") -> CheckResult:
    """Each node resolves the IPv4-only name through DNS64 to the NAT64 address and fetches it through NAT64."""

    def run(check: CheckResult) -> None:
        v4 = netaddr.IPAddress(lab.test_server.address)
        expected = nat64_address(lab.plan.nat64_prefix, v4)
        token = lab.test_server.token()
        chosen = list(hosts or lab.plan.nodes)
        for host in chosen:
            g = lab.guest(host.name)
            aaaa = g.run(f"dig +short +time=3 +tries=2 AAAA {TEST_NAME}")
            if netaddr.IPAddress(expected) not in {netaddr.IPAddress(a) for a in aaaa.stdout.split() if ":" in a}:
                check.fail_command(f"{host.name}: {TEST_NAME} AAAA is not {expected}", aaaa)
            page = g.run(f"curl -sS -6 --max-time 10 http://{TEST_NAME}:{WEB_PORT}/")
            if not page.ok or token not in page.stdout:
                check.fail_command(f"{host.name}: fetching http://{TEST_NAME}/ through NAT64 failed", page)
        check.summary = (
            f"{TEST_NAME} -> {expected}; page fetched through NAT64 from {', '.join(h.name for h in chosen)}"
        )

    return timed_check(name, run)


def _guard_counter(lab: VmLab) -> int:
    res = lab.guest(lab.plan.gateway.name).run(f"nft -j list chain inet {gateway.NFT_GUARD_TABLE} guard", check=True)
    packets = 0
    for item in json.loads(res.stdout).get("nftables", []):
        exprs = item.get("rule", {}).get("expr", [])
        if any("drop" in e for e in exprs):
            packets += sum(e["counter"]["packets"] for e in exprs if "counter" in e)
    return packets


def _tun_tx(lab: VmLab) -> int:
    res = lab.guest(lab.plan.gateway.name).run(f"ip -j -s link show {gateway.TAYGA_DEVICE}", check=True)
    return int(json.loads(res.stdout)[0]["stats64"]["tx"]["packets"])


def nat64_guard(lab: VmLab) -> CheckResult:
    """A source outside the cluster's prefixes (a namespace on the cluster bridge) cannot use the
    translator, and it is the guard that stops it (its counter rises, TAYGA sees nothing)."""

    def run(check: CheckResult) -> None:
        target = nat64_address(lab.plan.nat64_prefix, netaddr.IPAddress(lab.test_server.address))
        before, tun_before = _guard_counter(lab), _tun_tx(lab)
        fetch = lab.stranger.run(["curl", "-sS", "--max-time", "3", "-g", f"http://[{target}]:{WEB_PORT}/"])
        after, tun_after = _guard_counter(lab), _tun_tx(lab)
        if fetch.returncode == 0:
            check.fail(
                Failure(f"the stranger fetched http://[{target}]/: an open relay", STRANGER_NS, "curl", fetch.stdout)
            )
        if after <= before:
            check.fail(
                Failure(f"the guard counter did not rise ({before} -> {after}): the fetch failed for another reason")
            )
        if tun_after != tun_before:
            check.fail(
                Failure(f"{tun_after - tun_before} packet(s) entered the translator during the stranger's fetch")
            )
        check.summary = (
            f"stranger fetch failed ({fetch.stderr.strip() or fetch.returncode}); guard dropped "
            f"{after - before} packet(s); translator saw {tun_after - tun_before}"
        )

    return timed_check("nat64_guard_drops_strangers", run)


def reboot_survives(lab: VmLab, names: Sequence[str]) -> CheckResult:
    """Reboot `names` (in parallel); afterwards their routes, sysctls and units are back without Pulumi,
    and every node still resolves and fetches through DNS64/NAT64."""

    def run(check: CheckResult) -> None:
        hosts = [lab.plan.host(n) for n in names]
        boots = {h.name: lab.guest(h.name).boot_id() for h in hosts}
        for h in hosts:
            lab.guest(h.name).reboot()

        def wait(h: HostPlan) -> float:
            start = time.monotonic()
            lab.guest(h.name).wait_ssh(REBOOT_TIMEOUT, not_boot=boots[h.name])
            return time.monotonic() - start

        with ThreadPoolExecutor(len(hosts)) as pool:
            took = dict(zip(names, pool.map(wait, hosts), strict=True))
        for sub in (
            routes_and_sysctls(lab, hosts, "after reboot: routes_and_sysctls"),
            units_active(lab, hosts, "after reboot: units_active"),
            no_global_ipv4_on_nodes(lab, [h for h in hosts if h.is_kube_node]),
            dns64_nat64(lab, None, "after reboot: dns64_nat64"),
        ):
            for f in sub.failures:
                check.fail(Failure(f"{sub.name}: {f.message}", f.namespace, f.command, f.output))
        check.summary = (
            "rebooted "
            + ", ".join(f"{n} (back in {s:.0f}s)" for n, s in took.items())
            + ("; routes, sysctls, units, DNS64/NAT64 as before" if check.ok else "")
        )
        check.details["reboot_seconds"] = took

    return timed_check("reboot_" + "_".join(names), run)
