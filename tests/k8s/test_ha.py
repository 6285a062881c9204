"""The highly available control plane on a cluster of its own (stack `lab-k8s-ha`, issue 25): three
masters with stacked etcd behind HAProxy on the gateway, one minion. `pulumi up`, the cluster's
checks, three started etcd members; a fault test (a non-first master's kubelet, containerd and
static pods stopped: the API still answers through the shared endpoint, a new pod schedules, the
workload checks pass again; the master back, its etcd member healthy again); a second `up` changes
nothing; 3 -> 2 masters refused at preview, 3 -> 1 removes both members (drain, etcd member, reset,
in that order, one master after the other), 1 -> 3 joins them again; `destroy` returns every host to
its first state.

Beside other labs: `KUBEV6_LAB_INSTANCE=h flock /work/logs/cluster.lock .venv/bin/python -m pytest
-m ha tests/k8s/test_ha.py` (a manual lab, outside scripts/test.sh)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.commons.engine import EngineEnv, EngineError, OpResult
from harness.enginelab.engine_lab import NODE_CHECKS, EngineLab
from harness.k8slab.k8s_checks import run_k8s_checks
from harness.netlab.k8s_machine import cgroup_root_pids
from harness.netlab.snapshot import diff, host_snapshot
from planning.plan import ClusterPlan
from rendering import layout
from rendering.layout import CONTAINERD_CONFIG_PATH, MIRROR_BIN_DIR, SUPERVISE_PATH
from rendering.workloads import APP
from tests.helpers.engine import TIMINGS, destroy_to_snapshots, engine_lab

pytestmark = [pytest.mark.k8s, pytest.mark.engine, pytest.mark.lab, pytest.mark.ha]

STACK = "lab-k8s-ha"
FAULTY = "kube-master-2"  # a master that is not the first (the first holds the day-2 commands)
CHECKS = ("podToPod", "serviceByName", "coreDns", "nat64Egress")
UP: dict[str, OpResult] = {}
# The figures also go to a file as they come (a run of this file alone prints no engine timings).
FIGURES = Path(__file__).resolve().parents[2] / ".state" / "ha-figures.txt"


def _note(line: str) -> None:
    TIMINGS.append(line)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {line}\n")


@pytest.fixture(scope="module")
def ha(artifacts: Path, env: EngineEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    yield from engine_lab(STACK, env, tmp_path_factory.mktemp(STACK))


def _kubectl(kubeconfig: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    kubectl = Path(os.environ.get("KUBEV6_ARTIFACTS", "/var/cache/kube-v6/artifacts/v1.36.1")) / "bin" / "kubectl"
    with tempfile.NamedTemporaryFile("w", prefix="kv6-ha-", suffix=".conf") as f:
        os.chmod(f.name, 0o600)
        f.write(kubeconfig)
        f.flush()
        done = subprocess.run(
            [str(kubectl), "--kubeconfig", f.name, "--request-timeout=20s", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


def _json(kubeconfig: str, *args: str) -> Any:
    return json.loads(_kubectl(kubeconfig, *args, "-o", "json").stdout)


def _etcdctl(kubeconfig: str, plan: ClusterPlan, *args: str) -> subprocess.CompletedProcess[str]:
    """etcdctl in the first master's etcd pod (the image holds it), with kubeadm's health-check client."""
    pki = "/etc/kubernetes/pki/etcd"
    return _kubectl(
        kubeconfig,
        "-n",
        "kube-system",
        "exec",
        f"etcd-{plan.master.name}",
        "--",
        "etcdctl",
        f"--endpoints=https://[{plan.master.address}]:2379",
        f"--cacert={pki}/ca.crt",
        f"--cert={pki}/healthcheck-client.crt",
        f"--key={pki}/healthcheck-client.key",
        "--command-timeout=10s",
        *args,
        check=False,
    )


def _members(kubeconfig: str, plan: ClusterPlan) -> list[dict[str, Any]]:
    done = _etcdctl(kubeconfig, plan, "member", "list", "-w", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["members"])


def _started(members: list[dict[str, Any]]) -> list[str]:
    """Names of the started voting members (an unstarted one has no name, a learner does not vote)."""
    return sorted(m["name"] for m in members if m.get("name") and m.get("clientURLs") and not m.get("isLearner"))


def _health(kubeconfig: str, plan: ClusterPlan) -> dict[str, bool]:
    done = _etcdctl(kubeconfig, plan, "endpoint", "health", "--cluster", "-w", "json")
    try:
        return {e["endpoint"]: bool(e["health"]) for e in json.loads(done.stdout)}
    except (json.JSONDecodeError, KeyError, TypeError):
        return {}


def _wait(what: str, condition: Any, timeout: float, every: float = 3) -> float:
    start = time.monotonic()
    while True:
        last = condition()
        if last is True:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout:.0f}s (last: {last})"
        time.sleep(every)


def _ready(kubeconfig: str) -> dict[str, bool]:
    nodes = _json(kubeconfig, "get", "nodes")["items"]
    return {
        n["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
        for n in nodes
    }


def _diagnose(kubeconfig: str, namespace: str, pod: str | None = None) -> str:
    """What a failed fault test shows: where the pods run, the probe's description, recent events."""
    parts = [
        _kubectl(kubeconfig, "get", "nodes", "-o", "wide", check=False).stdout,
        _kubectl(kubeconfig, "get", "pods", "-A", "-o", "wide", check=False).stdout,
        _kubectl(kubeconfig, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp", check=False).stdout[-3000:],
    ]
    if pod is not None:
        parts.append(_kubectl(kubeconfig, "-n", namespace, "describe", "pod", pod, check=False).stdout[-3000:])
    return "\n".join(parts)


def _checks_pass(plan: ClusterPlan, up: OpResult) -> None:
    checks = run_k8s_checks(plan, str(up.outputs["kubeconfig"]), up.outputs)
    failed = [c.report() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)
    results = up.outputs["workloadChecks"]
    assert set(results) == set(CHECKS) and all(str(v).startswith("pass: ") for v in results.values()), results


def test_up_brings_up_three_masters_with_three_etcd_members(ha: EngineLab) -> None:
    up = ha.pulumi_up()
    UP["first"] = up
    _note(f"{STACK} up: {up.seconds:.1f}s ({up.changes})")
    assert set(up.changes) == {"create"}, up.changes
    plan = ha.lab.plan
    checks = ha.lab.check(list(NODE_CHECKS))
    assert not [c.report() for c in checks if not c.ok]
    _checks_pass(plan, up)
    kubeconfig = str(up.outputs["kubeconfig"])
    assert f"server: https://{plan.api_endpoint}" in kubeconfig, "the kubeconfig goes through the shared endpoint"
    assert up.outputs["controlPlane"] == [m.name for m in plan.masters]
    nodes = _json(kubeconfig, "get", "nodes", "-l", "node-role.kubernetes.io/control-plane")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == sorted(m.name for m in plan.masters)
    members = _members(kubeconfig, plan)
    _note(f"{STACK} etcdctl member list:\n{_etcdctl(kubeconfig, plan, 'member', 'list').stdout}")
    assert _started(members) == sorted(m.name for m in plan.masters), members
    health = _health(kubeconfig, plan)
    assert len(health) == 3 and all(health.values()), health
    # Every API server answers behind HAProxy (its pods Running on each master).
    for master in plan.masters:
        pod = _json(kubeconfig, "-n", "kube-system", "get", "pod", f"kube-apiserver-{master.name}")
        assert pod["status"]["phase"] == "Running", master.name
    gateway = ha.lab.execs[plan.gateway.name]
    assert gateway.run(["cat", layout.HAPROXY_PIDFILE], check=False).ok


def test_the_certificate_key_is_in_no_state_or_log(ha: EngineLab) -> None:
    """The key that decrypts the uploaded control-plane certificates: a secret output, encrypted in
    state, in no log (kubeadm init and upload-certs run with --skip-certificate-key-print)."""
    assert ha.run is not None
    key = str(UP["first"].outputs["certificateKey"])
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key), "32 bytes, hex"
    haystacks = {"stack export": ha.run.export(), "engine log": ha.run.log_path.read_text()}
    haystacks |= {str(p): p.read_text(errors="replace") for p in ha.run.state_files()}
    init_log = ha.lab.execs[ha.lab.plan.master.name].run(["cat", "/var/log/kubev6-init.log"], check=False)
    haystacks["the first master's kubeadm init log"] = init_log.stdout
    assert "upload-certs" in init_log.stdout, "kubeadm init uploaded the certificates"
    for where, text in haystacks.items():
        assert key not in text, f"the certificate key in plaintext in {where}"


