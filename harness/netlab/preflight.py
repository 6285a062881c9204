"""Can this stack run in the lab? Decided before anything is created or torn down.

A stack the lab cannot run used to fail half-way, after the lab had already wiped and created
namespaces: with Jool (its kernel module cannot be loaded here) as a ValueError, with a DNS64
upstream other than the lab's own resolver as a TimeoutError. Worse, `large` has the initials of
`lab`, so it would have torn down a running `lab` lab first. Every refusal is a `LabRefused`
with one line that says why.
"""

from __future__ import annotations

from config_schemas import ConfigError
from config_schemas.model import WELL_KNOWN_NAT64_PREFIX
from config_schemas.stack_files import load_stack_file, stack_file, stack_names
from harness.netlab.internet import TEST_NAME
from harness.netlab.naming import LabNames
from harness.netlab.topology import INTERNET_DNS, INTERNET_WEB
from planning.plan import ClusterPlan, make_plan


class LabRefused(ValueError):
    """The lab will not run this stack; the message is one line."""


def unrunnable(plan: ClusterPlan) -> list[str]:
    """Why the lab cannot run `plan` (empty: it can). Pure."""
    reasons = []
    if plan.nat64.engine != "tayga":
        reasons.append(
            f"gateway.nat64.engine is {plan.nat64.engine}: the lab runs TAYGA only "
            "(Jool needs its kernel module, which this machine cannot load)"
        )
    if INTERNET_DNS not in plan.dns64.upstream:
        upstream = ", ".join(str(u) for u in plan.dns64.upstream)
        reasons.append(
            f"gateway.dns64.upstream ({upstream}) lacks the lab internet's resolver {INTERNET_DNS}: DNS64 "
            "would never answer"
        )
    if plan.nat64_prefix == WELL_KNOWN_NAT64_PREFIX:
        reasons.append(
            f"network.nat64Prefix is the well-known {WELL_KNOWN_NAT64_PREFIX}, which may not translate the lab "
            f"internet's documentation address {INTERNET_WEB} (RFC 6052): use a network-specific prefix"
        )
    zone = TEST_NAME.rsplit(".", 1)[-1] + "."
    if plan.dns64.engine == "unbound" and not any(f"{TEST_NAME}.".endswith(z) for z in plan.dns64.local_zones):
        reasons.append(
            f"gateway.dns64.localZones lacks {zone}: Unbound refuses the lab internet's name {TEST_NAME} (RFC 6761)"
        )
    return reasons


def _load(stack: str) -> ClusterPlan:
    if not stack_file(stack).is_file():
        raise LabRefused(f"no stack {stack!r}: {stack_file(stack).name} does not exist (stacks: {_listing()})")
    try:
        return make_plan(load_stack_file(stack).cluster)
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise LabRefused(f"stack {stack!r}: {len(exc.problems)} config problem(s): {problems}") from None


def _listing() -> str:
    return ", ".join(stack_names()) or "none"


def runnable_stacks() -> list[str]:
    runnable = []
    for name in stack_names():
        try:
            if not unrunnable(_load(name)):
                runnable.append(name)
        except LabRefused:
            continue
    return runnable


def lab_plan(stack: str) -> ClusterPlan:
    """The plan of `stack` if the lab can run it; else LabRefused, naming the reason."""
    plan = _load(stack)
    reasons = unrunnable(plan)
    if reasons:
        runnable = ", ".join(runnable_stacks()) or "none"
        raise LabRefused(f"stack {stack!r} cannot run in the lab: {'; '.join(reasons)} (lab stacks: {runnable})")
    # Namespaces are named by the stack's initials: two runnable stacks with the same initials
    # would tear down each other's labs.
    prefix = LabNames.for_plan(stack, plan).prefix
    for other in runnable_stacks():
        if other != stack and LabNames.for_plan(other, _load(other)).prefix == prefix:
            raise LabRefused(
                f"stack {stack!r} would use the namespaces {prefix}-* of stack {other!r} (same initials): "
                "rename one of them"
            )
    return plan
