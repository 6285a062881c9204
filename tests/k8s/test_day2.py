"""Day 2 of `lab-k8s` through `pulumi up`: up with one minion, the original bootstrap tokens
deleted, a minion added by config (it joins with a token made for its join, and its kubelet keeps
renewing its lease), a kubelet setting applied in place, the gateway and a minion reinstalled
(the next `up` makes them again), then the minion removed again (drained,
its Node deleted, its host reset, no route left pointing at it); a second `up` changes nothing;
`destroy` returns every host to its snapshot.

Run under an instance of its own beside other labs: `KUBEV6_LAB_INSTANCE=h pytest tests/k8s/test_day2.py`.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from config_schemas.model import ClusterConfig
from harness.commons.engine import EngineError, OpResult
from harness.enginelab.engine_lab import EngineLab
from harness.enginelab.reinstall import reinstall
from harness.k8slab.k8s_checks import run_k8s_checks
from harness.netlab.snapshot import diff, host_snapshot
from planning import make_plan
from planning.plan import ClusterPlan
from tests.helpers.engine import TIMINGS, destroy_to_snapshots

pytestmark = [pytest.mark.k8s, pytest.mark.engine, pytest.mark.lab]

STACK = "lab-k8s"
ADDED = "kube-minion-2"  # nodes[2] of the stack file
RESULTS: dict[str, OpResult] = {}


def _without_added(cfg: ClusterConfig) -> ClusterPlan:
    return make_plan(cfg.model_copy(update={"nodes": [n for n in cfg.nodes if n.name != ADDED]}))


def _kubectl(kubeconfig: str, *args: str) -> str:
    kubectl = Path(os.environ.get("KUBEV6_ARTIFACTS", "/var/cache/kube-v6/artifacts/v1.36.1")) / "bin" / "kubectl"
    with tempfile.NamedTemporaryFile("w", prefix="kv6-day2-", suffix=".conf") as f:
        os.chmod(f.name, 0o600)
        f.write(kubeconfig)
        f.flush()
        done = subprocess.run(
            [str(kubectl), "--kubeconfig", f.name, *args], capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def _json(kubeconfig: str, *args: str) -> Any:
    return json.loads(_kubectl(kubeconfig, *args, "-o", "json"))


def _bootstrap_tokens(kubeconfig: str) -> list[dict[str, Any]]:
    return _json(
        kubeconfig, "-n", "kube-system", "get", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token"
    )["items"]


def _renew_time(kubeconfig: str, node: str, wait: float = 60) -> datetime.datetime:
    """The Lease's renewTime. Right after a rejoin the lease can be missing for a moment: the garbage
    collector deletes the one the old Node owned, and the new kubelet makes it again at its next renewal."""
    deadline = time.monotonic() + wait
    while True:
        items = _json(kubeconfig, "-n", "kube-node-lease", "get", "leases", "--field-selector", f"metadata.name={node}")
        if items["items"]:
            renew = items["items"][0]["spec"]["renewTime"]
            return datetime.datetime.fromisoformat(renew.replace("Z", "+00:00"))
        assert time.monotonic() < deadline, f"no Lease of {node} in kube-node-lease for {wait:.0f}s"
        time.sleep(2)


def _checks_pass(plan: ClusterPlan, up: OpResult) -> None:
    checks = run_k8s_checks(plan, str(up.outputs["kubeconfig"]), up.outputs)
    failed = [c.report() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    results = up.outputs["workloadChecks"]
    assert all(str(v).startswith("pass: ") for v in results.values()), results


def _set_node(cluster: EngineLab, index: int) -> None:
    """nodes[index] as the lab's plan has it (this instance's addresses), set by path."""
    assert cluster.run is not None
    node = next(n for n in cluster.lab.config.nodes if n.name == ADDED)
    fields = {"name": node.name, "role": node.role, "address": str(node.address), "podSubnet": str(node.pod_subnet)}
    for key, value in fields.items():
        cluster.run.set_config(f"nodes[{index}].{key}", value, path=True)


def test_up_with_one_minion(cluster: EngineLab) -> None:
    assert cluster.run is not None
    cluster.run.remove_config("nodes[2]", path=True)
    up = cluster.pulumi_up()
    RESULTS["first"] = up
    assert set(up.changes) == {"create"}, up.changes
    assert ADDED not in up.outputs["nodes"]
    _checks_pass(_without_added(cluster.lab.config), up)


def test_the_original_bootstrap_tokens_are_deleted(cluster: EngineLab) -> None:
    kubeconfig = str(RESULTS["first"].outputs["kubeconfig"])
    assert _bootstrap_tokens(kubeconfig), "kubeadm init made a token"
    _kubectl(
        kubeconfig, "-n", "kube-system", "delete", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token"
    )
    assert _bootstrap_tokens(kubeconfig) == []


def test_an_added_minion_joins_with_a_token_made_for_it_and_keeps_its_lease(cluster: EngineLab) -> None:
    assert cluster.run is not None
    _set_node(cluster, 2)
    up = cluster.run.up()
    RESULTS["add"] = up
    TIMINGS.append(f"{STACK} day 2: add {ADDED}: {up.seconds:.1f}s ({up.changes})")
    assert "delete" not in up.changes, up.steps
    created = {name for op, name in up.steps if op == "create"}
    assert {f"kubeadm-{ADDED}-token", f"kubeadm-{ADDED}-join", f"kubeadm-{ADDED}-node"} <= created, up.steps
    kubeconfig = str(up.outputs["kubeconfig"])
    # The token made for the join exists, with this minion's description and a short lifetime.
    tokens = _bootstrap_tokens(kubeconfig)
    described = [t for t in tokens if "description" in t["data"]]
    assert len(described) == 1, tokens
    # A Node stays "Ready" for a while after its kubelet stopped: its lease must keep being renewed.
    first = _renew_time(kubeconfig, ADDED)
    time.sleep(60)
    later = _renew_time(kubeconfig, ADDED)
    now = datetime.datetime.now(datetime.UTC)
    assert later > first and (now - later).total_seconds() < 30, (first, later, now)
    _checks_pass(cluster.lab.plan, up)


def test_replacing_the_join_token_rejoins_the_minion_and_it_stays(cluster: EngineLab) -> None:
    """`--replace` of a minion's token: a new token, its Node drained and deleted, the host reset,
    the join again, the Node back, the old token deleted; in that order, so it ends joined."""
    assert cluster.run is not None
    kubeconfig = str(RESULTS["add"].outputs["kubeconfig"])
    before = _json(kubeconfig, "get", "node", ADDED)["metadata"]["uid"]
    urn = f"urn:pulumi:{STACK}::kube-v6::kubev6:index:KubeadmMinion$command:remote:Command::kubeadm-{ADDED}-token"
    up = cluster.run.up(replace=[urn])
    TIMINGS.append(f"{STACK} day 2: replace {ADDED}'s token (drain, reset, rejoin): {up.seconds:.1f}s")
    token, join, node_ = (f"kubeadm-{ADDED}-{part}" for part in ("token", "join", "node"))
    order = [(op, name) for op, name in up.steps if op in ("delete-replaced", "create-replacement")]
    assert order == [
        ("create-replacement", token), ("delete-replaced", node_), ("delete-replaced", join),
        ("create-replacement", join), ("create-replacement", node_), ("delete-replaced", token),
    ], up.steps  # fmt: skip
    node = _json(kubeconfig, "get", "node", ADDED)
    assert node["metadata"]["uid"] != before, "the Node was deleted and registered again"
    assert not node["spec"].get("unschedulable"), "the new Node is not left cordoned"
    first = _renew_time(kubeconfig, ADDED)
    time.sleep(45)
    later = _renew_time(kubeconfig, ADDED)
    assert later > first, "the rejoined kubelet renews its lease (a later reset did not undo the join)"
    described = [t for t in _bootstrap_tokens(kubeconfig) if "description" in t["data"]]
    assert described == [], "the replaced token's delete, after the new join, removes this minion's tokens"
    _checks_pass(cluster.lab.plan, up)


def test_a_kubelet_setting_is_applied_in_place(cluster: EngineLab) -> None:
    """`kubernetes.kubelet.maxPods`: the control plane re-uploads the kubelet config and each node's
    kubelet takes it (restarted); the preview names exactly what the `up` changes, and nothing else
    runs (no drain, no join)."""
    assert cluster.run is not None
    cluster.run.set_config("kubernetes.kubelet.maxPods", "150", path=True)
    preview = cluster.run.preview()
    up = cluster.run.up()
    TIMINGS.append(f"{STACK} day 2: kubelet maxPods in place: {up.seconds:.1f}s ({up.changes})")
    nodes = [n.name for n in cluster.lab.plan.nodes]
    expected = {"kubeadm-master-init", "kubeadm-master-kubelet"} | {
        f"kubeadm-{n.name}-kubelet" for n in cluster.lab.plan.minions
    }
    assert {n for op, n in preview.steps if op == "update"} == expected, preview.steps
    assert {n for op, n in up.steps if op == "update"} == expected and set(up.changes) <= {"update", "same"}
    kubeconfig = str(up.outputs["kubeconfig"])
    items = _json(kubeconfig, "get", "nodes")["items"]
    capacity = {n["metadata"]["name"]: n["status"]["capacity"]["pods"] for n in items}
    assert capacity == dict.fromkeys(nodes, "150"), capacity
    cluster.run.preview(expect_no_changes=True)
    _checks_pass(cluster.lab.plan, up)


def test_reinstalled_machines_converge_on_the_next_up(cluster: EngineLab) -> None:
    """The gateway and a minion come back empty (every process, file and route of theirs gone, as
    on a reinstalled machine): the preview replaces every command on them and nothing on the
    others, the `up` makes them again (the mirror copied to, NAT64 and DNS64 back, the minion's
    Node drained and deleted, a new token, the join), and the workloads pass."""
    assert cluster.run is not None
    lost = [cluster.lab.plan.gateway.name, "kube-minion-1"]
    kubeconfig = str(RESULTS["add"].outputs["kubeconfig"])
    node_uid = _json(kubeconfig, "get", "node", "kube-minion-1")["metadata"]["uid"]
    for name in lost:
        reinstall(cluster.lab, name)
        differences = diff(cluster.before[name], host_snapshot(cluster.lab.execs[name]))  # type: ignore[attr-defined]
        assert not differences, f"{name} is not as it was before the first up:\n" + "\n".join(differences)
    preview = cluster.run.preview()
    up = cluster.run.up()
    TIMINGS.append(f"{STACK} day 2: gateway and kube-minion-1 reinstalled, converged: {up.seconds:.1f}s ({up.changes})")
    replacing = ("replace", "create-replacement")
    replaced_by = {r.op: {n for op, n in r.steps if op in replacing} for r in (preview, up)}
    for replaced in replaced_by.values():
        assert {f"{h}-machine-id" for h in lost} <= replaced, replaced
        assert {"kubeadm-kube-minion-1-token", "kubeadm-kube-minion-1-join"} <= replaced, replaced
        assert not any(n.startswith(("kube-master-", f"{ADDED}-", "kubeadm-master-init")) for n in replaced), replaced
    assert replaced_by["preview"] == replaced_by["up"], "the preview names every replacement the up makes"
    node = _json(kubeconfig, "get", "node", "kube-minion-1")
    assert node["metadata"]["uid"] != node_uid, "the stale Node was deleted and the new machine registered"
    first = _renew_time(kubeconfig, "kube-minion-1")
    time.sleep(30)
    assert _renew_time(kubeconfig, "kube-minion-1") > first, "the new machine's kubelet renews its lease"
    _checks_pass(cluster.lab.plan, up)
    cluster.run.preview(expect_no_changes=True)


def test_a_live_setting_change_is_refused_at_preview(cluster: EngineLab) -> None:
    """The stack's own previous outputs (a StackReference of itself, file backend) hold the
    deployed values: a new service subnet or an older version fails the preview, naming the key."""
    assert cluster.run is not None
    subnet = str(cluster.lab.plan.service_subnet)
    cluster.run.set_config("network.serviceSubnet", subnet.replace("1234", "4321"), path=True)
    try:
        with pytest.raises(EngineError, match=r"kubev6:network\.serviceSubnet: the live cluster has"):
            cluster.run.preview()
    finally:
        cluster.run.set_config("network.serviceSubnet", subnet, path=True)
    version = cluster.lab.plan.kubeadm.kubernetes.version
    cluster.run.set_config("kubernetes.version", "1.36.0", path=True)
    try:
        with pytest.raises(EngineError, match=r"kubev6:kubernetes\.version: the cluster runs .*cannot go down"):
            cluster.run.preview()
    finally:
        cluster.run.set_config("kubernetes.version", version, path=True)
    cluster.run.preview(expect_no_changes=True)


def test_a_removed_minion_is_drained_deleted_reset_and_unrouted(cluster: EngineLab) -> None:
    assert cluster.run is not None
    cluster.run.remove_config("nodes[2]", path=True)
    up = cluster.run.up()
    RESULTS["remove"] = up
    TIMINGS.append(f"{STACK} day 2: remove {ADDED}: {up.seconds:.1f}s ({up.changes})")
    deleted = [name for op, name in up.steps if op == "delete"]
    assert f"kubeadm-{ADDED}-node" in deleted and f"kubeadm-{ADDED}-join" in deleted, up.steps
    kubeconfig = str(up.outputs["kubeconfig"])
    names = [n["metadata"]["name"] for n in _json(kubeconfig, "get", "nodes")["items"]]
    assert ADDED not in names, names
    assert _bootstrap_tokens(kubeconfig) == [], "the join's token goes with it"
    gone = next(n for n in cluster.lab.plan.nodes if n.name == ADDED)
    remaining = _without_added(cluster.lab.config)
    for host in remaining.hosts:
        routes = cluster.lab.execs[host.name].run(["ip", "-6", "route", "show"]).stdout
        stale = [r for r in routes.splitlines() if str(gone.pod_subnet) in r or f"via {gone.address} " in r]
        assert not stale, f"{host.name} still routes to {ADDED}: {stale}"
    # The removed host is back to the state it had before the first `up`.
    before = cluster.before[ADDED]  # type: ignore[attr-defined]
    differences = diff(before, host_snapshot(cluster.lab.execs[ADDED]))
    assert not differences, "\n".join(differences)
    _checks_pass(remaining, up)


def test_a_second_up_changes_nothing(cluster: EngineLab) -> None:
    assert cluster.run is not None
    again = cluster.run.up()
    assert again.changed == 0, again.steps


def test_destroy_returns_every_host_to_its_snapshot(cluster: EngineLab) -> None:
    done = destroy_to_snapshots(cluster)
    TIMINGS.append(f"{STACK} day 2: first up {RESULTS['first'].seconds:.1f}s, destroy {done.seconds:.1f}s")
