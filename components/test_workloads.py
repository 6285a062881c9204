"""TestWorkloads: prove pod-to-pod, service by DNS name, CoreDNS, and NAT64 egress.

Typed resources only, so `pulumi preview` works while the kubeconfig is still unknown. What runs
and what each check proves is rendered by `rendering/workloads.py`. Each check is a Job;
pulumi-kubernetes waits for it, and its result is a stack output.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.remote import depends_on
from rendering.workloads import APP, PORT, Workloads


@dataclass(frozen=True)
class TestWorkloadsArgs:
    workloads: Workloads
    kubeconfig: pulumi.Output[str]  # the master's admin kubeconfig (a secret)
    # The master's `kubeadm init`: replaced (the master came back empty), it is a new cluster, and
    # the provider with every object is replaced with it, so they are made there again.
    cluster: pulumi.Resource | None = None


class TestWorkloads(pulumi.ComponentResource):
    provider: k8s.Provider
    results: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: TestWorkloadsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:TestWorkloads", name, None, opts)
        w = args.workloads
        cfg, pull = w.settings, w.pull_policy
        # A cluster that is gone (its master reset or lost) cannot delete its objects: `destroy`
        # forgets them, with the provider's warning, instead of failing on every one.
        self.provider = provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            delete_unreachable=True,
            opts=pulumi.ResourceOptions(parent=self, replace_with=[args.cluster] if args.cluster else None),
        )
        opts_k8s = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on(opts))
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=cfg.namespace), opts=opts_k8s
        )
        in_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        meta = k8s.meta.v1.ObjectMetaArgs(namespace=cfg.namespace, labels={"app": APP})

        deployment = k8s.apps.v1.Deployment(
            f"{name}-echo",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=cfg.namespace),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=w.replicas,
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
                        affinity=_on_nodes(w.echo_nodes),
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
        after_app = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[deployment, service, headless])
        results = {}
        for check, rendered in w.checks.items():
            job = k8s.batch.v1.Job(
                f"{name}-{check}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"check-{check.lower()}", namespace=cfg.namespace),
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=2,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        spec=k8s.core.v1.PodSpecArgs(
                            restart_policy="Never",
                            # Run from the first minion: the echo pods on other minions are across nodes.
                            affinity=_on_nodes(w.check_nodes),
                            containers=[
                                k8s.core.v1.ContainerArgs(
                                    name="check",
                                    image=cfg.check_image,
                                    image_pull_policy=pull,
                                    command=["sh", "-c", rendered.script],
                                )
                            ],
                        )
                    ),
                ),
                opts=after_app,
            )
            results[check] = job.status.apply(lambda status, what=rendered.proves: f"{_verdict(status)}: {what}")
        self.results = pulumi.Output.all(**results)
        self.register_outputs({"results": self.results})


def _verdict(status: k8s.batch.v1.outputs.JobStatus | None) -> str:
    if status is None:
        return "unknown"
    return "pass" if (status.succeeded or 0) > 0 else "fail"


def _on_nodes(names: tuple[str, ...]) -> k8s.core.v1.AffinityArgs | None:
    if not names:
        return None
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[
                            k8s.core.v1.NodeSelectorRequirementArgs(
                                key="kubernetes.io/hostname", operator="In", values=list(names)
                            )
                        ]
                    )
                ]
            )
        )
    )
