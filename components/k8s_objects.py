"""Kubernetes objects declared as the pulumi-kubernetes SDK declares them, without its classes.

Any class of `pulumi_kubernetes.core.v1` loads the group's generated input and output types: about
0.3 s of CPU at every `pulumi preview` of a stack with workloads, a third of the program's start,
and apps/batch/rbac/networking add 0.1 s more. The objects here are the provider's typed resources
all the same (so a preview works while the kubeconfig is unknown): the SDK class's type token,
apiVersion and kind, its output properties, its provider version and its aliases, and the fields in
the API's own spelling (camelCase, as the SDK serialises its Args). `harness.commons.program_dump
compare` shows the declarations equal to the SDK's; tests/unit/test_k8s_objects.py reads each
kind from the installed SDK class's source. The provider itself stays the SDK's
`pulumi_kubernetes.Provider` (it reads environment defaults; its module is small).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes import _utilities


@dataclass(frozen=True)
class Kind:
    token: str  # the resource type, e.g. kubernetes:apps/v1:Deployment
    aliases: tuple[str, ...] = ()  # the older types the SDK class aliases (so a state made with them matches)
    outputs: tuple[str, ...] = ("status",)  # output-only properties the SDK class declares

    @property
    def api_version(self) -> str:
        group, version = self.token.split(":")[1].split("/")
        return version if group == "core" else f"{group}/{version}"

    @property
    def kind(self) -> str:
        return self.token.rsplit(":", 1)[1]


NAMESPACE = Kind("kubernetes:core/v1:Namespace")
SERVICE = Kind("kubernetes:core/v1:Service")
SERVICE_ACCOUNT = Kind("kubernetes:core/v1:ServiceAccount", outputs=())
DEPLOYMENT = Kind(
    "kubernetes:apps/v1:Deployment",
    (
        "kubernetes:apps/v1beta1:Deployment",
        "kubernetes:apps/v1beta2:Deployment",
        "kubernetes:extensions/v1beta1:Deployment",
    ),
)
DAEMON_SET = Kind(
    "kubernetes:apps/v1:DaemonSet", ("kubernetes:apps/v1beta2:DaemonSet", "kubernetes:extensions/v1beta1:DaemonSet")
)
JOB = Kind("kubernetes:batch/v1:Job")
CLUSTER_ROLE = Kind(
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    (
        "kubernetes:rbac.authorization.k8s.io/v1alpha1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRole",
    ),
    outputs=(),
)
CLUSTER_ROLE_BINDING = Kind(
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    (
        "kubernetes:rbac.authorization.k8s.io/v1alpha1:ClusterRoleBinding",
        "kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRoleBinding",
    ),
    outputs=(),
)
NETWORK_POLICY = Kind("kubernetes:networking.k8s.io/v1:NetworkPolicy", ("kubernetes:extensions/v1beta1:NetworkPolicy",))


def fields(**values: Any) -> dict[str, Any]:
    """An object's fields without the unset ones (the SDK's Args leave out a None)."""
    return {k: v for k, v in values.items() if v is not None}


class KubernetesObject(pulumi.CustomResource):
    """One object of `kind`; `spec` holds its top-level fields but apiVersion and kind (metadata,
    spec, rules, ...), in the API's spelling. Output properties are attributes (`status`)."""

    status: pulumi.Output[Any]

    def __init__(
        self, kind: Kind, name: str, spec: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {"apiVersion": kind.api_version, "kind": kind.kind, **spec}
        props.update({output: None for output in kind.outputs})
        # The SDK's defaults first (its plugin version and download URL), then the caller's.
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        if kind.aliases:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=a) for a in kind.aliases])
            )
        super().__init__(kind.token, name, props, opts)
