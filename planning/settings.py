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
