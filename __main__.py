"""kube-v6: stack config -> validated model -> plan -> rendered files -> resources -> outputs."""

import gc
import signal

from components import (
    BridgeCniConfig,
    KubeadmMaster,
    KubeadmMinion,
    KubeNode,
    LibvirtInfra,
    Nat64Gateway,
    SshKeyPair,  # fmt: skip
    TestWorkloads,
    ssh_access,
)
from components.mirror import mirror_content
from components.outputs import export_outputs
from config_schemas.pulumi_config import load_stack_config
from planning import make_plan

# The engine stops the program with SIGINT when a resource fails or the operator cancels. The program
# holds nothing to clean up: end at once rather than print the language host's KeyboardInterrupt traceback.
signal.signal(signal.SIGINT, signal.SIG_DFL)
# Resources, outputs and the SDK's tasks live until the program ends and make few garbage cycles,
# yet the cyclic collector's full passes rescanned all of them: a fifth of a 500-minion evaluation
# (benchmarks/scale_figures.py). Young objects are collected less often, old ones hardly ever.
gc.set_threshold(50_000, 50, 100)

loaded, configured_key = load_stack_config()  # every config error is reported here, before any resource
plan = make_plan(loaded.cluster)
stages = plan.config.stages
# Air-gapped: what the gateway's mirror serves, read from the local build (a clear error if missing).
mirror = mirror_content(plan) if stages.install and plan.config.kubernetes.artifacts == "mirror" else None
keys = SshKeyPair("ssh", configured_key, plan.config.ssh.public_key)
access = ssh_access(plan, keys.private_key)
infra = LibvirtInfra("libvirt", plan) if plan.config.platform.kind == "libvirt" else None

#            IPv4 internet
#                  |
#   [Nat64Gateway: NAT64 + DNS64]  ---- IPv6-only node network ----  [master]  [minion 1] ... [minion N]
gateway = Nat64Gateway(plan.gateway.name, plan, access, keys.public_key, infra, mirror)
nodes = {n.name: KubeNode(n.name, plan, n, access, keys.public_key, infra, gateway.ready, mirror) for n in plan.nodes}
cni = {n.name: BridgeCniConfig(f"{n.name}-cni", plan, n, access, depends_on=nodes[n.name].ready) for n in plan.nodes}

master = minions = workloads = None
if stages.kubeadm:
    m = plan.master
    master = KubeadmMaster(
        "kubeadm-master", plan, access, depends_on=[*nodes[m.name].ready, cni[m.name], *gateway.ready]
    )
    minions = [KubeadmMinion(f"kubeadm-{n.name}", plan, n, access, master, [*nodes[n.name].ready, cni[n.name]])
               for n in plan.minions]  # fmt: skip
if master and stages.workloads:
    workloads = TestWorkloads("checks", plan, master.kubeconfig, depends_on=[master.init, *(j.join for j in minions)])
export_outputs(plan, master, workloads)