def _stop_master(ha: EngineLab, node: str) -> None:
    """Its kubelet, every container (the static pods: API server, etcd, controller manager,
    scheduler; kube-proxy) and containerd, as a lost machine would stop them."""
    exe = ha.lab.execs[node]
    exe.sh(
        f"{SUPERVISE_PATH} stop kubelet; PATH={MIRROR_BIN_DIR}:$PATH; "
        "for t in $(ctr -n k8s.io tasks ls -q); do ctr -n k8s.io tasks kill --signal SIGKILL $t; done; "
        f"sleep 2; {SUPERVISE_PATH} stop containerd",
        timeout=120,
    )
    root = (ha.lab.plan.kubeadm.cgroup_root(node) or "").lstrip("/")
    _wait(f"{node}'s pods gone", lambda: cgroup_root_pids(root) == [] or cgroup_root_pids(root), 60, every=1)


def _start_master(ha: EngineLab, node: str) -> None:
    ha.lab.execs[node].sh(
        f"{SUPERVISE_PATH} start containerd {MIRROR_BIN_DIR}/containerd --config {CONTAINERD_CONFIG_PATH} && "
        f"{SUPERVISE_PATH} start kubelet kubelet.sh",
        timeout=60,
    )


def test_a_lost_master_leaves_the_cluster_serving(ha: EngineLab) -> None:
    plan, kubeconfig = ha.lab.plan, str(UP["first"].outputs["kubeconfig"])
    start = time.monotonic()
    _stop_master(ha, FAULTY)
    stopped = time.monotonic() - start
    # The API answers through HAProxy at once and keeps answering (10 calls in a row).
    answering = _wait(
        "the API through the shared endpoint",
        lambda: all(_kubectl(kubeconfig, "get", "--raw", "/readyz", check=False).returncode == 0 for _ in range(10)),
        60,
        every=1,
    )
    health = _health(kubeconfig, plan)
    assert sorted(health.values()) == [False, True, True], health
    # The node monitor marks the lost master NotReady after its grace period; then its pods (a CoreDNS
    # replica may run on a master) leave the Services' endpoints.
    not_ready = _wait(f"{FAULTY} NotReady", lambda: _ready(kubeconfig).get(FAULTY) is False or None, 180)

    def dns_elsewhere() -> bool | list[str]:
        """Cluster DNS answers from other nodes only: none of its ready endpoints on the lost master,
        at least one elsewhere (a CoreDNS replica that ran on the lost master is started elsewhere
        once the node's NoExecute taint evicts it, 300 s after NotReady by default)."""
        slices = _json(kubeconfig, "-n", "kube-system", "get", "endpointslices", "-l",
                       "kubernetes.io/service-name=kube-dns")["items"]  # fmt: skip
        ready = [
            str(e.get("nodeName"))
            for s in slices
            for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready")
        ]
        return (FAULTY not in ready and bool(ready)) or ready

    dns_before = _json(kubeconfig, "-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns")["items"]
    _note(f"{STACK} fault: CoreDNS pods on {sorted(p['spec'].get('nodeName', '?') for p in dns_before)}")
    dns_moved = _wait(f"cluster DNS served from nodes other than {FAULTY}", dns_elsewhere, 420, every=5)
    # A new pod schedules (on the minion) and reaches the echo Service by name (`timeout`, not
    # `wget -T`: the check image's busybox 1.35 wget segfaults with -T, see rendering/workloads.py).
    namespace = plan.workloads.namespace
    probe = "ha-fault-probe"
    _kubectl(kubeconfig, "-n", namespace, "delete", "pod", probe, "--ignore-not-found", "--wait=true")
    pull = ["--image-pull-policy=Never"] if plan.kubeadm.kubernetes.artifacts == "mirror" else []
    url = f"http://{APP}.{namespace}.svc.{plan.kubeadm.dns_domain}/hostname"  # the Service: port 80
    _kubectl(kubeconfig, "-n", namespace, "run", probe, f"--image={plan.workloads.check_image}",
             "--restart=Never", *pull, "--", "sh", "-c", f"timeout 10 wget -q -O- {url}")  # fmt: skip

    def probe_done() -> bool | str:
        phase = str(_json(kubeconfig, "-n", namespace, "get", "pod", probe)["status"].get("phase"))
        if phase == "Failed":
            logs = _kubectl(kubeconfig, "-n", namespace, "logs", probe, check=False)
            raise AssertionError(
                f"the probe pod failed: {logs.stdout} {logs.stderr}\n{_diagnose(kubeconfig, namespace)}"
            )
        return phase == "Succeeded" or phase

    try:
        scheduled = _wait("the probe pod Succeeded", probe_done, 180)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(kubeconfig, namespace, probe)}") from None
    logs = _kubectl(kubeconfig, "-n", namespace, "logs", probe).stdout
    assert logs.startswith(APP), logs
    _kubectl(kubeconfig, "-n", namespace, "delete", "pod", probe, "--wait=false")
    # The workload checks again, by the engine through the shared endpoint: its Jobs replaced (the
    # old ones deleted first: a replacement is created before the old one goes, under the same name).
    assert ha.run is not None
    jobs = [f"check-{c.lower()}" for c in CHECKS]
    _kubectl(kubeconfig, "-n", namespace, "delete", "job", *jobs, "--cascade=foreground", "--wait=true", timeout=180)
    urns = [
        f"urn:pulumi:{STACK}::kube-v6::kubev6:index:TestWorkloads$kubernetes:batch/v1:Job::checks-{c}" for c in CHECKS
    ]
    again = ha.run.up(replace=urns)
    UP["fault"] = again
    results = again.outputs["workloadChecks"]
    assert all(str(v).startswith("pass: ") for v in results.values()), results
    # The master comes back: Ready, its etcd member healthy again, three started members.
    back = time.monotonic()
    _start_master(ha, FAULTY)
    _wait(f"{FAULTY} Ready", lambda: _ready(kubeconfig).get(FAULTY) or _ready(kubeconfig), 300)
    _wait("3 healthy etcd members", lambda: sorted(_health(kubeconfig, plan).values()) == [True] * 3 or None, 300)
    rejoined = time.monotonic() - back
    members = _members(kubeconfig, plan)
    assert _started(members) == sorted(m.name for m in plan.masters), members
    _note(f"{STACK} etcdctl endpoint health --cluster after the rejoin:\n"
          f"{_etcdctl(kubeconfig, plan, 'endpoint', 'health', '--cluster').stdout}")  # fmt: skip
    _note(
        f"{STACK} fault: stopped {FAULTY} in {stopped:.1f}s; API answering {answering:.1f}s later; NotReady "
        f"{not_ready:.1f}s after that; DNS only elsewhere {dns_moved:.1f}s after that; probe pod "
        f"Succeeded in {scheduled:.1f}s; checks re-run {again.seconds:.1f}s; back Ready with 3 healthy etcd "
        f"members {rejoined:.1f}s after its restart"
    )


