"""WorkloadChecks: prove pod-to-pod, service by DNS name, CoreDNS, and NAT64 egress.

Typed resources only, so `pulumi preview` works while the kubeconfig is still unknown (declared
through components/k8s_objects.py, which spares the start-up the SDK's generated classes). What runs
and what each check proves is rendered by `rendering/workloads.py`. Each check is a Job;
pulumi-kubernetes waits for it, and its result is a stack output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.k8s_objects import DEPLOYMENT, JOB, NAMESPACE, SERVICE, KubernetesObject, fields
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
        ns = KubernetesObject(
            NAMESPACE,
            f"{name}-namespace",
            {"metadata": {"name": w.settings.namespace}},
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on(opts)),
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


def _echo_deployment(name: str, w: Workloads, opts: pulumi.ResourceOptions) -> KubernetesObject:
    by_app = {"matchLabels": {"app": APP}}
    echo = fields(
        name="echo",
        image=w.settings.image,
        imagePullPolicy=w.pull_policy,
        args=["netexec", f"--http-port={PORT}"],
        ports=[{"containerPort": PORT}],
        readinessProbe={"httpGet": {"path": "/healthz", "port": PORT}},
    )
    # Spread over the minions so pod-to-pod crosses nodes.
    spread = {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": by_app,
    }
    pod = fields(topologySpreadConstraints=[spread], affinity=on_nodes(w.echo_nodes), containers=[echo])
    return KubernetesObject(
        DEPLOYMENT,
        f"{name}-echo",
        {
            "metadata": {"name": APP, "namespace": w.settings.namespace},
            "spec": {
                "replicas": w.replicas,
                "selector": by_app,
                "template": {"metadata": {"namespace": w.settings.namespace, "labels": {"app": APP}}, "spec": pod},
            },
        },
        opts,
    )


def _echo_services(name: str, w: Workloads, opts: pulumi.ResourceOptions) -> list[KubernetesObject]:
    """The echo pods behind a ClusterIP (the service check) and a headless one (pod-to-pod)."""
    namespace = w.settings.namespace
    service = KubernetesObject(
        SERVICE,
        f"{name}-service",
        {
            "metadata": {"name": APP, "namespace": namespace},
            "spec": {
                "selector": {"app": APP},
                "ipFamilies": ["IPv6"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "targetPort": PORT}],
            },
        },
        opts,
    )
    headless = KubernetesObject(
        SERVICE,
        f"{name}-headless",
        {
            "metadata": {"name": f"{APP}-pods", "namespace": namespace},
            "spec": {"selector": {"app": APP}, "clusterIP": "None", "ipFamilies": ["IPv6"], "ports": [{"port": PORT}]},
        },
        opts,
    )
    return [service, headless]


def _check_job(
    name: str, w: Workloads, check: str, rendered: Check, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """One check as a Job, and its verdict with what it proves."""
    container = fields(
        name="check",
        image=w.settings.check_image,
        imagePullPolicy=w.pull_policy,
        command=["sh", "-c", rendered.script],
    )
    # Run from the first minion: the echo pods on other minions are across nodes.
    pod = fields(restartPolicy="Never", affinity=on_nodes(w.check_nodes), containers=[container])
    job = KubernetesObject(
        JOB,
        f"{name}-{check}",
        {
            "metadata": {"name": f"check-{check.lower()}", "namespace": w.settings.namespace},
            "spec": {"backoffLimit": 2, "template": {"spec": pod}},
        },
        opts,
    )
    return job.status.apply(lambda status: f"{verdict(status)}: {rendered.proves}")


def verdict(status: Mapping[str, Any] | None) -> str:
    """A check Job's result from its status (a JobStatus, in the API's spelling): pass once it succeeded."""
    if status is None:
        return "unknown"
    return "pass" if (status.get("succeeded") or 0) > 0 else "fail"


def on_nodes(names: Sequence[str]) -> dict[str, Any] | None:
    """Pods only on the nodes named, as an Affinity (None: anywhere)."""
    if not names:
        return None
    on = {"key": "kubernetes.io/hostname", "operator": "In", "values": list(names)}
    terms = [{"matchExpressions": [on]}]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
