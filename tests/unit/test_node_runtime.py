"""The node runtime as rendered: air-gapped (mirror) nodes fetch nothing from the internet, and the
settings unusual machines need come from the stack config, while a real machine keeps the defaults."""

from __future__ import annotations

from config_schemas.stack_files import load_stack_file
from planning.plan import make_plan
from rendering import kubeadm, node_install, steps
from rendering.node_install import MIRROR_BINARIES, MirrorContent

CONTENT = MirrorContent(MIRROR_BINARIES, ("etcd.tar", "pause.tar"))
TOKEN = "abcdef.0123456789abcdef"


def test_mirror_nodes_and_gateway_never_run_apt_and_install_from_the_gateway() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    node = plan.minions[0]
    step = steps.packages_step(plan, node, CONTENT)
    gateway = steps.gateway_packages_step(plan)
    for script in (step.create, step.delete, gateway.create):
        assert "apt-get" not in script
    mirror = f"http://[{plan.gateway.address}]:{plan.config.kubernetes.mirror.port}"
    for binary in MIRROR_BINARIES:
        assert f"{mirror}/bin/{binary}" in step.create
    for image in CONTENT.images:
        assert f"{mirror}/images/{image} | ctr -n k8s.io images import" in step.create
    assert "missing on this air-gapped host" in step.create and "missing on this air-gapped host" in gateway.create


def test_online_nodes_install_from_the_package_repositories() -> None:
    plan = make_plan(load_stack_file("dev").cluster)
    create = steps.packages_step(plan, plan.minions[0]).create
    assert "apt-get install" in create and "pkgs.k8s.io" in create


def test_unusual_machine_settings_come_from_the_stack_config() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    init, _, kubelet, proxy = kubeadm.init_documents(plan.kubeadm, plan.master, TOKEN)
    assert kubelet["cgroupDriver"] == "cgroupfs" and kubelet["failCgroupV1"] is False
    assert proxy["conntrack"] == {"maxPerCore": 0}
    registration = init["nodeRegistration"]
    assert registration["ignorePreflightErrors"] == ["SystemVerification"]
    assert {"name": "cgroup-root", "value": "/kubev6-lk-kube-master"} in registration["kubeletExtraArgs"]
    join = kubeadm.join_document(plan.kubeadm, plan.minions[1], TOKEN, "sha256:" + "0" * 64)
    assert {"name": "cgroup-root", "value": "/kubev6-lk-kube-minion-2"} in join["nodeRegistration"]["kubeletExtraArgs"]
    config = node_install.containerd_config(plan.kubeadm.kubernetes).content
    assert "SystemdCgroup = false" in config and "restrict_oom_score_adj = true" in config


def test_a_real_machine_keeps_the_defaults() -> None:
    plan = make_plan(load_stack_file("dev").cluster)
    init, _, kubelet, proxy = kubeadm.init_documents(plan.kubeadm, plan.master, TOKEN)
    assert kubelet["cgroupDriver"] == "systemd" and "failCgroupV1" not in kubelet
    assert "conntrack" not in proxy and "ignorePreflightErrors" not in init["nodeRegistration"]
    assert not any(a["name"] == "cgroup-root" for a in init["nodeRegistration"]["kubeletExtraArgs"])
    config = node_install.containerd_config(plan.kubeadm.kubernetes).content
    assert "SystemdCgroup = true" in config and "restrict_oom_score_adj" not in config


def test_kubeadm_delete_stops_the_kubelet_before_reset_and_names_the_cri_socket() -> None:
    delete = steps.KUBEADM_JOIN_DELETE
    assert delete.index("stop kubelet") < delete.index("kubeadm reset")
    assert f"--cri-socket {kubeadm.CRI_SOCKET}" in delete
    assert "nft delete table" in delete and "KUBE-" in delete
