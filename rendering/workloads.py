"""The test workloads, rendered: what runs where, and the check scripts with what each proves.

Pure: `components/workload_checks.py` turns this into typed pulumi-kubernetes resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning.plan import HostPlan
from planning.settings import WorkloadsPlan

APP = "kubev6-echo"
PORT = 8080

# Each script prints what it checked and exits non-zero on the first failure. Timeouts come from
# `timeout`, not `wget -T`: Debian bookworm's busybox 1.35 wget segfaults with -T.
POD_TO_POD = """set -eu
ips=$(nslookup -type=AAAA {headless} | awk '/^Address: / && $2 ~ /:/ {{print $2}}')
[ -n "$ips" ] || {{ echo "no pod addresses for {headless}"; exit 1; }}
for ip in $ips; do timeout 5 wget -q -O- "http://[$ip]:{port}/hostname" && echo " <- [$ip]"; done
"""
SERVICE_DNS = """set -eu
nslookup -type=AAAA {service} | tee /dev/stderr | grep -q 'Address: .*:'
timeout 5 wget -q -O- "http://{service}/hostname" && echo " <- {service}"
"""
COREDNS = """set -eu
nslookup -type=AAAA kubernetes.default.svc.{domain} | grep -q 'Address: .*:'
echo "CoreDNS answers"
"""
EGRESS = """set -eu
timeout 10 wget -q -O /dev/null "{url}" && echo "fetched {url} through DNS64/NAT64"
"""


@dataclass(frozen=True)
class Check:
    script: str  # run by `sh -c` in a Job's pod
    proves: str  # the stack output says this after "pass: "


@dataclass(frozen=True)
class Workloads:
    settings: WorkloadsPlan
    echo_nodes: tuple[str, ...]  # the echo pods spread over the minions
    check_nodes: tuple[str, ...]  # the checks run from the first minion: other minions' pods are across nodes
    replicas: int
    pull_policy: str | None  # "Never" when air-gapped: the images were imported from the mirror
    service_name: str
    headless_name: str
    checks: dict[str, Check]  # by the Job's resource suffix


def render_workloads(workloads: WorkloadsPlan, dns_domain: str, minions: tuple[HostPlan, ...]) -> Workloads:
    """The echo pods spread over `minions`, the checks from the first; `dns_domain` names the services."""
    names = tuple(m.name for m in minions)
    service = f"{APP}.{workloads.namespace}.svc.{dns_domain}"
    headless = f"{APP}-pods.{workloads.namespace}.svc.{dns_domain}"
    origin = f"a pod on {names[0]}" if names else "a pod"
    checks = {
        "podToPod": Check(
            POD_TO_POD.format(headless=headless, port=PORT),
            f"{origin} fetched /hostname from every echo pod by its IPv6 address (headless service)",
        ),
        "serviceByName": Check(
            SERVICE_DNS.format(service=service),
            f"{origin} resolved {service} (AAAA) and fetched it through its ClusterIP",
        ),
        "coreDns": Check(
            COREDNS.format(domain=dns_domain),
            f"{origin} resolved kubernetes.default.svc.{dns_domain} (AAAA) through CoreDNS",
        ),
        "nat64Egress": Check(
            EGRESS.format(url=workloads.egress_url),
            f"{origin} fetched the IPv4-only {workloads.egress_url} by name through DNS64 + NAT64",
        ),
    }
    return Workloads(
        settings=workloads,
        echo_nodes=names,
        check_nodes=names[:1],
        replicas=max(workloads.replicas, len(names)),
        pull_policy=workloads.pull_policy,
        service_name=service,
        headless_name=headless,
        checks=checks,
    )
