"""A highly available control plane (issue 25): the config rules, the plan, the rendered kubeadm
configs and HAProxy config, the steps around a master's join and removal, the program's graph."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import netaddr
import pytest
import yaml

import config_schemas.pulumi_config as pulumi_config
from config_schemas import parse_config
from config_schemas.stack_files import load_stack_file, raw_stack_config
from harness.commons.program_mocks import Recorder, run_program
from harness.netlab.instance import apply_overrides, instance_overrides
from planning import make_plan
from planning.live_settings import ENDPOINT_KEY, live_settings, refused_changes
from rendering import haproxy, kubeadm, layout, steps
from tests.helpers.config_errors import Raw, dev, refused, setter

STACK = "lab-k8s-ha"
HA = make_plan(load_stack_file(STACK).cluster)
DEV = make_plan(load_stack_file("dev").cluster)
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def three_masters(raw: Raw, mode: str | None = "gateway-haproxy", **endpoint: object) -> Raw:
    """The dev stack with its two minions turned into masters (3), and a third minion."""
    raw["nodes"][1]["role"] = "master"
    raw["nodes"][2]["role"] = "master"
    raw["nodes"].append({"name": "kube-minion-3", "role": "minion", "address": "fd00::103"})
    if mode is not None:
        raw.setdefault("kubernetes", {})["controlPlaneEndpoint"] = {"mode": mode, **endpoint}
    return raw


def problems_on(raw: Raw, key: str) -> list[str]:
    return [p.message for p in refused(raw) if p.key == key]


# --- config ----------------------------------------------------------------------------------


def test_three_masters_behind_the_gateway_are_accepted() -> None:
    loaded = parse_config(three_masters(dev()))
    assert [n.name for n in loaded.cluster.nodes if n.role == "master"] == ["kube-master", "kube-minion-1",
                                                                            "kube-minion-2"]  # fmt: skip


@pytest.mark.parametrize("masters", [2, 4])
def test_an_even_number_of_masters_is_refused_naming_the_nodes(masters: int) -> None:
    raw = dev()
    raw["nodes"] += [{"name": f"kube-extra-{i}", "role": "minion", "address": f"fd00::11{i}"} for i in range(2)]
    for node in raw["nodes"][1:masters]:
        node["role"] = "master"
    raw["kubernetes"] = {"controlPlaneEndpoint": {"mode": "gateway-haproxy"}}
    messages = problems_on(raw, "kubev6:nodes")
    assert messages and f"{masters} nodes have role: master" in messages[0] and "odd number" in messages[0]


def test_several_masters_need_an_endpoint_of_no_single_master() -> None:
    messages = problems_on(three_masters(dev(), mode=None), "kubev6:kubernetes.controlPlaneEndpoint.mode")
    assert messages and "first-master with 3 masters" in messages[0] and "gateway-haproxy" in messages[0]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("fd01::64", r"outside the node network network.nodePrefix fd00::/64"),
        ("fd00::101", r"is kubev6:nodes\[1\].address \(kube-minion-1\)"),
        ("fd00::", r"subnet-router anycast"),
        ("10.0.0.1", r"IPv6"),
        ("fd00::/64", r"IPv6"),
    ],
)
def test_a_bad_endpoint_address_is_refused_naming_the_key(address: str, reason: str) -> None:
    messages = problems_on(three_masters(dev(), address=address), "kubev6:kubernetes.controlPlaneEndpoint.address")
    assert any(re.search(reason, m) for m in messages), messages


def test_the_endpoint_may_be_the_gateways_own_address() -> None:
    cfg = parse_config(three_masters(dev(), address="fd00::64")).cluster
    plan = make_plan(cfg)
    assert plan.api_lb is not None and not plan.api_lb.own_address
    assert plan.api_endpoint == "[fd00::64]:6443"


@pytest.mark.parametrize("port", [53, 22])
def test_a_port_the_gateway_uses_is_refused(port: int) -> None:
    messages = problems_on(three_masters(dev(), port=port), "kubev6:kubernetes.controlPlaneEndpoint.port")
    assert messages and "HAProxy on the gateway needs another port" in messages[0]


def test_the_mirrors_port_is_refused_for_haproxy() -> None:
    raw = raw_stack_config(STACK)
    raw["kubernetes"]["controlPlaneEndpoint"]["port"] = 8089
    assert problems_on(raw, "kubev6:kubernetes.controlPlaneEndpoint.port")


def test_first_master_takes_no_address_and_no_other_port() -> None:
    raw = dev()
    raw["kubernetes"] = {"controlPlaneEndpoint": {"mode": "first-master", "address": "fd00::64", "port": 7443}}
    assert problems_on(raw, "kubev6:kubernetes.controlPlaneEndpoint.address")
    assert problems_on(raw, "kubev6:kubernetes.controlPlaneEndpoint.port")


def test_an_unknown_endpoint_key_is_refused() -> None:
    messages = problems_on(three_masters(dev(), vip="fd00::99"), "kubev6:kubernetes.controlPlaneEndpoint.vip")
    assert messages == ["unknown key (check its spelling; keys are camelCase)"]


def test_an_unknown_mode_is_refused() -> None:
    raw = dev()
    setter("kubernetes", value={"controlPlaneEndpoint": {"mode": "kube-vip"}})(raw)
    assert problems_on(raw, "kubev6:kubernetes.controlPlaneEndpoint.mode")


# --- plan ------------------------------------------------------------------------------------


def test_the_plan_of_the_ha_stack() -> None:
    assert [m.name for m in HA.masters] == ["kube-master-1", "kube-master-2", "kube-master-3"]
    assert HA.master.name == "kube-master-1"
    assert [m.name for m in HA.joining_masters] == ["kube-master-2", "kube-master-3"]
    assert HA.api_endpoint == "[fd6b:763a::6443]:6443"
    assert HA.kubeadm.upload_certs
    lb = HA.api_lb
    assert lb is not None and lb.own_address and lb.interface == "eth0"
    assert lb.backends == tuple((m.name, m.address) for m in HA.masters)


def test_a_single_master_stack_keeps_its_endpoint_and_uploads_nothing() -> None:
    assert DEV.api_endpoint == f"[{DEV.master.address}]:6443"
    assert DEV.api_lb is None and not DEV.kubeadm.upload_certs and DEV.joining_masters == ()


def test_a_joining_master_lists_itself_in_its_hosts_file() -> None:
    second = HA.masters[1]
    assert second in HA.known_hosts(second) and HA.known_hosts(HA.master) == (HA.gateway, HA.master)


# --- rendered configs ------------------------------------------------------------------------


def test_init_uploads_the_certificates_with_the_key() -> None:
    docs = kubeadm.init_documents(HA.kubeadm, HA.master, "t", "KEY")
    init, cluster = docs[0], docs[1]
    assert init["certificateKey"] == "KEY"
    assert cluster["controlPlaneEndpoint"] == "[fd6b:763a::6443]:6443"
    step = steps.kubeadm_init_step(HA.kubeadm, HA.master).create
    assert "--upload-certs --skip-certificate-key-print" in step
    assert steps.CERT_KEY_PLACEHOLDER in step and "IFS= read -r kubev6_secret_1" in step


def test_single_master_init_is_as_before() -> None:
    init = kubeadm.init_documents(DEV.kubeadm, DEV.master, "t", "KEY")[0]
    assert "certificateKey" not in init
    step = steps.kubeadm_init_step(DEV.kubeadm, DEV.master).create
    assert "--upload-certs" not in step and steps.CERT_KEY_PLACEHOLDER not in step
    assert "kubev6_secret_1" not in step


def test_a_master_joins_the_control_plane_on_its_own_address() -> None:
    second = HA.masters[1]
    join = kubeadm.join_document(HA.kubeadm, second, "t", "h", "KEY")
    assert join["controlPlane"] == {
        "localAPIEndpoint": {"advertiseAddress": str(second.address), "bindPort": 6443},
        "certificateKey": "KEY",
    }
    assert join["discovery"]["bootstrapToken"]["apiServerEndpoint"] == HA.api_endpoint  # type: ignore[index]
    step = steps.kubeadm_join_step(HA.kubeadm, HA.master, second).create
    assert steps.CERT_KEY_PLACEHOLDER in step and "kubev6_secret_2" in step


def test_a_minion_joins_through_the_shared_endpoint() -> None:
    minion = HA.minions[0]
    join = yaml.safe_load(steps.kubeadm_join_step(HA.kubeadm, HA.master, minion).files[0].content)
    assert "controlPlane" not in join
    assert join["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "[fd6b:763a::6443]:6443"


def test_haproxy_checks_every_api_server() -> None:
    assert HA.api_lb is not None
    text = haproxy.haproxy_conf(HA.api_lb).content
    assert "    mode tcp\n" in text and "    bind [fd6b:763a::6443]:6443\n" in text
    assert "option httpchk GET /readyz" in text
    servers = [line.split()[1:3] for line in text.splitlines() if line.strip().startswith("server ")]
    assert servers == [[m.name, f"[{m.address}]:6443"] for m in HA.masters]
    assert text.count("check check-ssl verify none") == 3


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (scripts/install-deps.sh)")
def test_haproxy_accepts_the_rendered_config(tmp_path: Path) -> None:
    assert HA.api_lb is not None
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(haproxy.haproxy_conf(HA.api_lb).content)
    done = subprocess.run(["haproxy", "-c", "-f", str(conf)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_haproxy_step_adds_and_removes_its_own_address() -> None:
    assert HA.api_lb is not None
    step = steps.api_lb_step(HA.api_lb)
    script = next(f for f in step.files if f.path == layout.HAPROXY_SCRIPT_PATH).content
    assert "ip -6 addr replace fd6b:763a::6443/128 dev eth0 nodad" in script
    assert "ip -6 addr del fd6b:763a::6443/128 dev eth0" in script
    assert f"{layout.HAPROXY_SCRIPT_PATH} up" in step.create and f"{layout.HAPROXY_SCRIPT_PATH} down" in step.delete
    cfg = parse_config(three_masters(dev())).cluster
    plain_lb = make_plan(cfg).api_lb
    assert plain_lb is not None
    plain = steps.api_lb_step(plain_lb)
    assert "ip -6 addr" not in next(f for f in plain.files if f.path == layout.HAPROXY_SCRIPT_PATH).content


def test_haproxy_is_a_gateway_package_only_with_several_masters_possible() -> None:
    assert "haproxy" in steps.gateway_packages_step(HA.nat64, HA.dns64, HA.kubernetes, HA.api_lb).create
    assert "haproxy" not in steps.gateway_packages_step(DEV.nat64, DEV.dns64, DEV.kubernetes, DEV.api_lb).create


# --- a master leaving ------------------------------------------------------------------------


def test_a_leaving_master_removes_its_etcd_member_before_its_reset() -> None:
    """On the first master: drain, the etcd member removed, the Node deleted; then (the join's
    delete, ordered by the graph) the host reset. A member that cannot be removed stops there."""
    leaving = HA.masters[2]
    delete = steps.node_membership_scripts(HA.kubernetes, HA.master, leaving).delete
    drain = delete.index(f"drain {leaving.name} ")
    listing = delete.index("member list")
    removal = delete.index('member remove "$id"')
    assert drain < listing < removal < delete.index(f"$K delete node {leaving.name}")
    assert f"exec etcd-{HA.master.name} -- etcdctl --endpoints=https://[{HA.master.address}]:2379" in delete
    assert f"awk -F', ' '$3 == \"{leaving.name}\"" in delete
    assert delete.startswith("set -eu\n"), "a failed removal stops the delete"
    line = delete[removal : delete.index("\n", removal)]
    assert "exit 1" in line and "stays cordoned and joined" in line
    # A minion's and the first master's membership hold no etcd removal.
    assert "etcdctl" not in steps.node_membership_scripts(HA.kubernetes, HA.master, HA.minions[0]).delete
    assert "etcdctl" not in steps.node_membership_scripts(DEV.kubernetes, DEV.master, DEV.minions[0]).delete
    assert "kubeadm reset -f" in steps.KUBEADM_CONTROL_PLANE_JOIN_DELETE


def test_the_etcd_removal_script_runs(tmp_path: Path) -> None:
    """The removal lines in a shell, with a fake kubectl answering etcdctl's `member list`."""
    leaving = HA.masters[1]
    delete = steps.node_membership_scripts(HA.kubernetes, HA.master, leaving).delete
    lines = [line for line in delete.splitlines() if "etcd" in line or line.startswith("id=")]
    fake = tmp_path / "kubectl"
    log = tmp_path / "calls"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in *"member list"*) '
        'echo "8e9e05c52164694d, started, kube-master-1, https://a:2380, https://a:2379, false"; '
        f'echo "91bc3c398fb3c146, started, {leaving.name}, https://b:2380, https://b:2379, false";; esac\n'
    )
    fake.chmod(0o755)
    script = "\n".join(["set -eu", f"K={fake}", *lines])
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "member remove 91bc3c398fb3c146" in log.read_text()
    assert f"etcd member of {leaving.name} removed" in done.stdout


