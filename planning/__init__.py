"""The cluster plan: addresses, pod subnets, routes and settings, through `config_schemas.derive`."""

from planning.bgp import BgpPlan
from planning.plan import (
    ApiLoadBalancerPlan,
    ClusterPlan,
    Dns64Plan,
    HostPlan,
    KubeadmPlan,
    MirrorPlan,
    Nat64Plan,
    Route,
    UplinkPlan,
    make_plan,
)
from planning.settings import (
    ContainerdPlan,
    KubeletPlan,
    KubeProxyPlan,
    KubernetesPlan,
    LibvirtPlan,
    SshPlan,
    StagesPlan,
    TimeoutsPlan,
    WorkloadsPlan,
)

__all__ = [
    "ApiLoadBalancerPlan",
    "BgpPlan",
    "ClusterPlan",
    "ContainerdPlan",
    "Dns64Plan",
    "HostPlan",
    "KubeProxyPlan",
    "KubeadmPlan",
    "KubeletPlan",
    "KubernetesPlan",
    "LibvirtPlan",
    "MirrorPlan",
    "Nat64Plan",
    "Route",
    "SshPlan",
    "StagesPlan",
    "TimeoutsPlan",
    "UplinkPlan",
    "WorkloadsPlan",
    "make_plan",
]
