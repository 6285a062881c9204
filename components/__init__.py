"""Thin ComponentResources that turn rendered files into resources."""

from components.bridge_cni_config import BridgeCniConfig
from components.kube_node import KubeNode
from components.kubeadm_master import KubeadmMaster
from components.kubeadm_minion import KubeadmMinion
from components.libvirt_infra import LibvirtInfra
from components.nat64_gateway import Nat64Gateway
from components.remote_steps import SshAccess, ssh_access
from components.ssh_keys import SshKeyPair
from components.test_workloads import TestWorkloads

__all__ = [
    "BridgeCniConfig",
    "KubeNode",
    "KubeadmMaster",
    "KubeadmMinion",
    "LibvirtInfra",
    "Nat64Gateway",
    "SshAccess",
    "SshKeyPair",
    "TestWorkloads",
    "ssh_access",
]