def test_the_certificates_are_uploaded_again_for_each_join() -> None:
    script = steps.upload_certs_script(HA.masters[1])
    assert (
        "kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print "
        f"--config {layout.KUBEADM_INIT_PATH}" in (script)
    )


# --- live settings ---------------------------------------------------------------------------


def test_the_endpoint_cannot_change_under_a_live_cluster() -> None:
    deployed = live_settings(HA)
    assert deployed[ENDPOINT_KEY] == "[fd6b:763a::6443]:6443"
    moved = dict(deployed, **{ENDPOINT_KEY: "[fd6b:763a::6444]:6443"})
    assert any(p.startswith(f"{ENDPOINT_KEY}: the live cluster has") for p in refused_changes(deployed, moved))
    # From a single master (its record has no endpoint key) to HAProxy: refused as well.
    single = live_settings(DEV)
    assert ENDPOINT_KEY not in single
    to_ha = dict(single, **{ENDPOINT_KEY: "[fd00::64]:6443"})
    assert any(p.startswith(ENDPOINT_KEY) for p in refused_changes(single, to_ha))
    assert refused_changes(single, single) == [] and refused_changes(deployed, deployed) == []


def test_the_lab_instance_moves_the_endpoint_address_with_the_node_network() -> None:
    raw = raw_stack_config(STACK)
    overrides = instance_overrides(raw, "h", "kv6hlkh")
    moved = apply_overrides(raw, overrides)
    prefix = netaddr.IPNetwork(overrides["network.nodePrefix"])
    address = netaddr.IPAddress(moved["kubernetes"]["controlPlaneEndpoint"]["address"])
    assert address in prefix and int(address) & 0xFFFF == 0x6443
    parse_config(moved)  # still a valid config


