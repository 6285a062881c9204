"""Thin ComponentResources that turn rendered steps into resources, one `Args` dataclass each.

`components.libvirt_infra` is not imported here: only libvirt stacks load pulumi_libvirt.
"""

from components.bridge_cni_config import BridgeCniConfig, BridgeCniConfigArgs
from components.kube_node import KubeNode, KubeNodeArgs
from components.kubeadm_control_plane import KubeadmControlPlaneMember, KubeadmControlPlaneMemberArgs
from components.kubeadm_master import KubeadmMaster, KubeadmMasterArgs
from components.kubeadm_minion import KubeadmMinion, KubeadmMinionArgs
from components.machines import ExistingMachines, MachineIdentities, MachineIdentitiesArgs, Machines
from components.nat64_gateway import Nat64Gateway, Nat64GatewayArgs
from components.remote import SshAccess, ssh_access
from components.ssh_keys import SshKeyPair, SshKeyPairArgs
from components.workload_checks import WorkloadChecks, WorkloadChecksArgs

__all__ = [
    "BridgeCniConfig",
    "BridgeCniConfigArgs",
    "ExistingMachines",
    "KubeNode",
    "KubeNodeArgs",
    "KubeadmControlPlaneMember",
    "KubeadmControlPlaneMemberArgs",
    "KubeadmMaster",
    "KubeadmMasterArgs",
    "KubeadmMinion",
    "KubeadmMinionArgs",
    "MachineIdentities",
    "MachineIdentitiesArgs",
    "Machines",
    "Nat64Gateway",
    "Nat64GatewayArgs",
    "SshAccess",
    "SshKeyPair",
    "SshKeyPairArgs",
    "WorkloadChecks",
    "WorkloadChecksArgs",
    "ssh_access",
]
