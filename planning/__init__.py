"""Addresses, pod subnets, route tables and derived settings: pure functions of the validated config."""

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
