"""An in-place Kubernetes upgrade through `pulumi up`: `lab-k8s` up at the release of
artifacts/upgrade-from/versions.env (1.35.4 on containerd 2.2), then the stack config moved to the
main release (1.36.1 on containerd 2.3): `kubeadm upgrade apply` on the master, then one minion at
a time (drained, `kubeadm upgrade node`, its kubelet on the new binary, uncordoned); every node and
the control plane report the new version, the certificates were renewed, the workloads pass; a
second `up` changes nothing; the master reset by hand (the cluster gone), `destroy` still completes
and returns every host to its snapshot.

Needs both artifact sets (`bash scripts/build-artifacts.sh` and `... --set=upgrade-from`); a lab
of its own (marker `upgrade`), not in scripts/test.sh until it has run green here:
`KUBEV6_LAB_INSTANCE=u pytest -m upgrade tests/k8s/test_upgrade.py`.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from config_schemas.versions import KUBERNETES_VERSION, ROOT, artifacts_dir, read_versions
from harness.commons.engine import OpResult
from harness.enginelab.engine_lab import EngineLab
from harness.k8slab.k8s_checks import run_k8s_checks
from planning import make_plan
from planning.plan import ClusterPlan
from tests.helpers.engine import TIMINGS, destroy_to_snapshots

pytestmark = [pytest.mark.k8s, pytest.mark.engine, pytest.mark.lab, pytest.mark.upgrade]

STACK = "lab-k8s"
FROM = read_versions(ROOT / "artifacts" / "upgrade-from" / "versions.env")
OLD, OLD_CONTAINERD = FROM["KUBERNETES_VERSION"], FROM["CONTAINERD_VERSION"]
NEW = KUBERNETES_VERSION
RESULTS: dict[str, OpResult] = {}


@pytest.fixture(scope="module")
def old_artifacts(artifacts: Path) -> Path:
    out = artifacts_dir(OLD)
    if not (out / "registry" / "registry.tar").is_file() or not (out / "bin" / "kubeadm").is_file():
        pytest.skip(
            f"Kubernetes {OLD} artifacts are not built in {out}: "
            "run `bash scripts/build-artifacts.sh --set=upgrade-from`"
        )
    return out


def _plan_at(cluster: EngineLab, version: str, containerd: str) -> ClusterPlan:
    cfg = cluster.lab.config
    k8s = cfg.kubernetes.model_copy(
        update={"version": version, "containerd": cfg.kubernetes.containerd.model_copy(update={"version": containerd})}
    )
    return make_plan(cfg.model_copy(update={"kubernetes": k8s}))


def _kubectl(kubeconfig: str, *args: str) -> Any:
    kubectl = artifacts_dir() / "bin" / "kubectl"
    with tempfile.NamedTemporaryFile("w", prefix="kv6-upgrade-", suffix=".conf") as f:
        os.chmod(f.name, 0o600)
        f.write(kubeconfig)
        f.flush()
        done = subprocess.run(
            [str(kubectl), "--kubeconfig", f.name, *args, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def _versions(kubeconfig: str) -> dict[str, set[str]]:
    """Each node's kubelet (what it reports, not the binary), and the image tags each
    kube-system component's pods run."""
    nodes = _kubectl(kubeconfig, "get", "nodes")["items"]
    found = {n["metadata"]["name"]: {n["status"]["nodeInfo"]["kubeletVersion"]} for n in nodes}
    for pod in _kubectl(kubeconfig, "-n", "kube-system", "get", "pods")["items"]:
        labels = pod["metadata"].get("labels", {})
        component = labels.get("component") or labels.get("k8s-app")
        if component:
            found.setdefault(component, set()).update(c["image"].rsplit(":", 1)[1] for c in pod["spec"]["containers"])
    return found


