"""kube-v6: stack config -> validated model -> plan -> rendered steps -> resources -> outputs."""

import gc
import signal

from pulumi import Resource, ResourceOptions

from components import (
    BridgeCniConfig,
    BridgeCniConfigArgs,
    ExistingMachines,
    KubeadmControlPlaneMember,
    KubeadmControlPlaneMemberArgs,
    KubeadmMaster,
    KubeadmMasterArgs,
    KubeadmMinion,
    KubeadmMinionArgs,
    KubeNode,
    KubeNodeArgs,
    MachineIdentities,
    MachineIdentitiesArgs,
    Machines,
    Nat64Gateway,
    Nat64GatewayArgs,
    SshKeyPair,
    SshKeyPairArgs,
    WorkloadChecks,
    WorkloadChecksArgs,
    ssh_access,
)
from components.network_addons import NetworkPolicy, NetworkPolicyArgs, NodeNetwork, NodeNetworkArgs
from config_schemas.pulumi_config import load_stack_config
from planning import make_plan
from program.deployed import Deployed
from program.live_settings import refuse_live_changes
from program.machine_ids import machine_tokens
from program.mirror_source import mirror_content, mirror_source
from program.outputs import export_outputs
from rendering.network_policy import render_policy_checks
from rendering.workloads import render_workloads

# The engine stops the program with SIGINT when a resource fails or the operator cancels. The program
# holds nothing to clean up: end at once rather than print the language host's KeyboardInterrupt traceback.
signal.signal(signal.SIGINT, signal.SIG_DFL)
# Resources, outputs and the SDK's tasks live until the program ends and make few garbage cycles,
# yet the cyclic collector's full passes rescanned all of them: a fifth of a 500-minion evaluation
# (harness/benchmarks/scale_figures.py). Young objects are collected less often, old ones hardly ever.
gc.set_threshold(50_000, 50, 100)

loaded, configured_key = load_stack_config()  # every config error is reported here, before any resource
plan = make_plan(loaded.cluster)
stages = plan.stages
# A live cluster cannot take some changes (service subnet, master address, a version jump, ...):
# refused here, at preview, naming the key, before anything is declared.
# What the last `up` left, read back by the live-settings check and (existing hosts) the machine ids.
deployed = Deployed() if stages.kubeadm or plan.platform == "existing" else None
live = refuse_live_changes(plan, deployed) if deployed is not None and stages.kubeadm else None
# Air-gapped: what the gateway's mirror serves, read from the local build (a clear error if missing).
mirror = mirror_content(plan) if stages.install and plan.kubeadm.kubernetes.artifacts == "mirror" else None
keys = SshKeyPair("ssh", SshKeyPairArgs(configured_key, plan.ssh.public_key))
access = ssh_access(plan, keys.private_key)
machines: Machines
if plan.libvirt is not None:
    # Imported here: pulumi_libvirt costs every other stack's preview time and is not used there.
    from components.libvirt_infra import LibvirtInfra, LibvirtInfraArgs

    machines = LibvirtInfra("libvirt", LibvirtInfraArgs(plan, keys.public_key))
else:
    machines = ExistingMachines()
# Existing hosts: which machine each one is (a reinstalled one holds no token: its commands run again).
machine_ids: dict[str, str] | None = None
if deployed is not None and plan.platform == "existing":
    machine_ids = machine_tokens(plan, deployed, keys.private_key)
    identities = MachineIdentities("machines", MachineIdentitiesArgs(plan.hosts, access, machine_ids))
    access = access.with_identities(identities.by_host)

#            IPv4 internet
#                  |
#   [Nat64Gateway: NAT64 + DNS64 (+ HAProxy for several masters)]  ---- IPv6-only node network ----
#                                            [master 1] ([master 2] ...)  [minion 1] ... [minion N]
mirror_folder = mirror_source(plan) if mirror is not None else None
gateway = Nat64Gateway(plan.gateway.name, Nat64GatewayArgs(plan, access, machines, mirror, mirror_folder))
nodes = {n.name: KubeNode(n.name, KubeNodeArgs(plan, n, access, machines, gateway, mirror)) for n in plan.nodes}
cni = {
    n.name: BridgeCniConfig(
        f"{n.name}-cni", BridgeCniConfigArgs(n, access), ResourceOptions(depends_on=[nodes[n.name]])
    )
    for n in plan.nodes
}

# network.routing: bgp (a speaker per machine), kubeProxy.mode: ipvs (a preflight per node).
# BGP speakers and IPVS preflights, when the config asks for them (none with static routes).
addons_ready: list[Resource] = []
if plan.bgp is not None or plan.kubeadm.kubernetes.kube_proxy.mode == "ipvs":
    addons_ready = NodeNetwork("node-network", NodeNetworkArgs(plan, access, gateway, nodes)).ready

#   kubeadm init on the (first) master once its node, its CNI and the gateway are ready; joins once the
#   master's token and CA hash exist; the test workloads once every node has joined.
master: KubeadmMaster | None = None
workloads: WorkloadChecks | None = None
policy: NetworkPolicy | None = None
if stages.kubeadm:
    m = plan.master.name
    master = KubeadmMaster(
        "kubeadm-master",
        KubeadmMasterArgs(plan, access),
        ResourceOptions(depends_on=[nodes[m], cni[m], gateway, *addons_ready]),
    )
    # The other masters join the control plane one after another (stacked etcd grows one member at
    # a time); the minions join once the last of them is Ready.
    members: list[KubeadmControlPlaneMember] = []
    for n in plan.joining_masters:
        members.append(
            KubeadmControlPlaneMember(
                f"kubeadm-{n.name}",
                KubeadmControlPlaneMemberArgs(plan, n, access, master, (members[-1].node,) if members else ()),
                ResourceOptions(depends_on=[nodes[n.name], cni[n.name], *addons_ready]),
            )
        )
    joined_masters: list[Resource] = [members[-1].node] if members else []
    minions: list[KubeadmMinion] = []
    for n in plan.minions:
        # An upgrade drains and upgrades one minion at a time; otherwise their rollouts (no-ops, or
        # a kubelet config change) run side by side.
        after = (minions[-1].rollout_done,) if minions and live is not None and live.upgrading else ()
        minions.append(
            KubeadmMinion(
                f"kubeadm-{n.name}",
                KubeadmMinionArgs(plan, n, access, master, after),
                ResourceOptions(depends_on=[nodes[n.name], cni[n.name], *joined_masters]),
            )
        )
    if plan.network_policy == "kube-network-policies":
        policy = NetworkPolicy(
            "network-policy",
            NetworkPolicyArgs(
                render_policy_checks(plan.workloads, plan.kubeadm.dns_domain, plan.master, plan.minions),
                master.kubeconfig,
                render_workloads(plan.workloads, plan.kubeadm.dns_domain, plan.minions).pull_policy,
                master.init,
            ),
            ResourceOptions(depends_on=[master, *members, *minions]),
        )
    if stages.workloads:
        workloads = WorkloadChecks(
            "checks",
            WorkloadChecksArgs(
                render_workloads(plan.workloads, plan.kubeadm.dns_domain, plan.minions), master.kubeconfig, master.init
            ),
            ResourceOptions(depends_on=[master, *members, *minions, *addons_ready]),
        )
export_outputs(plan, master, workloads, live.wanted if live else None, policy.results if policy else None, machine_ids)
