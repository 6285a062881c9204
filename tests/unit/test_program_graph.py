"""The program under Pulumi mocks: every stack evaluates, and the resource graph is right."""

from __future__ import annotations

import re

import pulumi
import pytest

import config_schemas.pulumi_config as pulumi_config
from config_schemas.stack_files import load_stack_file, stack_names
from harness.commons.program_mocks import Recorder, run_program
from rendering import steps

# A line of routes.sh's route table (`up` applies each with `ip -6 route replace`).
ROUTE = re.compile(r"^(\S+) via (\S+) # ", re.M)
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in resource inputs


def unwrap_secret(value: object) -> tuple[object, bool]:
    if isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
        return value["value"], True
    return value, False


@pytest.fixture(autouse=True)
def _no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine running the tests may own fd00::/64 (as CI does); the local-route check
    # is tested on its own in test_config_errors.py.
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])


def count(rec: Recorder, type_: str) -> int:
    return len(rec.of_type(type_))


@pytest.mark.parametrize("stack", stack_names())
@pytest.mark.parametrize("preview", [False, True])
def test_every_stack_evaluates_with_one_component_per_machine(stack: str, preview: bool) -> None:
    cfg = load_stack_file(stack).cluster
    rec, outputs = run_program(stack, preview=preview)
    kube_nodes = len(cfg.nodes)
    minions = sum(n.role == "minion" for n in cfg.nodes)
    assert count(rec, "kubev6:index:Nat64Gateway") == 1
    assert count(rec, "kubev6:index:KubeNode") == kube_nodes
    assert count(rec, "kubev6:index:BridgeCniConfig") == kube_nodes
    assert count(rec, "kubev6:index:KubeadmMaster") == (1 if cfg.stages.kubeadm else 0)
    assert count(rec, "kubev6:index:KubeadmMinion") == (minions if cfg.stages.kubeadm else 0)
    masters = kube_nodes - minions
    assert count(rec, "kubev6:index:KubeadmControlPlaneMember") == (masters - 1 if cfg.stages.kubeadm else 0)
    assert count(rec, "kubev6:index:TestWorkloads") == (1 if cfg.stages.workloads else 0)
    libvirt = cfg.platform.kind == "libvirt"
    assert count(rec, "libvirt:index/domain:Domain") == (kube_nodes + 1 if libvirt else 0)
    assert count(rec, "libvirt:index/network:Network") == (2 if libvirt else 0)
    # One remote command per host per concern, never one per route.
    per_node = 2 + (1 if cfg.stages.install else 0)  # network, CNI, packages
    gateway = 3 + (1 if cfg.stages.install else 0)  # network, NAT64, DNS64, packages
    if cfg.stages.install and cfg.kubernetes.artifacts == "mirror":
        gateway += 1  # the mirror's server (its files are CopyToRemote resources)
    ha = cfg.kubernetes.control_plane_endpoint.mode == "gateway-haproxy"
    if ha and cfg.stages.kubeadm:
        gateway += 1  # HAProxy in front of the masters
    # init, CA hash, kubeconfig, the certificates' expiry and the master's rollout (drain, kubelet,
    # uncordon); per minion its token, its join, its Node (on the master) and its rollout; per other
    # master the same and the certificates' upload
    kubeadm = (7 + 6 * minions + 7 * (masters - 1)) if cfg.stages.kubeadm else 0
    # network.routing: bgp: a speaker per machine; kubeProxy.mode: ipvs: a preflight per node.
    addons = (kube_nodes + 1 if cfg.network.routing == "bgp" else 0) + (
        kube_nodes if cfg.kubernetes.kube_proxy.mode == "ipvs" else 0
    )
    # Existing hosts: each one's machine identity (libvirt: the domain is the machine).
    identities = 0 if libvirt else kube_nodes + 1
    assert count(rec, "kubev6:index:MachineIdentities") == (0 if libvirt else 1)
    assert count(rec, "command:remote:Command") == kube_nodes * per_node + gateway + kubeadm + addons + identities
    assert set(outputs["stages"].value) == {"network", "install", "kubeadm", "workloads"}
    names = [r.name for r in rec.resources]
    assert len(names) == len(set(names)), "resource names must be unique (they name URNs and parents)"


def test_resource_count_is_linear_in_nodes() -> None:
    from config_schemas.stack_files import raw_stack_config

    nodes = raw_stack_config("large")["nodes"]
    counts = {}
    for n in (2, 4, 7):  # 1 master + n-1 minions
        rec, _ = run_program("large", {"kubev6:nodes": nodes[:n]})
        counts[n] = len(rec.resources)
    # Per minion: KubeNode (+network, +packages), BridgeCniConfig (+conflist), KubeadmMinion (+token,
    # +join, +node, +drain, +kubelet, +uncordon), its machine identity.
    assert counts[4] - counts[2] == 2 * 13
    assert counts[7] - counts[4] == 3 * 13