def test_a_second_up_changes_nothing(ha: EngineLab) -> None:
    assert ha.run is not None
    again = ha.run.up()
    _note(f"{STACK} up again: {again.seconds:.1f}s ({again.changes})")
    assert again.changed == 0, again.steps


def test_an_even_number_of_masters_is_refused_at_preview(ha: EngineLab) -> None:
    assert ha.run is not None
    third = ha.lab.config.nodes[2]
    ha.run.remove_config("nodes[2]", path=True)
    try:
        with pytest.raises(EngineError, match=r"kubev6:nodes: 2 nodes have role: master"):
            ha.run.preview()
    finally:
        # Put nodes[2] back in place (the minion moved to nodes[2] when it was removed).
        minion = ha.lab.config.nodes[3]
        for index, node in ((2, third), (3, minion)):
            fields = {"name": node.name, "role": node.role, "address": str(node.address),
                      "podSubnet": str(node.pod_subnet)}  # fmt: skip
            for key, value in fields.items():
                ha.run.set_config(f"nodes[{index}].{key}", value, path=True)
    ha.run.preview(expect_no_changes=True)


def test_removing_two_masters_removes_their_etcd_members_first(ha: EngineLab) -> None:
    """3 -> 1: for each leaving master (the last joined first) its Node drained and deleted, its
    etcd member removed, its host reset; the first master alone holds etcd; the removed hosts are
    as before the first `up`."""
    assert ha.run is not None
    plan = ha.lab.plan
    ha.run.remove_config("nodes[2]", path=True)
    ha.run.remove_config("nodes[1]", path=True)
    up = ha.run.up()
    _note(f"{STACK} remove 2 masters: {up.seconds:.1f}s ({up.changes})")
    deleted = [name for op, name in up.steps if op == "delete"]
    for name in ("kube-master-3", "kube-master-2"):
        node, join = f"kubeadm-{name}-node", f"kubeadm-{name}-join"
        assert node in deleted and join in deleted, up.steps
        assert deleted.index(node) < deleted.index(join), "drained and deleted before the reset"
    assert deleted.index("kubeadm-kube-master-3-join") < deleted.index("kubeadm-kube-master-2-node"), "one at a time"
    kubeconfig = str(up.outputs["kubeconfig"])
    members = _members(kubeconfig, plan)
    _note(f"{STACK} etcdctl member list after the removal:\n{_etcdctl(kubeconfig, plan, 'member', 'list').stdout}")
    assert _started(members) == [plan.master.name], members
    assert sorted(_ready(kubeconfig)) == sorted([plan.master.name, *(m.name for m in plan.minions)])
    conf = ha.lab.execs[plan.gateway.name].run(["cat", layout.HAPROXY_CONF_PATH]).stdout
    assert [line.split()[1] for line in conf.splitlines() if line.strip().startswith("server ")] == [plan.master.name]
    for name in ("kube-master-2", "kube-master-3"):
        differences = diff(ha.before[name], host_snapshot(ha.lab.execs[name]))  # type: ignore[attr-defined]
        assert not differences, "\n".join(differences)
    assert all(str(v).startswith("pass: ") for v in up.outputs["workloadChecks"].values())
    again = ha.run.up()
    assert again.changed == 0, again.steps


