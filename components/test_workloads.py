"""TestWorkloads: prove pod-to-pod, service by DNS name, CoreDNS, and NAT64 egress.

Typed resources only, so `pulumi preview` works while the kubeconfig is still unknown.
Each check is a Job; pulumi-kubernetes waits for it, and its result is a stack output.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from planning.plan import ClusterPlan

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


class TestWorkloads(pulumi.ComponentResource):
    results: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        plan: ClusterPlan,
        kubeconfig: pulumi.Output[str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kubev6:index:TestWorkloads", name, None, opts)
        cfg = plan.config.workloads
        # Air-gapped nodes have the images imported from the mirror and no registry to pull from.
        pull = "Never" if plan.config.kubernetes.artifacts == "mirror" else None
        provider = k8s.Provider(f"{name}-provider", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        opts_k8s = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=cfg.namespace), opts=opts_k8s
        )
        in_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        meta = k8s.meta.v1.ObjectMetaArgs(namespace=cfg.namespace, labels={"app": APP})
        minion_names = [m.name for m in plan.minions]

        deployment = k8s.apps.v1.Deployment(
            f"{name}-echo",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=cfg.namespace),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=max(cfg.replicas, len(minion_names)),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": APP}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=meta,
                    spec=k8s.core.v1.PodSpecArgs(
                        # Spread over the minions so pod-to-pod crosses nodes.
                        topology_spread_constraints=[
                            k8s.core.v1.TopologySpreadConstraintArgs(
                                max_skew=1,
                                topology_key="kubernetes.io/hostname",
                                when_unsatisfiable="DoNotSchedule",
                                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": APP}),
                            )
                        ],
                        affinity=_on_nodes(minion_names),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="echo",
                                image=cfg.image,
                                image_pull_policy=pull,
                                args=["netexec", f"--http-port={PORT}"],
                                ports=[k8s.core.v1.ContainerPortArgs(container_port=PORT)],
                                readiness_probe=k8s.core.v1.ProbeArgs(
                                    http_get=k8s.core.v1.HTTPGetActionArgs(path="/healthz", port=PORT)
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=in_ns,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=cfg.namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector={"app": APP},
                ip_families=["IPv6"],
                ip_family_policy="SingleStack",
                ports=[k8s.core.v1.ServicePortArgs(port=80, target_port=PORT)],
            ),
            opts=in_ns,
        )
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{APP}-pods", namespace=cfg.namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector={"app": APP},
                cluster_ip="None",
                ip_families=["IPv6"],
                ports=[k8s.core.v1.ServicePortArgs(port=PORT)],
            ),
            opts=in_ns,
        )
        domain = plan.config.network.dns_domain
        service_name = f"{APP}.{cfg.namespace}.svc.{domain}"
        checks = {
            "podToPod": POD_TO_POD.format(headless=f"{APP}-pods.{cfg.namespace}.svc.{domain}", port=PORT),
            "serviceByName": SERVICE_DNS.format(service=service_name),
            "coreDns": COREDNS.format(domain=domain),
            "nat64Egress": EGRESS.format(url=cfg.egress_url),
        }
        origin = f"a pod on {minion_names[0]}" if minion_names else "a pod"
        tried = {
            "podToPod": f"{origin} fetched /hostname from every echo pod by its IPv6 address (headless service)",
            "serviceByName": f"{origin} resolved {service_name} (AAAA) and fetched it through its ClusterIP",
            "coreDns": f"{origin} resolved kubernetes.default.svc.{domain} (AAAA) through CoreDNS",
            "nat64Egress": f"{origin} fetched the IPv4-only {cfg.egress_url} by name through DNS64 + NAT64",
        }
        after_app = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[deployment, service, headless])
        results = {}
        for check, script in checks.items():
            job = k8s.batch.v1.Job(
                f"{name}-{check}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"check-{check.lower()}", namespace=cfg.namespace),
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=2,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        spec=k8s.core.v1.PodSpecArgs(
                            restart_policy="Never",
                            # Run from the first minion: the echo pods on other minions are across nodes.
                            affinity=_on_nodes(minion_names[:1]),
                            containers=[
                                k8s.core.v1.ContainerArgs(
                                    name="check",
                                    image=cfg.check_image,
                                    image_pull_policy=pull,
                                    command=["sh", "-c", script],
                                )
                            ],
                        )
                    ),
                ),
                opts=after_app,
            )
            results[check] = job.status.apply(lambda status, what=tried[check]: f"{_verdict(status)}: {what}")
        self.results = pulumi.Output.all(**results)
        self.register_outputs({"results": self.results})


def _verdict(status: k8s.batch.v1.outputs.JobStatus | None) -> str:
    if status is None:
        return "unknown"
    return "pass" if (status.succeeded or 0) > 0 else "fail"


def _on_nodes(names: list[str]) -> k8s.core.v1.AffinityArgs | None:
    if not names:
        return None
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[
                            k8s.core.v1.NodeSelectorRequirementArgs(
                                key="kubernetes.io/hostname", operator="In", values=names
                            )
                        ]
                    )
                ]
            )
        )
    )