def test_joins_take_the_token_and_ca_hash_from_the_master_through_the_graph() -> None:
    """The credentials reach the init and the joins on stdin (a secret), never in a script: Pulumi
    prints a failed command's script whole in its log."""
    rec, _ = run_program("dev")
    init = rec.named("kubeadm-master-init")
    stdin, secret = unwrap_secret(init.inputs["stdin"])
    assert secret and stdin == "stdout-of-kubeadm-master-token\n"
    assert "stdout-of-kubeadm-master-token" not in str(init.inputs["create"])
    for name in ("kube-minion-1", "kube-minion-2"):
        join = rec.named(f"kubeadm-{name}-join")
        stdin, secret = unwrap_secret(join.inputs["stdin"])
        assert secret, "the join's stdin holds the token: it must be a secret in state"
        # The mocks answer each command with "stdout-of-<name>": stdin holds the token made on the
        # master for this join (not init's standing token) and the CA hash, in order.
        assert stdin == f"stdout-of-kubeadm-{name}-token\nstdout-of-kubeadm-master-ca-cert-hash\n"
        script = str(join.inputs["create"])
        assert "stdout-of-kubeadm-" not in script and steps.TOKEN_PLACEHOLDER in script
        assert {f"{name}-network", f"{name}-packages", f"{name}-cni"} <= rec.all_depends_on(join.name)
    assert rec.parents["kubeadm-master-ca-cert-hash"] == "kubeadm-master"
    assert "kubeadm-master-init" in rec.all_depends_on("kubeadm-master-ca-cert-hash")


def test_master_waits_for_its_node_cni_and_the_gateway() -> None:
    rec, _ = run_program("dev")
    deps = rec.all_depends_on("kubeadm-master-init")
    assert {"kube-master-network", "kube-master-packages", "kube-master-cni"} <= deps
    assert {"kube-nat64-dns64-nat64", "kube-nat64-dns64-dns64"} <= deps


def test_workloads_wait_for_every_join() -> None:
    rec, _ = run_program("dev")
    workload_resources = [r.name for r in rec.resources if "checks" in rec.ancestors(r.name) or r.name == "checks"]
    assert any(r.startswith("checks-") for r in workload_resources)
    deps = rec.all_depends_on("checks-namespace")
    assert {"kubeadm-master-init", "kubeadm-kube-minion-1-join", "kubeadm-kube-minion-2-join"} <= deps
    jobs = rec.of_type("kubernetes:batch/v1:Job")
    assert {j.name for j in jobs} == {"checks-podToPod", "checks-serviceByName", "checks-coreDns", "checks-nat64Egress"}


@pytest.mark.parametrize("stack", stack_names())
def test_routes_cover_every_other_pod_subnet_and_the_nat64_prefix(stack: str) -> None:
    rec, outputs = run_program(stack)
    nodes = outputs["nodes"].value
    gateway = outputs["gateway"].value
    bgp = load_stack_file(stack).cluster.network.routing == "bgp"  # the speakers learn the pod /64s
    for name, node in nodes.items():
        routes = dict(ROUTE.findall(rec.named(f"{name}-network").inputs["create"]))
        expected = {} if bgp else {o["podSubnet"]: o["address"] for other, o in nodes.items() if other != name}
        expected[gateway["nat64Prefix"]] = gateway["address"]
        assert {k: routes.get(k) for k in expected} == expected
        assert node["podSubnet"] not in routes
        if bgp:
            assert not any(o["podSubnet"] in routes for o in nodes.values())
    gateway_routes = dict(ROUTE.findall(rec.named(f"{gateway['name']}-network").inputs["create"]))
    assert gateway_routes == ({} if bgp else {n["podSubnet"]: n["address"] for n in nodes.values()})


def test_cluster_secrets_are_secret_outputs_and_never_logged() -> None:
    rec, outputs = run_program("dev")
    for key in ("joinToken", "caCertHash", "kubeconfig", "apiEndpoint"):
        assert outputs[key].secret, key
    for key in ("nodes", "gateway", "stages", "serviceSubnet"):
        assert not outputs[key].secret, key
    for name in ("kubeadm-master-init", "kubeadm-master-ca-cert-hash", "kubeadm-master-kubeconfig",
                 "kubeadm-kube-minion-1-join", "kubeadm-master-token", "ssh-generate"):  # fmt: skip
        assert rec.named(name).inputs["logging"] == "none", name


def test_private_key_from_config_must_be_a_secret() -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    overrides = {"kubev6:sshPrivateKey": key, "kubev6:ssh": {"publicKey": "ssh-ed25519 AAAAC3Nza kube-v6"}}
    with pytest.raises(pulumi.RunError, match="kubev6:sshPrivateKey: must be set as a secret"):
        run_program("dev", overrides)
    rec, _ = run_program("dev", overrides, secret_keys=["kubev6:sshPrivateKey"])
    assert not [r for r in rec.of_type("command:local:Command") if r.name.startswith("ssh-")]


def test_private_key_without_its_public_half_is_refused() -> None:
    """Else the stack would silently generate its own pair and the machines would refuse the operator's key."""
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    recorder = Recorder()
    with pytest.raises(pulumi.RunError, match=r"kubev6:ssh\.publicKey: is required with sshPrivateKey"):
        run_program("dev", {"kubev6:sshPrivateKey": key}, secret_keys=["kubev6:sshPrivateKey"], recorder=recorder)
    assert recorder.resources == []


