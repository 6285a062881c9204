"""Addresses, pod subnets and route tables: pure functions of the validated config."""

from planning.plan import ClusterPlan, HostPlan, Route, make_plan

__all__ = ["ClusterPlan", "HostPlan", "Route", "make_plan"]
