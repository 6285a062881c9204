"""The cluster plan: addresses, pod subnets, routes and settings, through `config_schemas.derive`."""

from planning.plan import (
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

__all__ = [
    "ClusterPlan",
    "Dns64Plan",
    "HostPlan",
    "KubeadmPlan",
    "MirrorPlan",
    "Nat64Plan",
    "Route",
    "UplinkPlan",
    "make_plan",
]
