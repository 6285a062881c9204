"""The rendered upgrade (not wired, not run): kubeadm's order, one node at a time, idempotent."""

from __future__ import annotations

import pytest

from config_schemas.stack_files import load_stack_file
from planning import make_plan
from planning.plan import ClusterPlan
from rendering.upgrade import upgrade_sequence


def _plan(version: str = "1.36.1") -> ClusterPlan:
    cfg = load_stack_file("lab-k8s").cluster
    return make_plan(cfg.model_copy(update={"kubernetes": cfg.kubernetes.model_copy(update={"version": version})}))


def test_the_control_plane_first_then_one_node_at_a_time() -> None:
    plan = _plan()
    steps = upgrade_sequence(plan, "1.35.4")
    names = [s.name for s in steps]
    master = plan.master.name
    expected = [f"{master}-upgrade-apply", f"{master}-drain", f"{master}-kubelet", f"{master}-uncordon"]
    for n in plan.minions:
        expected += [f"{n.name}-upgrade-node", f"{n.name}-drain", f"{n.name}-kubelet", f"{n.name}-uncordon"]
    assert names == expected
    hosts = {s.name: s.host for s in steps}
    assert all(hosts[f"{n.name}-drain"] == master and hosts[f"{n.name}-uncordon"] == master for n in plan.nodes)
    assert all(hosts[f"{n.name}-upgrade-node"] == n.name for n in plan.minions)
    apply = steps[0].script
    assert "kubeadm upgrade apply v1.36.1 --yes --certificate-renewal=true" in apply
    assert apply.index("kubeadm version -o short") < apply.index("kubeadm upgrade apply"), "the new kubeadm first"
    assert '[ "$server" = "v1.36.1" ] ||' in apply, "a re-run after the apply does not apply again"
    kubelet = next(s.script for s in steps if s.name.endswith("minion-1-kubelet"))
    assert "pkill" not in kubelet and "supervise.sh stop kubelet" in kubelet, "this node's kubelet only"
    drain = next(s.script for s in steps if s.name.endswith("minion-1-drain"))
    assert "--timeout=5m0s" in drain and "exit 0" in drain.split("drain kube-minion-1")[0]


@pytest.mark.parametrize("deployed", ["1.37.0", "1.34.2"])
def test_what_kubeadm_refuses_is_not_rendered(deployed: str) -> None:
    with pytest.raises(ValueError, match=r"kubev6:kubernetes\.version"):
        upgrade_sequence(_plan(), deployed)


def test_no_change_no_steps() -> None:
    assert upgrade_sequence(_plan(), "1.36.1") == []