# --- the program's graph ---------------------------------------------------------------------


Program = tuple[Recorder, dict[str, Any]]


@pytest.fixture
def ha_program(monkeypatch: pytest.MonkeyPatch) -> Program:
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])
    return run_program(STACK)


def test_the_masters_join_one_after_another_then_the_minion(ha_program: Program) -> None:
    rec, _ = ha_program
    m2, m3 = "kubeadm-kube-master-2", "kubeadm-kube-master-3"
    assert "kube-nat64-dns64-api-lb" in rec.all_depends_on("kubeadm-master-init")
    assert "kubeadm-master-init" in rec.all_depends_on(f"{m2}-token")
    assert f"{m2}-certs" in rec.all_depends_on(f"{m2}-join")
    assert f"{m2}-token" in rec.all_depends_on(f"{m2}-certs")
    assert f"{m2}-node" in rec.all_depends_on(f"{m3}-token"), "etcd grows one member at a time"
    assert f"{m3}-node" in rec.all_depends_on("kubeadm-kube-minion-1-join")
    for member in (m2, m3):
        assert f"{member}-join" in rec.depends_on[f"{member}-node"], "the Node is drained before the reset"
        join = rec.named(f"{member}-join")
        assert "kubeadm reset" in join.inputs["delete"]
        assert 'member remove "$id"' in rec.named(f"{member}-node").inputs["delete"]
        stdin = join.inputs["stdin"]
        assert stdin[SECRET_SIG] and stdin["value"] == (
            f"stdout-of-{member}-token\nstdout-of-kubeadm-master-ca-cert-hash\nstdout-of-kubeadm-master-certificate-key\n"
        )
        assert "stdout-of-" not in join.inputs["create"] and join.inputs["logging"] == "none"
        assert (
            rec.named(f"{member}-certs").inputs["connection"] == rec.named("kubeadm-master-init").inputs["connection"]
        )
    assert {"kubeadm-kube-master-3-join", "kubeadm-kube-minion-1-join"} <= rec.all_depends_on("checks-namespace")


def test_the_certificate_key_is_a_secret_output(ha_program: Program) -> None:
    rec, outputs = ha_program
    assert outputs["certificateKey"].secret
    assert outputs["controlPlane"].value == ["kube-master-1", "kube-master-2", "kube-master-3"]
    generate = rec.named("kubeadm-master-certificate-key")
    assert generate.inputs["logging"] == "none" and "token_hex(32)" in generate.inputs["create"]
    assert rec.named("kubeadm-master-init").inputs["stdin"]["value"] == (
        "stdout-of-kubeadm-master-token\nstdout-of-kubeadm-master-certificate-key\n"
    )


def test_a_single_master_stack_declares_no_control_plane_member(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])
    rec, outputs = run_program("dev")
    assert not rec.of_type("kubev6:index:KubeadmControlPlaneMember")
    assert "certificateKey" not in outputs and "controlPlane" not in outputs
    assert not [r for r in rec.resources if r.name.endswith("-api-lb")]
