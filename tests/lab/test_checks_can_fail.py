"""The checks are not vacuous: a plan with one route removed from one minion makes the
pod-to-pod check fail, naming the pods (name and address) that cannot reach each other."""

from __future__ import annotations

import dataclasses

import pytest

from config_schemas.stack_files import load_stack_file
from harness.netlab.session import lab_session
from planning.plan import make_plan

pytestmark = pytest.mark.lab


def test_missing_route_fails_pod_to_pod() -> None:
    plan = make_plan(load_stack_file("lab").cluster)
    m1, m2 = plan.minions[0], plan.minions[1]
    kept = tuple(r for r in m1.routes if r.destination != m2.pod_subnet)
    assert len(kept) == len(m1.routes) - 1
    broken = dataclasses.replace(
        plan, nodes=tuple(dataclasses.replace(n, routes=kept) if n.name == m1.name else n for n in plan.nodes)
    )
    with lab_session("lab", plan=broken, tag="lx", log=lambda msg: None) as lab:
        [pod_to_pod] = lab.check(["pod_to_pod"])
        [routes] = lab.check(["routes"])  # the kernel holds exactly what was (wrongly) rendered
        m1_pods = [p for p in lab.pods if p.node.name == m1.name]
        m2_pods = [p for p in lab.pods if p.node.name == m2.name]

    assert not pod_to_pod.ok
    assert routes.ok, routes.report()
    text = pod_to_pod.report()
    # Every m1 pod -> m2 pod pair fails, naming both pods; the reverse direction still works.
    assert len(pod_to_pod.failures) == len(m1_pods) * len(m2_pods), text
    for a in m1_pods:
        for b in m2_pods:
            assert any(
                f"pod {a.name} ({a.address})" in f.message and f"cannot reach pod {b.name} ({b.address})" in f.message
                for f in pod_to_pod.failures
            ), text
    for f in pod_to_pod.failures:
        assert f.namespace in {p.name for p in m1_pods}
        # The default route hides the missing route behind a detour through the gateway.
        assert plan.gateway.name in f.message, text
        assert "time exceeded" in f.output, text
