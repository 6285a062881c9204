"""The network add-ons: `network.routing: bgp` (a BGP speaker on every machine), the IPVS preflight of
`kubernetes.kubeProxy.mode: ipvs`, and `network.policy: kube-network-policies` (its DaemonSet and the
policy check). Steps and objects are rendered by rendering/bgp.py and rendering/network_policy.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import remote

from components.k8s_objects import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    DAEMON_SET,
    DEPLOYMENT,
    JOB,
    NAMESPACE,
    NETWORK_POLICY,
    SERVICE,
    SERVICE_ACCOUNT,
    KubernetesObject,
    fields,
)
from components.kube_node import KubeNode
from components.nat64_gateway import Nat64Gateway
from components.remote import SshAccess, depends_on, run_step
from components.workload_checks import on_nodes, verdict
from planning.plan import ClusterPlan
from rendering import bgp
from rendering.network_policy import (
    ALLOWED,
    CLIENT_LABEL,
    GUARDED,
    GUARDED_PORT,
    IMAGE,
    NAME,
    RULES,
    PolicyChecks,
    daemon_args,
)


@dataclass(frozen=True)
class NodeNetworkArgs:
    plan: ClusterPlan
    access: SshAccess
    gateway: Nat64Gateway
    nodes: Mapping[str, KubeNode]


class NodeNetwork(pulumi.ComponentResource):
    """With `network.routing: bgp`: the gateway's route reflector, then each node's speaker (once its
    network step ran and the gateway serves the binary). With `kubeProxy.mode: ipvs`: each node's IPVS
    preflight. `ready`: what kubeadm and the workloads wait for."""

    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: NodeNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:NodeNetwork", name, None, opts)
        plan, access, gw = args.plan, args.access, args.gateway
        after = depends_on(opts)
        self.ready = []
        if plan.bgp is not None:
            served = [gw.network, *gw.mirror]
            reflector = run_step(
                f"{plan.gateway.name}-bgp",
                access,
                plan.gateway,
                bgp.bgp_step(plan, plan.gateway),
                parent=self,
                depends_on=[*after, *served],
            )
            self.ready.append(reflector)
            for node in plan.nodes:
                self.ready.append(
                    run_step(
                        f"{node.name}-bgp",
                        access,
                        node,
                        bgp.bgp_step(plan, node),
                        parent=self,
                        depends_on=[*after, args.nodes[node.name].network, reflector, *served],
                    )
                )
        if plan.kubeadm.kubernetes.kube_proxy.mode == "ipvs":
            for node in plan.nodes:
                step = bgp.ipvs_preflight_step(node)
                self.ready.append(
                    run_step(f"{node.name}-ipvs-preflight", access, node, step, parent=self, depends_on=after)
                )
        self.register_outputs({})


def bgp_commands(component: NodeNetwork) -> list[remote.Command]:
    return [r for r in component.ready if isinstance(r, remote.Command)]


@dataclass(frozen=True)
class NetworkPolicyArgs:
    checks: PolicyChecks
    kubeconfig: pulumi.Output[str]  # the master's admin kubeconfig (a secret)
    pull_policy: str | None
    cluster: pulumi.Resource | None = None  # as WorkloadChecksArgs.cluster


class NetworkPolicy(pulumi.ComponentResource):
    """kube-network-policies as a DaemonSet in kube-system (upstream's install.yaml, field by field), then the
    policy check: a default-deny namespace with a guarded echo server, the allow rules, and one Job per
    client; `results`: each Job's verdict, as the test workloads' are."""

    results: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: NetworkPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:NetworkPolicy", name, None, opts)
        c = args.checks
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, replace_with=[args.cluster] if args.cluster else None),
        )
        base = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on(opts))
        system = {"name": NAME, "namespace": "kube-system"}
        account = KubernetesObject(SERVICE_ACCOUNT, f"{name}-account", {"metadata": system}, base)
        role = KubernetesObject(
            CLUSTER_ROLE,
            f"{name}-role",
            {
                "metadata": {"name": NAME},
                "rules": [
                    {"apiGroups": [group], "resources": list(res), "verbs": ["list", "watch"]} for group, res in RULES
                ],
            },
            base,
        )
        binding = KubernetesObject(
            CLUSTER_ROLE_BINDING,
            f"{name}-binding",
            {
                "metadata": {"name": NAME},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": "kube-system"}],
            },
            base,
        )
        labels = {"app": NAME, "k8s-app": NAME, "tier": "node"}
        daemon = KubernetesObject(
            DAEMON_SET,
            f"{name}-daemonset",
            {
                "metadata": {"name": NAME, "namespace": "kube-system", "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"app": NAME}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "hostNetwork": True,
                            "dnsPolicy": "ClusterFirst",
                            "nodeSelector": {"kubernetes.io/os": "linux"},
                            "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                            "serviceAccountName": NAME,
                            "containers": [
                                fields(
                                    name=NAME,
                                    image=IMAGE,
                                    imagePullPolicy=args.pull_policy,
                                    args=daemon_args(),
                                    env=[
                                        {
                                            "name": "MY_NODE_NAME",
                                            "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                                        }
                                    ],
                                    resources={"requests": {"cpu": "100m", "memory": "50Mi"}},
                                    securityContext={"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}},
                                )
                            ],
                        },
                    },
                },
            },
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[account, role, binding]),
        )
        self.results = self._checks(name, c, provider, daemon)
        self.register_outputs({"results": self.results})

    def _checks(
        self, name: str, c: PolicyChecks, provider: k8s.Provider, daemon: KubernetesObject
    ) -> pulumi.Output[dict[str, str]]:
        ns = KubernetesObject(
            NAMESPACE,
            f"{name}-namespace",
            {"metadata": {"name": c.namespace}},
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[daemon]),
        )
        in_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        app = {"app": GUARDED}
        guarded = KubernetesObject(
            DEPLOYMENT,
            f"{name}-guarded",
            {
                "metadata": {"name": GUARDED, "namespace": c.namespace},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": app},
                    "template": {
                        "metadata": {"labels": app},
                        "spec": fields(
                            affinity=on_nodes((c.guarded_node,)),
                            containers=[
                                fields(
                                    name="echo",
                                    image=c.image,
                                    imagePullPolicy=c.pull_policy,
                                    args=["netexec", f"--http-port={GUARDED_PORT}"],
                                    ports=[{"containerPort": GUARDED_PORT}],
                                    # The kubelet's probe comes from the node (root), which the rules let through.
                                    readinessProbe={"httpGet": {"path": "/healthz", "port": GUARDED_PORT}},
                                )
                            ],
                        ),
                    },
                },
            },
            in_ns,
        )
        service = KubernetesObject(
            SERVICE,
            f"{name}-guarded-service",
            {
                "metadata": {"name": GUARDED, "namespace": c.namespace},
                "spec": {
                    "selector": app,
                    "ipFamilies": ["IPv6"],
                    "ipFamilyPolicy": "SingleStack",
                    "ports": [{"port": 80, "targetPort": GUARDED_PORT}],
                },
            },
            in_ns,
        )
        port = [{"port": GUARDED_PORT, "protocol": "TCP"}]

        def allow(policy: str, peer: dict[str, Any]) -> KubernetesObject:
            """Ingress to the guarded echo server's port from `peer` (a NetworkPolicyPeer) only."""
            return KubernetesObject(
                NETWORK_POLICY,
                f"{name}-{policy}",
                {
                    "metadata": {"name": policy, "namespace": c.namespace},
                    "spec": {
                        "podSelector": {"matchLabels": app},
                        "policyTypes": ["Ingress"],
                        "ingress": [{"from": [peer], "ports": port}],
                    },
                },
                in_ns,
            )

        policies = [
            KubernetesObject(
                NETWORK_POLICY,
                f"{name}-default-deny",
                {
                    "metadata": {"name": "default-deny-ingress", "namespace": c.namespace},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
                },
                in_ns,
            ),
            allow("allow-named-client", {"podSelector": {"matchLabels": {CLIENT_LABEL: ALLOWED}}}),
            allow("allow-ipblock", {"ipBlock": {"cidr": c.ip_block}}),
        ]
        after = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[guarded, service, *policies])
        results = {}
        for check, client in c.clients.items():
            tolerations = (
                [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}] if client.on_master else None
            )
            job = KubernetesObject(
                JOB,
                f"{name}-{check}",
                {
                    "metadata": {"name": f"check-{check.lower()}", "namespace": c.namespace},
                    "spec": {
                        "backoffLimit": 1,
                        "template": {
                            "metadata": fields(labels=client.labels or None),
                            "spec": fields(
                                restartPolicy="Never",
                                affinity=on_nodes((client.node,)),
                                tolerations=tolerations,
                                containers=[
                                    fields(
                                        name="check",
                                        image=c.check_image,
                                        imagePullPolicy=c.pull_policy,
                                        command=["sh", "-c", client.check.script],
                                    )
                                ],
                            ),
                        },
                    },
                },
                after,
            )
            results[check] = job.status.apply(lambda status, what=client.check.proves: f"{verdict(status)}: {what}")
        return pulumi.Output.all(**results)
