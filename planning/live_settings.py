"""What a live cluster cannot take in place, and the refusal of a config that changes it.

The stack records these values as its output `liveSettings` at every `up` with the kubeadm stage;
the next run reads them back (program/live_settings.py) and compares before it declares anything,
so `pulumi preview` already refuses, naming the key. Pure: values in, messages out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from planning.plan import ClusterPlan

VERSION_KEY = "kubev6:kubernetes.version"
# Recorded only when it is not the first master's own address (the stacks without it keep their record).
ENDPOINT_KEY = "kubev6:kubernetes.controlPlaneEndpoint"

# key -> why it cannot change under a running cluster (kubeadm writes it into certificates,
# static manifests, every kubelet's config and objects that live as long as the cluster).
FIXED: dict[str, str] = {
    "kubev6:network.serviceSubnet": "the API server's service range and every Service's ClusterIP (and "
    "CoreDNS's) were allocated from it",
    "kubev6:network.podSupernet": "kube-proxy's clusterCIDR and the pods' addresses come from it",
    "kubev6:network.dnsDomain": "every kubelet's clusterDomain and the API server certificate's names hold it",
    "kubev6:kubernetes.clusterName": "the kubeconfigs and certificates kubeadm issued name it",
    "kubev6:kubernetes.kubelet.cgroupDriver": "containerd's runc and every kubelet made the pods' cgroups with "
    "it: running pods would be lost to the other driver",
    "kubev6:kubernetes.kubelet.cgroupRootPrefix": "every node's pods run in the cgroups under it",
    "master.name": "the control plane's Node, certificates and etcd member carry the master's name",
    "master.address": "the API server's certificate, advertise address and every node's kubeconfig hold it",
    ENDPOINT_KEY: "every API server's certificate, every kubeconfig and kubelet, and kubeadm's cluster config hold it",
}
_FIX = "; to change it, `pulumi destroy` and `pulumi up` a new cluster"


def live_settings(plan: ClusterPlan) -> dict[str, str]:
    """The values the next run compares with (the keys of FIXED, and the Kubernetes version)."""
    return {
        "kubev6:network.serviceSubnet": str(plan.service_subnet),
        "kubev6:network.podSupernet": str(plan.pod_supernet),
        "kubev6:network.dnsDomain": plan.kubeadm.dns_domain,
        "kubev6:kubernetes.clusterName": plan.kubeadm.kubernetes.cluster_name,
        "kubev6:kubernetes.kubelet.cgroupDriver": plan.kubeadm.kubernetes.kubelet.cgroup_driver,
        "kubev6:kubernetes.kubelet.cgroupRootPrefix": plan.kubeadm.kubernetes.kubelet.cgroup_root_prefix or "(unset)",
        "master.name": plan.master.name,
        "master.address": str(plan.master.address),
        VERSION_KEY: plan.kubeadm.kubernetes.version,
        **({ENDPOINT_KEY: plan.api_endpoint} if plan.api_lb is not None else {}),
    }


def _endpoint(record: Mapping[str, object]) -> str | None:
    """The API endpoint a record holds: the endpoint key, else the first master's address (port 6443)."""
    if ENDPOINT_KEY in record:
        return str(record[ENDPOINT_KEY])
    address = record.get("master.address")
    return None if address is None else f"[{address}]:6443"


def _minor_patch(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise ValueError(f"{version!r} is not a Kubernetes release")
    return int(match[1]), int(match[2]), int(match[3])


def version_change_problem(deployed: str, wanted: str) -> str | None:
    """kubeadm's rule: one minor up at a time, never down. A patch or the next minor is an
    upgrade in kubeadm's order (rendering/upgrade.py); None: the change is allowed."""
    if deployed == wanted:
        return None
    old, new = _minor_patch(deployed), _minor_patch(wanted)
    where = f"{VERSION_KEY}: the cluster runs {deployed}, the config says {wanted}"
    if new < old:
        return f"{where}: Kubernetes cannot go down a version (kubeadm upgrades only forward)"
    if new[0] != old[0] or new[1] > old[1] + 1:
        return f"{where}: an upgrade skips no minor version: go to 1.{old[1] + 1} first"
    return None


def refused_changes(deployed: Mapping[str, object] | None, wanted: Mapping[str, str]) -> list[str]:
    """Each change of a value the live cluster cannot take, as `<key>: ...: <why>`; none without
    a deployed record (a new stack, or one destroyed)."""
    if not deployed:
        return []
    problems = []
    for key, why in FIXED.items():
        old, new = deployed.get(key), wanted.get(key)
        if key == ENDPOINT_KEY:
            if ENDPOINT_KEY not in deployed and ENDPOINT_KEY not in wanted:
                continue  # the first master's address, compared as master.address
            old, new = _endpoint(deployed), _endpoint(wanted)
        if old is not None and new is not None and str(old) != new:
            name = _key_name(key, wanted)
            problems.append(f"{name}: the live cluster has {old}, the config says {new}: it cannot change in place "
                            f"({why}){_FIX}")  # fmt: skip
    old_version = deployed.get(VERSION_KEY)
    if old_version is not None and VERSION_KEY in wanted:
        problem = version_change_problem(str(old_version), wanted[VERSION_KEY])
        if problem:
            problems.append(problem)
    return problems


def _key_name(key: str, wanted: Mapping[str, str]) -> str:
    # The master's entries are named as the operator finds them: its entry in kubev6:nodes.
    if key.startswith("master."):
        return f"kubev6:nodes[{wanted.get('master.name', '?')}].{key.removeprefix('master.')}"
    return key
