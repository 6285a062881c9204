"""Day 2 rendered: the control plane converges when its config changes, then each node's rollout
(drain, kubelet, uncordon) in kubeadm's order; a version change kubeadm refuses is refused."""

from __future__ import annotations

import subprocess

import pytest

from config_schemas.stack_files import load_stack_file
from planning import make_plan
from planning.plan import ClusterPlan, HostPlan
from rendering import layout, steps, upgrade


def _plan(version: str = "1.36.1", **kubelet: object) -> ClusterPlan:
    cfg = load_stack_file("lab-k8s").cluster
    k8s = cfg.kubernetes.model_copy(
        update={"version": version, "kubelet": cfg.kubernetes.kubelet.model_copy(update=kubelet)}
    )
    return make_plan(cfg.model_copy(update={"kubernetes": k8s}))


def _init(plan: ClusterPlan) -> str:
    return steps.kubeadm_init_step(plan.kubeadm, plan.master).create


def _rollout(plan: ClusterPlan, node: HostPlan | None = None) -> upgrade.NodeRollout:
    """`node`'s rollout (the first minion's by default)."""
    return upgrade.node_rollout(plan.kubeadm, plan.master, node or plan.minions[0])


def test_init_converges_a_live_control_plane_instead_of_initialising_again() -> None:
    create = _init(_plan())
    init, converge, same = (
        create.index("kubeadm init --config"),
        create.index("kubeadm upgrade apply v1.36.1 --yes"),
        create.index("the control plane runs this config"),
    )
    assert create.index("if [ ! -f /etc/kubernetes/admin.conf ]") < init < converge < same
    assert f"elif ! cmp -s /etc/kubev6/kubeadm-init.yaml {layout.KUBEADM_APPLIED_PATH}" in create
    # The upgrade only where the API server runs another version, with the new kubeadm checked first.
    apply = create[create.index('if [ "$server" != "v1.36.1" ]') :]
    assert apply.index("kubeadm version -o short") < apply.index("kubeadm upgrade apply")
    for phase in ("upload-config all", "control-plane all", "addon kube-proxy"):
        assert f"kubeadm init phase {phase} --config /etc/kubev6/kubeadm-init.yaml" in create
    assert create.rstrip().endswith(f"cp -p /etc/kubev6/kubeadm-init.yaml {layout.KUBEADM_APPLIED_PATH}")
    assert layout.KUBEADM_APPLIED_PATH in steps.KUBEADM_INIT_DELETE, "destroy removes the record too"


def test_a_node_rollout_drains_upgrades_and_uncordons_only_when_something_changed() -> None:
    plan = _plan()
    minion = plan.minions[0]
    r = _rollout(plan, minion)
    assert '!= "v1.36.1" ] || exit 0  # upgraded already: no drain' in r.drain
    assert "drain kube-minion-1 --ignore-daemonsets --delete-emptydir-data --timeout=5m0s" in r.drain
    assert r.drain.index("annotate node kube-minion-1 --overwrite kubev6.dev/drained-for") < r.drain.index("drain kube")
    assert "kubeadm upgrade node --ignore-preflight-errors=SystemVerification" in r.kubelet
    assert "pkill" not in r.kubelet and "supervise.sh stop kubelet" in r.kubelet, "this node's kubelet only"
    assert "--kubeconfig /etc/kubernetes/kubelet.conf" in r.kubelet and "admin.conf" not in r.kubelet
    assert '[ -n "$drained" ] || exit 0' in r.uncordon, "a node cordoned by its operator stays cordoned"
    master = _rollout(plan, plan.master)
    assert "kubeadm upgrade node --" not in master.kubelet, "upgrade apply did the master's part"
    assert "kubeadm upgrade node phase kubelet-config" in master.kubelet


def test_the_rollout_names_the_version_and_the_kubelet_config() -> None:
    """A changed version or kubelet setting changes every script (so Pulumi re-runs them); the
    same config renders the same bytes (so a second `up` changes nothing)."""
    base = _rollout(_plan())
    assert base == _rollout(_plan())
    newer = _rollout(_plan("1.36.3"))
    changed = _rollout(_plan(fail_cgroup_v1=True))
    assert newer.drain != base.drain and newer.kubelet != base.kubelet and newer.uncordon != base.uncordon
    # A kubelet setting re-runs the kubelet's script only: the drain and uncordon act on versions.
    assert changed.kubelet != base.kubelet and (changed.drain, changed.uncordon) == (base.drain, base.uncordon)
    hashes = {upgrade.kubelet_config_hash(p.kubeadm, p.master) for p in (_plan(), _plan(fail_cgroup_v1=True))}
    assert len(hashes) == 2


@pytest.mark.parametrize("script", ["drain", "kubelet", "uncordon"])
def test_rollout_scripts_are_valid_shell(script: str) -> None:
    r = _rollout(_plan())
    subprocess.run(["sh", "-n"], input=getattr(r, script), text=True, check=True)


def test_init_script_is_valid_shell() -> None:
    subprocess.run(["sh", "-n"], input=_init(_plan()), text=True, check=True)


def test_cert_expiry_is_read_after_the_converge_and_parsed() -> None:
    assert "v1.36.1" in upgrade.cert_expiry_command(_plan().kubernetes)
    assert upgrade.cert_expiry_command(_plan().kubernetes) != upgrade.cert_expiry_command(_plan("1.36.3").kubernetes)
    out = "apiserver 2027-12-02T02:00:00Z\nca 2036-11-30T02:00:00Z\n\n"
    assert upgrade.parse_cert_expiry(out) == {"apiserver": "2027-12-02T02:00:00Z", "ca": "2036-11-30T02:00:00Z"}
