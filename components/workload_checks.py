"""WorkloadChecks: prove pod-to-pod, service by DNS name, CoreDNS, and NAT64 egress.

Typed resources only, so `pulumi preview` works while the kubeconfig is still unknown. What runs
and what each check proves is rendered by `rendering/workloads.py`. Each check is a Job;
pulumi-kubernetes waits for it, and its result is a stack output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.remote import depends_on
from rendering.workloads import APP, PORT, Check, Workloads

# The type token of the component's first name, TestWorkloads: deployed stacks' URNs carry it, so
# it stays although the class is named otherwise (a new token would replace every child).
TYPE = "kubev6:index:TestWorkloads"


@dataclass(frozen=True)
class WorkloadChecksArgs:
    workloads: Workloads
    kubeconfig: pulumi.Output[str]  # the master's admin kubeconfig (a secret)
    # The master's `kubeadm init`: replaced (the master came back empty), it is a new cluster, and
    # the provider with every object is replaced with it, so they are made there again.
    cluster: pulumi.Resource | None = None


class WorkloadChecks(pulumi.ComponentResource):
    provider: k8s.Provider
    results: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: WorkloadChecksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        w = args.workloads
        self.provider = provider = cluster_provider(name, args.kubeconfig, args.cluster, parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=w.settings.namespace),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on(opts)),
        )
        in_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        app = [_echo_deployment(name, w, in_ns), *_echo_services(name, w, in_ns)]
        after_app = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=app)
        results = {check: _check_job(name, w, check, rendered, after_app) for check, rendered in w.checks.items()}
        self.results = pulumi.Output.all(**results)
        self.register_outputs({"results": self.results})


def cluster_provider(
    name: str, kubeconfig: pulumi.Output[str], cluster: pulumi.Resource | None, *, parent: pulumi.Resource
) -> k8s.Provider:
    # A cluster that is gone (its master reset or lost) cannot delete its objects: `destroy`
    # forgets them, with the provider's warning, instead of failing on every one.
    return k8s.Provider(
        f"{name}-provider",
        kubeconfig=kubeconfig,
        delete_unreachable=True,
        opts=pulumi.ResourceOptions(parent=parent, replace_with=[cluster] if cluster else None),
    )


def _echo_deployment(name: str, w: Workloads, opts: pulumi.ResourceOptions) -> k8s.apps.v1.Deployment:
    by_app = k8s.meta.v1.LabelSelectorArgs(match_labels={"app": APP})
    echo = k8s.core.v1.ContainerArgs(
        name="echo",
        image=w.settings.image,
        image_pull_policy=w.pull_policy,
        args=["netexec", f"--http-port={PORT}"],
        ports=[k8s.core.v1.ContainerPortArgs(container_port=PORT)],
        readiness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/healthz", port=PORT)),
    )
    # Spread over the minions so pod-to-pod crosses nodes.
    spread = k8s.core.v1.TopologySpreadConstraintArgs(
        max_skew=1, topology_key="kubernetes.io/hostname", when_unsatisfiable="DoNotSchedule", label_selector=by_app
    )
    pod = k8s.core.v1.PodSpecArgs(
        topology_spread_constraints=[spread], affinity=on_nodes(w.echo_nodes), containers=[echo]
    )
    return k8s.apps.v1.Deployment(
        f"{name}-echo",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=w.settings.namespace),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=w.replicas,
            selector=by_app,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(namespace=w.settings.namespace, labels={"app": APP}), spec=pod
            ),
        ),
        opts=opts,
    )


def _echo_services(name: str, w: Workloads, opts: pulumi.ResourceOptions) -> list[k8s.core.v1.Service]:
    """The echo pods behind a ClusterIP (the service check) and a headless one (pod-to-pod)."""
    namespace = w.settings.namespace
    service = k8s.core.v1.Service(
        f"{name}-service",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=namespace),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector={"app": APP},
            ip_families=["IPv6"],
            ip_family_policy="SingleStack",
            ports=[k8s.core.v1.ServicePortArgs(port=80, target_port=PORT)],
        ),
        opts=opts,
    )
    headless = k8s.core.v1.Service(
        f"{name}-headless",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{APP}-pods", namespace=namespace),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector={"app": APP},
            cluster_ip="None",
            ip_families=["IPv6"],
            ports=[k8s.core.v1.ServicePortArgs(port=PORT)],
        ),
        opts=opts,
    )
    return [service, headless]


def _check_job(
    name: str, w: Workloads, check: str, rendered: Check, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """One check as a Job, and its verdict with what it proves."""
    container = k8s.core.v1.ContainerArgs(
        name="check",
        image=w.settings.check_image,
        image_pull_policy=w.pull_policy,
        command=["sh", "-c", rendered.script],
    )
    # Run from the first minion: the echo pods on other minions are across nodes.
    pod = k8s.core.v1.PodSpecArgs(restart_policy="Never", affinity=on_nodes(w.check_nodes), containers=[container])
    job = k8s.batch.v1.Job(
        f"{name}-{check}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"check-{check.lower()}", namespace=w.settings.namespace),
        spec=k8s.batch.v1.JobSpecArgs(backoff_limit=2, template=k8s.core.v1.PodTemplateSpecArgs(spec=pod)),
        opts=opts,
    )
    return job.status.apply(lambda status: f"{verdict(status)}: {rendered.proves}")


def verdict(status: k8s.batch.v1.outputs.JobStatus | None) -> str:
    """A check Job's result: pass once it succeeded."""
    if status is None:
        return "unknown"
    return "pass" if (status.succeeded or 0) > 0 else "fail"


def on_nodes(names: Sequence[str]) -> k8s.core.v1.AffinityArgs | None:
    """Pods only on the nodes named (None: anywhere)."""
    if not names:
        return None
    on = k8s.core.v1.NodeSelectorRequirementArgs(key="kubernetes.io/hostname", operator="In", values=list(names))
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[k8s.core.v1.NodeSelectorTermArgs(match_expressions=[on])]
            )
        )
    )