def test_public_key_without_its_private_half_is_refused() -> None:
    """Else the stack would silently generate its own pair and ignore the operator's key."""
    recorder = Recorder()
    overrides = {"kubev6:ssh": {"publicKey": "ssh-ed25519 AAAAC3Nza kube-v6"}}
    with pytest.raises(pulumi.RunError, match=r"kubev6:ssh\.publicKey: is given without kubev6:sshPrivateKey"):
        run_program("dev", overrides, recorder=recorder)
    assert recorder.resources == []


def test_switched_off_stages_are_visible_in_the_outputs() -> None:
    rec, outputs = run_program("lab")
    assert outputs["stages"].value == {
        "network": "on",
        "install": "off (stages.install: false)",
        "kubeadm": "off (stages.kubeadm: false)",
        "workloads": "off (stages.workloads: false)",
    }
    assert outputs["workloadChecks"].value == "off (stages.workloads: false)"
    assert "joinToken" not in outputs
    assert not [r for r in rec.resources if "packages" in r.name]


def test_bad_config_fails_before_any_resource_with_the_key_named() -> None:
    overrides = {"kubev6:network": {"nodePrefix": "10.0.0.0/8", "podSupernet": "fd00:100::/24",
                                    "serviceSubnet": "fd00:1234::/112"}}  # fmt: skip
    with pytest.raises(pulumi.RunError) as err:
        run_program("dev", overrides)
    message = str(err.value)
    assert "kubev6:network.nodePrefix: expected an IPv6 prefix, got IPv4 10.0.0.0/8" in message
    assert "Traceback" not in message


def test_bad_config_declares_nothing() -> None:
    rec = Recorder()
    with pytest.raises(pulumi.RunError):
        run_program("dev", {"kubev6:nodes": []}, recorder=rec)
    assert rec.resources == []
    good, _ = run_program("dev", recorder=Recorder())
    assert good.resources, "the recorder sees what a valid program declares"


def test_each_minion_joins_with_its_own_token_made_on_the_master_after_init() -> None:
    """Scale out: the token a join reads is made on the master for that join, after init, with
    kubernetes.joinTokenTtl; no join reads init's token (which lives kubernetes.tokenTtl)."""
    rec, _ = run_program("dev", {"kubev6:kubernetes": {"joinTokenTtl": "7m0s", "tokenTtl": "1h0m0s"}})
    master_ssh = rec.named("kubeadm-master-init").inputs["connection"]
    for name in ("kube-minion-1", "kube-minion-2"):
        token = rec.named(f"kubeadm-{name}-token")
        assert token.inputs["connection"] == master_ssh, "the token is made where admin.conf is"
        assert "kubeadm token create" in token.inputs["create"] and "--ttl 7m0s" in token.inputs["create"]
        assert f'--description "kube-v6 join of {name}"' in token.inputs["create"]
        assert f"kube-v6 join of {name}" in token.inputs["delete"], "its delete removes it"
        assert "kubeadm-master-init" in rec.all_depends_on(token.name)
        assert {"stdout", "stderr"} <= set(rec.options[token.name].additional_secret_outputs or [])
        assert token.inputs["logging"] == "none"
    assert "ttl: 1h0m0s" in rec.named("kubeadm-master-init").inputs["create"]


def test_the_node_is_drained_on_the_master_before_its_host_is_reset() -> None:
    """Pulumi deletes dependents first: the Node's command (drain, delete Node) depends on the join
    (whose delete is `kubeadm reset`), which depends on the token; replacing the token replaces the
    join, replacing the join replaces the Node, both deleted before their replacement is made (the
    engine's order is checked in tests/engine/test_replace_order.py)."""
    rec, _ = run_program("dev", {"kubev6:kubernetes": {"drainTimeout": "42s"}})
    master_ssh = rec.named("kubeadm-master-init").inputs["connection"]
    for name in ("kube-minion-1", "kube-minion-2"):
        token, join, node = (f"kubeadm-{name}-{part}" for part in ("token", "join", "node"))
        membership = rec.named(node)
        assert membership.inputs["connection"] == master_ssh
        delete = membership.inputs["delete"]
        assert f"drain {name} --ignore-daemonsets --delete-emptydir-data --timeout={steps.DRAIN_SLICE}" in delete
        assert "deadline=$(($(date +%s) + 42))" in delete
        assert delete.index("drain") < delete.index(f"delete node {name}")
        assert "kubeadm reset" in rec.named(join).inputs["delete"]
        assert join in rec.depends_on[node] and token not in rec.depends_on[node]
        opts = {n: rec.options[n] for n in (token, join, node)}
        assert opts[join].delete_before_replace and opts[node].delete_before_replace
        assert not opts[token].delete_before_replace, "two dependents of one DBR are deleted in no fixed order"
        assert [r._name for r in opts[join].replace_with or []] == [token]
        assert [r._name for r in opts[node].replace_with or []] == [join]
        assert opts[token].ignore_changes == ["create"], "a new joinTokenTtl is for the next join"
        assert membership.inputs["update"] == f"echo {name}", "a new drain timeout must not uncordon"
