"""Checks of the Kubernetes cluster `pulumi up` brought up, from this machine through the API
(the kubeconfig output, kept in a 0600 file while the checks run) and the stack's outputs."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import netaddr

from config_schemas.versions import artifacts_dir
from harness.commons.checks import CheckResult, Failure, timed_check
from harness.commons.shell import run
from planning.plan import ClusterPlan


def _kubectl(kubeconfig: Path, *args: str) -> dict[str, Any]:
    kubectl = artifacts_dir() / "bin" / "kubectl"
    res = run([str(kubectl), "--kubeconfig", str(kubeconfig), *args, "-o", "json"], check=True, timeout=60)
    return dict(json.loads(res.stdout))


def _ipv4(addresses: list[str]) -> list[str]:
    return [a for a in addresses if netaddr.valid_ipv4(a)]


def run_k8s_checks(
    plan: ClusterPlan, kubeconfig_text: str, outputs: Mapping[str, Any], timeout: float = 180
) -> list[CheckResult]:
    with tempfile.TemporaryDirectory(prefix="kv6-kubeconfig-") as tmp:
        kubeconfig = Path(tmp) / "admin.conf"
        kubeconfig.touch(mode=0o600)
        kubeconfig.write_text(kubeconfig_text)

        def nodes_ready(r: CheckResult) -> None:
            want = {n.name for n in plan.nodes}
            deadline = time.monotonic() + timeout
            while True:
                items = _kubectl(kubeconfig, "get", "nodes")["items"]
                ready = {
                    i["metadata"]["name"]
                    for i in items
                    if any(c["type"] == "Ready" and c["status"] == "True" for c in i["status"]["conditions"])
                }
                if ready >= want or time.monotonic() > deadline:
                    break
                time.sleep(2)
            r.summary = f"{len(ready & want)}/{len(want)} nodes Ready: {', '.join(sorted(ready & want))}"
            if want - ready:
                r.fail(Failure(f"not Ready after {timeout:.0f}s: {', '.join(sorted(want - ready))}"))

        def addresses_ipv6_only(r: CheckResult) -> None:
            nodes = _kubectl(kubeconfig, "get", "nodes")["items"]
            pods = _kubectl(kubeconfig, "get", "pods", "-A")["items"]
            planned = {n.name: str(n.address) for n in plan.nodes}
            for node in nodes:
                name = node["metadata"]["name"]
                internal = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
                if internal != [planned.get(name)]:
                    r.fail(Failure(f"node {name}: InternalIP {internal}, planned [{planned.get(name)}]"))
            for pod in pods:
                ips = [p["ip"] for p in pod["status"].get("podIPs", [])]
                if _ipv4(ips):
                    r.fail(Failure(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']} has IPv4 {ips}"))
            r.summary = f"{len(nodes)} nodes with their planned IPv6 InternalIP only; {len(pods)} pods, no IPv4"

        def runtime_pinned(r: CheckResult) -> None:
            # What each kubelet reports of its runtime (it asks containerd over CRI).
            want = f"containerd://{plan.kubeadm.kubernetes.containerd.version}"
            seen = {}
            for node in _kubectl(kubeconfig, "get", "nodes")["items"]:
                name, runtime = node["metadata"]["name"], node["status"]["nodeInfo"]["containerRuntimeVersion"]
                seen[name] = runtime
                if runtime != want:
                    r.fail(Failure(f"node {name} runs {runtime}, not {want}"))
            r.summary = f"{len(seen)} kubelets report {', '.join(sorted(set(seen.values())))}"

        def workloads_pass(r: CheckResult) -> None:
            results = outputs.get("workloadChecks")
            if not isinstance(results, dict) or not results:
                r.fail(Failure(f"no workload results in the stack outputs: {results!r}"))
                return
            for check, verdict in sorted(results.items()):
                if not str(verdict).startswith("pass"):
                    r.fail(Failure(f"{check}: {verdict}"))
            r.summary = "; ".join(f"{k}: {v}" for k, v in sorted(results.items()))

        def pods_in_node_cgroups(r: CheckResult) -> None:
            # Several kubelets on one host: each node's pods under its own cgroup root, none at the top.
            hierarchy = Path("/sys/fs/cgroup/pids")
            for node in plan.nodes:
                root = hierarchy / plan.kubeadm.cgroup_root(node.name).lstrip("/")
                if not (root / "kubepods").is_dir():
                    r.fail(Failure(f"{node.name}: no kubepods under its cgroup root {root}"))
            top = hierarchy / "kubepods"
            # Only this cluster's pods: another lab's kubelets on this machine are not this one's to judge.
            ours = set()
            for pod in _kubectl(kubeconfig, "get", "pods", "-A")["items"]:
                meta = pod["metadata"]
                ours |= {meta["uid"].replace("-", "_"), meta["uid"]}
                ours.add((meta.get("annotations") or {}).get("kubernetes.io/config.hash", ""))
            ours.discard("")
            stray = [
                p
                for p in (top.rglob("cgroup.procs") if top.is_dir() else [])
                if p.read_text().split() and any(part.removeprefix("pod") in ours for part in p.parts)
            ]
            if stray:
                r.fail(Failure(f"processes of pods outside every node's cgroup root: {', '.join(map(str, stray))}"))
            r.summary = f"pods of {len(plan.nodes)} nodes each under the node's cgroup root"

        checks = [
            timed_check("k8s_nodes_ready", nodes_ready),
            timed_check("k8s_addresses_ipv6_only", addresses_ipv6_only),
            timed_check("k8s_runtime_is_the_pinned_containerd", runtime_pinned),
            timed_check("k8s_workload_outputs_pass", workloads_pass),
        ]
        if plan.kubeadm.kubernetes.kubelet.cgroup_root_prefix:
            checks.append(timed_check("k8s_pods_in_node_cgroups", pods_in_node_cgroups))
        return checks
