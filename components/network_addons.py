"""The network add-ons: `network.routing: bgp` (a BGP speaker on every machine), the IPVS preflight of
`kubernetes.kubeProxy.mode: ipvs`, and `network.policy: kube-network-policies` (its DaemonSet and the
policy check). Steps and objects are rendered by rendering/bgp.py and rendering/network_policy.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import remote

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
    """kube-network-policies as a DaemonSet in kube-system (upstream's install.yaml, typed), then the
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
        system = k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace="kube-system")
        account = k8s.core.v1.ServiceAccount(f"{name}-account", metadata=system, opts=base)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=list(res), verbs=["list", "watch"])
                for group, res in RULES
            ],
            opts=base,
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=NAME),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=NAME, namespace="kube-system")],
            opts=base,
        )
        labels = {"app": NAME, "k8s-app": NAME, "tier": "node"}
        daemon = k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace="kube-system", labels=labels),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": NAME}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        host_network=True,
                        dns_policy="ClusterFirst",
                        node_selector={"kubernetes.io/os": "linux"},
                        tolerations=[k8s.core.v1.TolerationArgs(operator="Exists", effect="NoSchedule")],
                        service_account_name=NAME,
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name=NAME,
                                image=IMAGE,
                                image_pull_policy=args.pull_policy,
                                args=daemon_args(),
                                env=[
                                    k8s.core.v1.EnvVarArgs(
                                        name="MY_NODE_NAME",
                                        value_from=k8s.core.v1.EnvVarSourceArgs(
                                            field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="spec.nodeName")
                                        ),
                                    )
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={"cpu": "100m", "memory": "50Mi"}
                                ),
                                security_context=k8s.core.v1.SecurityContextArgs(
                                    privileged=True,
                                    capabilities=k8s.core.v1.CapabilitiesArgs(add=["NET_ADMIN"]),
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[account, role, binding]),
        )
        self.results = self._checks(name, c, provider, daemon)
        self.register_outputs({"results": self.results})

    def _checks(
        self, name: str, c: PolicyChecks, provider: k8s.Provider, daemon: k8s.apps.v1.DaemonSet
    ) -> pulumi.Output[dict[str, str]]:
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=c.namespace),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[daemon]),
        )
        in_ns = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        app = {"app": GUARDED}
        guarded = k8s.apps.v1.Deployment(
            f"{name}-guarded",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GUARDED, namespace=c.namespace),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=app),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=app),
                    spec=k8s.core.v1.PodSpecArgs(
                        affinity=on_nodes((c.guarded_node,)),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="echo",
                                image=c.image,
                                image_pull_policy=c.pull_policy,
                                args=["netexec", f"--http-port={GUARDED_PORT}"],
                                ports=[k8s.core.v1.ContainerPortArgs(container_port=GUARDED_PORT)],
                                # The kubelet's probe comes from the node (root), which the rules let through.
                                readiness_probe=k8s.core.v1.ProbeArgs(
                                    http_get=k8s.core.v1.HTTPGetActionArgs(path="/healthz", port=GUARDED_PORT)
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=in_ns,
        )
        service = k8s.core.v1.Service(
            f"{name}-guarded-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GUARDED, namespace=c.namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector=app,
                ip_families=["IPv6"],
                ip_family_policy="SingleStack",
                ports=[k8s.core.v1.ServicePortArgs(port=80, target_port=GUARDED_PORT)],
            ),
            opts=in_ns,
        )
        port = [k8s.networking.v1.NetworkPolicyPortArgs(port=GUARDED_PORT, protocol="TCP")]

        def allow(policy: str, peer: k8s.networking.v1.NetworkPolicyPeerArgs) -> k8s.networking.v1.NetworkPolicy:
            """Ingress to the guarded echo server's port from `peer` only."""
            return k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=c.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=app),
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[peer], ports=port)],
                ),
                opts=in_ns,
            )

        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-default-deny",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=c.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"]
                ),
                opts=in_ns,
            ),
            allow(
                "allow-named-client",
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={CLIENT_LABEL: ALLOWED})
                ),
            ),
            allow(
                "allow-ipblock",
                k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=c.ip_block)),
            ),
        ]
        after = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[guarded, service, *policies])
        results = {}
        for check, client in c.clients.items():
            tolerations = (
                [k8s.core.v1.TolerationArgs(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")]
                if client.on_master
                else None
            )
            job = k8s.batch.v1.Job(
                f"{name}-{check}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"check-{check.lower()}", namespace=c.namespace),
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=1,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=client.labels or None),
                        spec=k8s.core.v1.PodSpecArgs(
                            restart_policy="Never",
                            affinity=on_nodes((client.node,)),
                            tolerations=tolerations,
                            containers=[
                                k8s.core.v1.ContainerArgs(
                                    name="check",
                                    image=c.check_image,
                                    image_pull_policy=c.pull_policy,
                                    command=["sh", "-c", client.check.script],
                                )
                            ],
                        ),
                    ),
                ),
                opts=after,
            )
            results[check] = job.status.apply(lambda status, what=client.check.proves: f"{verdict(status)}: {what}")
        return pulumi.Output.all(**results)
