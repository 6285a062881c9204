"""A lab host made again from nothing: what a reinstalled machine or a recreated disk is to the stack.

Every process of the host stops (its sshd, daemons, kubelet, containerd and the containers under
its cgroup root), its namespace, its own /etc entries and private state go, and the host is made
as the lab first made it: the same address on the switch (and the gateway's uplink), empty /etc
entries and state, an sshd that takes the lab's key. Its snapshot equals the one taken before the
first `pulumi up`; what the stack had done there is gone.
"""

from __future__ import annotations

import shutil

from harness.commons.shell import run
from harness.enginelab.sshd import PORT, start_sshd
from harness.netlab import node_config
from harness.netlab.internet import wait_listening
from harness.netlab.k8s_machine import create_cgroup_root, remove_cgroup_root
from harness.netlab.session import Lab
from harness.netlab.state import delete_namespace, stop_namespace_processes
from harness.netlab.topology import INTERNET_IF


def reinstall(lab: Lab, host_name: str) -> None:
    host = next(h for h in lab.plan.hosts if h.name == host_name)
    ns = lab.names.host_ns(host)
    cgroup = None
    if host.is_kube_node and lab.plan.kubeadm.kubernetes.kubelet.cgroup_root_prefix and lab.plan.stages.install:
        cgroup = lab.plan.kubeadm.cgroup_root(host.name).lstrip("/")
    stop_namespace_processes(ns)  # the daemons first: kubelet and containerd would restart containers
    if cgroup is not None:
        remove_cgroup_root(cgroup)
    # Its veths first: a namespace's links go with it only once the kernel gets to it.
    port = lab.names.switch_port(lab.names.host_short[host.name])
    run(["ip", "-n", lab.names.switch_ns, "link", "del", port], check=False)
    if host.name == lab.plan.gateway.name:
        run(["ip", "-n", lab.names.internet_ns, "link", "del", INTERNET_IF], check=False)
    delete_namespace(ns)
    shutil.rmtree(lab.state.path("private", ns), ignore_errors=True)
    lab.topology.add_host(host)
    if host.name == lab.plan.gateway.name:
        lab.topology.plug_uplink()
    lab.execs[host.name] = node_config.prepare_host(lab.plan, host, ns, lab.state)
    if cgroup is not None:
        create_cgroup_root(cgroup)
    start_sshd(host, lab.execs[host.name], lab.state)
    wait_listening(lab.execs[host.name], "tcp", host.address, PORT, 10)
    # A reinstall takes minutes, and the neighbours forget the old machine's link address by then;
    # this one took a second: forget it now (here, where Pulumi runs, only that address; in the
    # lab's other namespaces, which are ours, everything).
    run(["ip", "-6", "neigh", "flush", "to", str(host.address)], check=False)
    for other in lab.topology.namespaces():
        if other != ns:
            run(["ip", "-n", other, "neigh", "flush", "all"], check=False)
