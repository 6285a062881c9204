"""Step 3: pods. A pod is a network namespace attached by the CNI runtime with the node's
RENDERED conflist (read back from the node's /etc/cni/net.d, where step 2 installed it).

Each pod gets the node's resolv.conf (kubelet's `dnsPolicy: Default`: the pod resolves like
its node, i.e. through the gateway's DNS64) and runs a small HTTP server on port 8080 that
answers with the pod's name, so a TCP check knows which pod it reached.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Any

import netaddr

from harness.commons import webserver
from harness.commons.shell import HostExec, run
from harness.netlab.cni_runtime import LOOPBACK_CONFLIST, Attachment, CniRuntime, result_ips
from harness.netlab.naming import POD_IF
from harness.netlab.node_config import netns_etc_path
from harness.netlab.state import NETNS_ETC, LabState, delete_namespace
from planning.plan import HostPlan
from rendering import layout

POD_PORT = 8080


@dataclass(frozen=True)
class Pod:
    name: str  # also its namespace and CNI container id
    node: HostPlan
    node_ns: str
    address: netaddr.IPAddress
    result: dict[str, Any]

    @property
    def exec(self) -> HostExec:
        return HostExec(self.name)

    @property
    def label(self) -> str:
        return f"pod {self.name} ({self.address}) on {self.node.name}"


def page(name: str) -> str:
    return f"kv6lab-pod {name}\n"


def node_runtime(
    node_exec: HostExec, state: LabState, conflist: dict[str, Any] | None = None, *, pod_ns: str | None = None
) -> CniRuntime:
    """A runtime for the node's installed conflist (or `conflist`, e.g. loopback).

    With `pod_ns`, a conflist that is gone (`pulumi destroy` removed it) is replaced by the one
    cached with that pod's ADD result, as libcni does for DEL, so the pod can still be torn down."""
    cache = state.path("private", node_exec.namespace, "var-lib-cni", "results")
    if conflist is None:
        installed = netns_etc_path(node_exec.namespace, layout.CNI_CONFLIST_PATH)
        if installed.is_file() or pod_ns is None:
            conflist = json.loads(installed.read_text())
        else:
            cached = sorted(cache.glob(f"*-{pod_ns}-{POD_IF}"))
            if not cached:
                raise FileNotFoundError(f"{installed} is gone and no cached ADD of {pod_ns} holds its config")
            conflist = json.loads(cached[0].read_text())["config"]
    return CniRuntime(conflist, node_exec, cache)


def attachment(pod_ns: str, ifname: str) -> Attachment:
    return Attachment(container_id=pod_ns, netns=f"/run/netns/{pod_ns}", ifname=ifname)


def create_pod(node: HostPlan, node_exec: HostExec, pod_ns: str, state: LabState) -> Pod:
    run(["ip", "netns", "add", pod_ns])
    etc = NETNS_ETC / pod_ns
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(netns_etc_path(node_exec.namespace, layout.RESOLV_PATH), etc / "resolv.conf")
    node_runtime(node_exec, state, LOOPBACK_CONFLIST).add(attachment(pod_ns, "lo"))
    result = node_runtime(node_exec, state).add(attachment(pod_ns, POD_IF))
    ips = result_ips(result)
    if not ips:
        raise RuntimeError(f"CNI ADD for {pod_ns} returned no address: {json.dumps(result)}")
    address = netaddr.IPAddress(ips[0])
    www = state.path("www", pod_ns)
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text(page(pod_ns))
    pod = Pod(pod_ns, node, node_exec.namespace, address, result)
    pid = pod.exec.popen(
        webserver.argv(address, POD_PORT, www / "index.html"),
        state.log_path(f"{pod_ns}-http"),
    )
    state.record_pid(f"{pod_ns}-http", pid)
    return pod


def delete_pod(pod_ns: str, node_exec: HostExec, state: LabState) -> list[str]:
    """CNI DEL (reverse order, cached prevResult), then the namespace; returns errors (teardown goes on)."""
    errors = []
    for conflist, ifname in ((None, POD_IF), (LOOPBACK_CONFLIST, "lo")):
        try:
            node_runtime(node_exec, state, conflist, pod_ns=pod_ns).delete(attachment(pod_ns, ifname))
        except Exception as exc:
            errors.append(f"{pod_ns}: {exc}")
    delete_namespace(pod_ns)
    return errors