def _checks_pass(plan: ClusterPlan, up: OpResult) -> None:
    checks = run_k8s_checks(plan, str(up.outputs["kubeconfig"]), up.outputs)
    failed = [c.report() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    assert all(str(v).startswith("pass: ") for v in up.outputs["workloadChecks"].values()), up.outputs


def test_up_at_the_older_release(cluster: EngineLab, old_artifacts: Path) -> None:
    assert cluster.run is not None
    cluster.run.set_config("kubernetes.version", OLD, path=True)
    cluster.run.set_config("kubernetes.containerd.version", OLD_CONTAINERD, path=True)
    up = cluster.pulumi_up()
    RESULTS["old"] = up
    assert set(up.changes) == {"create"}, up.changes
    versions = _versions(str(up.outputs["kubeconfig"]))
    for node in cluster.lab.plan.nodes:
        assert versions[node.name] == {f"v{OLD}"}, versions
    assert versions["kube-apiserver"] == versions["kube-proxy"] == {f"v{OLD}"}, versions
    _checks_pass(_plan_at(cluster, OLD, OLD_CONTAINERD), up)


def test_a_version_one_minor_up_upgrades_in_kubeadm_s_order(cluster: EngineLab) -> None:
    assert cluster.run is not None
    cluster.run.set_config("kubernetes.version", NEW, path=True)
    cluster.run.remove_config("kubernetes.containerd.version", path=True)  # the main set's 2.3
    preview = cluster.run.preview()
    assert "create" not in preview.changes and "delete" not in preview.changes, preview.steps
    up = cluster.run.up()
    RESULTS["upgrade"] = up
    TIMINGS.append(f"{STACK} upgrade {OLD} -> {NEW}: {up.seconds:.1f}s ({up.changes})")
    # "read": the stack's reference to its own last outputs (program/deployed.py).
    assert set(up.changes) <= {"update", "same", "read"}, up.steps
    assert sorted(n for op, n in up.steps if op == "update") == sorted(n for op, n in preview.steps if op == "update")
    order = [name for op, name in up.steps if op == "update"]
    master = "kubeadm-master"
    minions = [f"kubeadm-{n.name}" for n in cluster.lab.plan.minions]
    # The control plane first, then the master's kubelet, then each minion's whole turn in turn.
    turns = [f"{master}-init", f"{master}-uncordon"]
    for m in minions:
        turns += [f"{m}-drain", f"{m}-kubelet", f"{m}-uncordon"]
    positions = [order.index(t) for t in turns]
    assert positions == sorted(positions), order
    kubeconfig = str(up.outputs["kubeconfig"])
    versions = _versions(kubeconfig)
    for node in cluster.lab.plan.nodes:
        assert versions[node.name] == {f"v{NEW}"}, versions
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
        assert versions[component] == {f"v{NEW}"}, versions
    new_images = read_versions()
    assert versions["etcd"] == {f"{new_images['ETCD_VERSION']}-{new_images['ETCD_IMAGE_REVISION']}"}, versions
    assert versions["kube-dns"] == {f"v{new_images['COREDNS_VERSION']}"}, versions
    assert not any(n["spec"].get("unschedulable") for n in _kubectl(kubeconfig, "get", "nodes")["items"])
    # `kubeadm upgrade apply` renewed the certificates: the API server's expires later than before.
    before = RESULTS["old"].outputs["certificateExpiry"]["apiserver"]
    after = up.outputs["certificateExpiry"]["apiserver"]
    assert datetime.datetime.fromisoformat(after) > datetime.datetime.fromisoformat(before), (before, after)
    assert up.outputs["liveSettings"]["kubev6:kubernetes.version"] == NEW
    _checks_pass(cluster.lab.plan, up)


def test_a_second_up_changes_nothing(cluster: EngineLab) -> None:
    assert cluster.run is not None
    again = cluster.run.up()
    assert again.changed == 0, again.steps


def test_destroy_completes_when_the_cluster_is_already_gone(cluster: EngineLab) -> None:
    """The master reset behind Pulumi's back: the Kubernetes objects cannot be deleted (the provider
    forgets them, `deleteUnreachable`), the minions' drains find no cluster; every host still ends
    as its snapshot."""
    master = cluster.lab.plan.master.name
    reset = "PATH=/usr/local/bin:$PATH kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock"
    done = cluster.lab.execs[master].run(["sh", "-c", reset])
    assert done.returncode == 0, done.stderr
    done = destroy_to_snapshots(cluster)
    TIMINGS.append(f"{STACK} upgrade lab: up at {OLD} {RESULTS['old'].seconds:.1f}s, destroy {done.seconds:.1f}s")