def test_the_removed_masters_join_again(ha: EngineLab) -> None:
    """1 -> 3 on a live cluster: each master gets a token of its own and the certificates uploaded
    again on the first master right before its join (kubeadm deleted the first upload's), then joins
    the control plane; etcd has three started members again."""
    assert ha.run is not None
    plan = ha.lab.plan
    for index, node in enumerate(ha.lab.config.nodes[1:], start=1):  # the masters back at 1, 2; the minion at 3
        fields = {"name": node.name, "role": node.role, "address": str(node.address), "podSubnet": str(node.pod_subnet)}
        for key, value in fields.items():
            ha.run.set_config(f"nodes[{index}].{key}", value, path=True)
    up = ha.run.up()
    _note(f"{STACK} add 2 masters back: {up.seconds:.1f}s ({up.changes})")
    created = [name for op, name in up.steps if op == "create"]
    for name in ("kube-master-2", "kube-master-3"):
        assert {f"kubeadm-{name}-{part}" for part in ("token", "certs", "join", "node")} <= set(created), up.steps
    assert created.index("kubeadm-kube-master-2-node") < created.index("kubeadm-kube-master-3-token"), "one at a time"
    kubeconfig = str(up.outputs["kubeconfig"])
    assert _started(_members(kubeconfig, plan)) == sorted(m.name for m in plan.masters)
    _note(f"{STACK} etcdctl member list after adding them back:\n{_etcdctl(kubeconfig, plan, 'member', 'list').stdout}")
    _checks_pass(plan, up)
    again = ha.run.up()
    assert again.changed == 0, again.steps


def test_destroy_returns_every_host_to_its_snapshot(ha: EngineLab) -> None:
    done = destroy_to_snapshots(ha)
    _note(f"{STACK} destroy: {done.seconds:.1f}s")
