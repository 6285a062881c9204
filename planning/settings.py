"""Sub-plans that carry config sections as given, with nothing derived: frozen, typed copies.

Each consumer reads its own sub-plan, never the config model, so a change to the config's shape
stops at `make_plan`. Derived facts (addresses, routes, endpoints) stay in `planning/plan.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import netaddr

from config_schemas.model import ClusterConfig, LibvirtPlatform


@dataclass(frozen=True)
class StagesPlan:
    """Which stages run (`stages`): read by `__main__.py`, the components, `network_step` and the outputs."""

    install: bool
    kubeadm: bool
    workloads: bool


@dataclass(frozen=True)
class SshPlan:
    """How the stack reaches every machine (`ssh`): read by `components/remote.py` `ssh_access`,
    `program/machine_ids.py`, the SSH key pair in `__main__.py` and libvirt's cloud-init."""

    user: str
    port: int
    public_key: str | None
    dial_error_limit: int
    per_dial_timeout: int


@dataclass(frozen=True)
class LibvirtPlan:
    """The libvirt platform's settings (`platform` with kind: libvirt): read by
    `components/libvirt_infra.py` and the VM lab."""

    uri: str
    domain_type: Literal["kvm", "qemu"]
    base_image: str
    pool_path: str
    cluster_bridge: str
    uplink_bridge: str
    uplink_prefix: netaddr.IPNetwork
    vcpus: int
    memory_mib: int
    gateway_memory_mib: int
    disk_gib: int
    kernel: str | None
    initrd: str | None
    kernel_cmdline: tuple[str, ...] | None
    uplink_dns: bool


@dataclass(frozen=True)
class WorkloadsPlan:
    """The test workloads' settings (`workloads`) and how their images are pulled: read by
    `rendering/workloads.py` and `rendering/network_policy.py`."""

    namespace: str
    image: str
    check_image: str
    egress_url: str
    replicas: int
    pull_policy: str | None  # "Never" when air-gapped: the images were imported from the mirror


@dataclass(frozen=True)
class KubeletPlan:
    """The kubelet's settings (`kubernetes.kubelet`): read by `rendering/kubeadm.py`,
    `rendering/node_install.py` (the containerd cgroup driver) and `KubeadmPlan.cgroup_root`."""

    cgroup_driver: Literal["systemd", "cgroupfs"]
    fail_cgroup_v1: bool
    max_pods: int | None
    cgroup_root_prefix: str | None


@dataclass(frozen=True)
class ContainerdPlan:
    """The node runtime (`kubernetes.containerd`): read by `rendering/node_install.py` and
    `program/mirror_source.py` (the built runtime must match it)."""

    version: str
    runc_version: str
    restrict_oom_score_adj: bool


@dataclass(frozen=True)
class KubeProxyPlan:
    """kube-proxy's settings (`kubernetes.kubeProxy`): read by `rendering/kubeadm.py`,
    `components/network_addons.py` and `__main__.py` (ipvs needs the node network add-on)."""

    mode: Literal["iptables", "ipvs", "nftables"]
    conntrack_max_per_core: int | None


@dataclass(frozen=True)
class TimeoutsPlan:
    """kubeadm's v1beta4 timeouts (`kubernetes.timeouts`): read by `rendering/kubeadm.py`, and
    the kubelet health one by the rollouts' node waits (`rendering/steps.py`, `rendering/upgrade.py`)."""

    control_plane_component_health_check: str
    kubelet_health_check: str
    kubernetes_api_call: str
    discovery: str
    tls_bootstrap: str


@dataclass(frozen=True)
class KubernetesPlan:
    """The `kubernetes` section as given, less what `MirrorPlan` and `ApiLoadBalancerPlan` hold:
    `KubeadmPlan.kubernetes`, read by the kubeadm, node install, upgrade and step renderers."""

    version: str
    cluster_name: str
    artifacts: Literal["online", "mirror"]
    kubelet: KubeletPlan
    containerd: ContainerdPlan
    kube_proxy: KubeProxyPlan
    ignore_preflight_errors: tuple[str, ...]
    image_repository: str
    package_repository: str
    timeouts: TimeoutsPlan
    schedule_on_master: bool
    token_ttl: str
    join_token_ttl: str
    drain_timeout: str


def kubernetes_plan(cfg: ClusterConfig) -> KubernetesPlan:
    k = cfg.kubernetes
    kl, runtime, proxy, t = k.kubelet, k.containerd, k.kube_proxy, k.timeouts
    return KubernetesPlan(
        version=k.version,
        cluster_name=k.cluster_name,
        artifacts=k.artifacts,
        kubelet=KubeletPlan(kl.cgroup_driver, kl.fail_cgroup_v1, kl.max_pods, kl.cgroup_root_prefix),
        containerd=ContainerdPlan(runtime.version, runtime.runc_version, runtime.restrict_oom_score_adj),
        kube_proxy=KubeProxyPlan(proxy.mode, proxy.conntrack_max_per_core),
        ignore_preflight_errors=tuple(k.ignore_preflight_errors),
        image_repository=k.image_repository,
        package_repository=k.package_repository,
        timeouts=TimeoutsPlan(
            t.control_plane_component_health_check,
            t.kubelet_health_check,
            t.kubernetes_api_call,
            t.discovery,
            t.tls_bootstrap,
        ),
        schedule_on_master=k.schedule_on_master,
        token_ttl=k.token_ttl,
        join_token_ttl=k.join_token_ttl,
        drain_timeout=k.drain_timeout,
    )


def stages_plan(cfg: ClusterConfig) -> StagesPlan:
    s = cfg.stages
    return StagesPlan(install=s.install, kubeadm=s.kubeadm, workloads=s.workloads)


def ssh_plan(cfg: ClusterConfig) -> SshPlan:
    s = cfg.ssh
    return SshPlan(s.user, s.port, s.public_key, s.dial_error_limit, s.per_dial_timeout)


def libvirt_plan(cfg: ClusterConfig) -> LibvirtPlan | None:
    """None on existing machines."""
    p = cfg.platform
    if not isinstance(p, LibvirtPlatform):
        return None
    return LibvirtPlan(
        uri=p.uri,
        domain_type=p.domain_type,
        base_image=p.base_image,
        pool_path=p.pool_path,
        cluster_bridge=p.cluster_bridge,
        uplink_bridge=p.uplink_bridge,
        uplink_prefix=p.uplink_prefix,
        vcpus=p.vcpus,
        memory_mib=p.memory_mib,
        gateway_memory_mib=p.gateway_memory_mib,
        disk_gib=p.disk_gib,
        kernel=p.kernel,
        initrd=p.initrd,
        kernel_cmdline=None if p.kernel_cmdline is None else tuple(p.kernel_cmdline),
        uplink_dns=p.uplink_dns,
    )


def workloads_plan(cfg: ClusterConfig) -> WorkloadsPlan:
    w = cfg.workloads
    return WorkloadsPlan(
        namespace=w.namespace,
        image=w.image,
        check_image=w.check_image,
        egress_url=w.egress_url,
        replicas=w.replicas,
        pull_policy="Never" if cfg.kubernetes.artifacts == "mirror" else None,
    )
