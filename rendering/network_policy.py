"""`network.policy: kube-network-policies`, rendered: the DaemonSet's settings, and the policy check
(a default-deny namespace with a guarded echo server, an allow rule for one named client, an IPv6
ipBlock rule) with what each of its Jobs proves.

Pure: components/network_addons.py turns this into typed pulumi-kubernetes resources."""

from __future__ import annotations

from dataclasses import dataclass

from config_schemas.versions import KUBE_NETWORK_POLICIES_VERSION
from planning.plan import HostPlan
from planning.settings import WorkloadsPlan
from rendering.workloads import PORT, Check

NAME = "kube-network-policies"
IMAGE = f"registry.k8s.io/networking/kube-network-policies:v{KUBE_NETWORK_POLICIES_VERSION}"
NFQUEUE_ID = 98  # upstream's install.yaml
GUARDED = "kubev6-guarded"
CLIENT_LABEL = "kubev6-client"  # the allow rule's pod label
ALLOWED = "allowed"
# ClusterRole of upstream's chart (pods, namespaces, networkpolicies: list and watch).
RULES = (("", ("pods", "namespaces")), ("networking.k8s.io", ("networkpolicies",)))


def daemon_args() -> list[str]:
    return [
        "/bin/netpol",
        "--hostname-override=$(MY_NODE_NAME)",
        "--v=2",
        f"--nfqueue-id={NFQUEUE_ID}",
        # Pod IPs from the API server; NRI would need containerd's NRI socket inside every pod sandbox's view.
        "--disable-nri=true",
        "--metrics-bind-address=[::1]:9080",
    ]


DENIED = """set -eu
sleep 3
for i in 1 2 3; do
  if timeout 3 wget -q -O- "http://{service}/hostname" >/dev/null 2>&1; then
    echo "reached {service} from an unlabelled pod: the default deny did not hold"; exit 1
  fi
done
echo "denied: an unlabelled pod could not reach {service} (3 tries)"
"""
ALLOWED_SCRIPT = """set -eu
for i in $(seq 20); do
  if out=$(timeout 3 wget -q -O- "http://{service}/hostname"); then echo "{what}: $out <- {service}"; exit 0; fi
  sleep 2
done
echo "{what}: could not reach {service}"; exit 1
"""


@dataclass(frozen=True)
class PolicyClient:
    check: Check
    node: str
    labels: dict[str, str]
    on_master: bool  # tolerates the control-plane taint


@dataclass(frozen=True)
class PolicyChecks:
    namespace: str
    image: str
    check_image: str
    pull_policy: str | None
    guarded_node: str
    ip_block: str  # the IPv6 prefix the ipBlock rule admits: the master's pod /64
    clients: dict[str, PolicyClient]  # by the Job's resource suffix (a stack output key)


def render_policy_checks(
    workloads: WorkloadsPlan, dns_domain: str, master: HostPlan, minions: tuple[HostPlan, ...]
) -> PolicyChecks:
    """The guarded server on a minion, its clients on another (or the master), and the ipBlock rule
    that admits the (first) master's pod /64."""
    namespace = f"{workloads.namespace}-policy"
    service = f"{GUARDED}.{namespace}.svc.{dns_domain}"
    names = [m.name for m in minions] or [master.name]
    guarded, client_node = names[0], names[-1]
    ip_block = str(master.pod_subnet)
    clients = {
        "policyDeniesByDefault": PolicyClient(
            Check(
                DENIED.format(service=service),
                f"in the default-deny namespace {namespace}, an unlabelled pod on {client_node} could not reach "
                f"{service}",
            ),
            client_node,
            {},
            False,
        ),
        "policyAllowsNamedClient": PolicyClient(
            Check(
                ALLOWED_SCRIPT.format(service=service, what="the named client"),
                f"only the pod labelled {CLIENT_LABEL}={ALLOWED} (on {client_node}) reached {service}",
            ),
            client_node,
            {CLIENT_LABEL: ALLOWED},
            False,
        ),
        "policyIpBlock": PolicyClient(
            Check(
                ALLOWED_SCRIPT.format(service=service, what="ipBlock " + ip_block),
                f"an unlabelled pod on {master.name} reached {service} through the IPv6 ipBlock rule {ip_block}",
            ),
            master.name,
            {},
            True,
        ),
    }
    return PolicyChecks(
        namespace=namespace,
        image=workloads.image,
        check_image=workloads.check_image,
        pull_policy=workloads.pull_policy,
        guarded_node=guarded,
        ip_block=ip_block,
        clients=clients,
    )


GUARDED_PORT = PORT
