"""Checks inside the VM lab's guests (over SSH) and of what libvirt holds on this machine.

Each returns a `harness.commons.checks.CheckResult`; a failure names the guest, the command and its
output. What the VM lab shares with the other labs (routes and sysctls as rendered, no IPv4, the NAT64
guard) is `harness.commons.checks`, given each guest as an `OnHost` (a command over SSH).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import netaddr

from harness.commons import checks as shared
from harness.commons.checks import CheckResult, Failure, OnHost, nat64_address, timed_check
from harness.commons.shell import CommandResult
from harness.vmlab.guest import Guest
from harness.vmlab.hostside import STRANGER_NS, TEST_NAME, WEB_PORT, Stranger, TestServer
from planning.plan import ClusterPlan, HostPlan


class VmLabView(Protocol):
    """What these checks need of the VM lab (a `harness.vmlab.session.VmLab` is one)."""

    @property
    def plan(self) -> ClusterPlan: ...

    @property
    def uri(self) -> str: ...

    @property
    def test_server(self) -> TestServer: ...

    @property
    def stranger(self) -> Stranger: ...

    def guest(self, name: str) -> Guest: ...

    def infra_names(self) -> dict[str, str]: ...


def on_guest(lab: VmLabView, name: str) -> OnHost:
    """A guest as the shared checks see it: a shell command over SSH."""
    guest = lab.guest(name)
    return OnHost(name, lambda command: guest.run(command))


REBOOT_TIMEOUT = 600.0  # a software-emulated boot on a busy 2-core machine


def cluster_network_is_ipv6_only(lab: VmLabView) -> CheckResult:
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


def no_global_ipv4_on_nodes(lab: VmLabView, hosts: Sequence[HostPlan] | None = None) -> CheckResult:
    """Kubernetes nodes carry no IPv4 address (but loopback's) and no IPv4 route; the gateway has its uplink."""

    def run(check: CheckResult) -> None:
        seen = []
        for host in hosts or lab.plan.nodes:
            shared.no_ipv4(check, on_guest(lab, host.name))
            seen.append(host.name)
        gw = lab.plan.gateway
        uplink = str(lab.plan.uplink.address if lab.plan.uplink is not None else None)
        res = lab.guest(gw.name).run(f"ip -4 -o addr show dev {lab.plan.nat64.uplink_interface}")
        if uplink not in res.stdout:
            check.fail_command(f"{gw.name}: uplink address {uplink} missing", res)
        check.summary = f"no IPv4 on {', '.join(seen)}; gateway uplink {uplink}"

    return timed_check("no_global_ipv4_on_nodes", run)


def routes_and_sysctls(
    lab: VmLabView, hosts: Sequence[HostPlan] | None = None, name: str = "routes_and_sysctls"
) -> CheckResult:
    """The kernel holds every rendered route and sysctl value of each host."""

    def run(check: CheckResult) -> None:
        chosen = list(hosts or lab.plan.hosts)
        total = 0
        for h in chosen:
            on = on_guest(lab, h.name)
            total += shared.routes_as_rendered(check, h, on, lab.plan.cluster_interface)
            total += shared.sysctls_as_rendered(check, h, on)
        check.summary = f"{total} routes and sysctls as rendered on {', '.join(h.name for h in chosen)}"

    return timed_check(name, run)


def units(host: HostPlan) -> list[str]:
    names = ["kubev6-routes.service"]
    if host.role == "gateway":
        names += ["kubev6-nat64.service", "kubev6-dns64.service"]
    return names


def units_active(lab: VmLabView, hosts: Sequence[HostPlan] | None = None, name: str = "units_active") -> CheckResult:
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


def dns64_nat64(
    lab: VmLabView, hosts: Sequence[HostPlan] | None = None, name: str = "dns64_nat64_egress"
) -> CheckResult:
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


def nat64_guard(lab: VmLabView) -> CheckResult:
    """A source outside the cluster's prefixes (a namespace on the cluster bridge) cannot use the
    translator, and it is the guard that stops it (its counter rises, TAYGA sees nothing)."""
    target = nat64_address(lab.plan.nat64_prefix, netaddr.IPAddress(lab.test_server.address))
    stranger = lab.stranger

    def run_there(command: str) -> CommandResult:
        start = time.monotonic()
        res = stranger.run(["sh", "-c", command])
        return CommandResult(STRANGER_NS, ("sh", "-c", command), res.returncode, res.stdout, res.stderr,
                             time.monotonic() - start)  # fmt: skip

    return shared.nat64_guard(
        on_guest(lab, lab.plan.gateway.name), OnHost("stranger", run_there), f"http://[{target}]:{WEB_PORT}/"
    )


def reboot_survives(lab: VmLabView, names: Sequence[str]) -> CheckResult:
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
