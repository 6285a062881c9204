"""The network add-ons of issue 19 without a cluster: `network.routing: bgp`, `network.policy`,
`kubernetes.kubeProxy.mode` (config checks naming their keys, the plan, the rendered speaker configs
and steps, the policy check, kube-proxy's config), and the build phase that makes their artifacts."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from config_schemas import ConfigError, parse_config
from config_schemas.stack_files import load_stack_file, raw_stack_config
from config_schemas.versions import KUBE_NETWORK_POLICIES_VERSION
from planning import make_plan
from planning.plan import ClusterPlan
from rendering import bgp, kubeadm, layout, network_policy, steps

ROOT = Path(__file__).resolve().parents[2]
BGP_STACK = "lab-k8s-bgp"


def raw(stack: str = BGP_STACK) -> dict[str, Any]:
    return copy.deepcopy(raw_stack_config(stack))


def problems(cfg: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(cfg, [])
    return [str(p) for p in info.value.problems]


def plan_of(cfg: dict[str, Any]) -> ClusterPlan:
    return make_plan(parse_config(cfg, []).cluster)


def with_minions(cfg: dict[str, Any], count: int) -> dict[str, Any]:
    master = cfg["nodes"][0]
    prefix = cfg["network"]["nodePrefix"].split("::")[0]
    pods = cfg["network"]["podSupernet"].split("::")[0].rsplit(":", 1)[0]
    cfg["nodes"] = [master] + [
        {"name": f"kube-minion-{i}", "role": "minion", "address": f"{prefix}::{0x100 + i:x}",
         "podSubnet": f"{pods}:{0x100 + i:x}::/64"}
        for i in range(1, count + 1)
    ]  # fmt: skip
    return cfg


# --- config --------------------------------------------------------------------------------


def test_the_defaults_are_static_routes_no_policy_and_iptables() -> None:
    cfg = load_stack_file("lab-k8s").cluster
    assert (cfg.network.routing, cfg.network.policy, cfg.kubernetes.kube_proxy.mode) == (
        "static",
        "none",
        "iptables",
    )
    assert make_plan(cfg).bgp is None


def test_bgp_needs_the_mirror_and_the_install_stage() -> None:
    cfg = raw()
    cfg["kubernetes"]["artifacts"] = "online"
    assert any(p.startswith("kubev6:network.routing: bgp needs kubernetes.artifacts: mirror") for p in problems(cfg))


@pytest.mark.parametrize(("where", "named"), [
    (("ssh", "port"), "kubev6:ssh.port"),
    (("kubernetes", "mirror", "port"), "kubev6:kubernetes.mirror.port"),
    (("kubernetes", "mirror", "registryPort"), "kubev6:kubernetes.mirror.registryPort"),
])  # fmt: skip
def test_port_179_is_the_reflectors_with_bgp(where: tuple[str, ...], named: str) -> None:
    cfg = raw()
    target = cfg
    for part in where[:-1]:
        target = target.setdefault(part, {})
    target[where[-1]] = 179
    found = [p for p in problems(cfg) if p.startswith(f"{named}: 179 is BGP's port")]
    assert found and "kubev6:network.routing" in found[0], problems(cfg)
    cfg["network"]["routing"] = "static"  # the same port is fine without a reflector
    assert not [p for p in _problems_or_none(cfg) if "BGP" in p]


def _problems_or_none(cfg: dict[str, Any]) -> list[str]:
    try:
        parse_config(cfg, [])
    except ConfigError as err:
        return [str(p) for p in err.problems]
    return []


def test_two_machines_with_the_same_router_id_are_refused_naming_the_address() -> None:
    cfg = raw()
    prefix = cfg["network"]["nodePrefix"].split("::")[0]
    cfg["nodes"][2]["address"] = f"{prefix}::1:0:0:101"  # the same last 32 bits as ::101
    found = [p for p in problems(cfg) if "router ID" in p]
    assert found and found[0].startswith("kubev6:nodes[2].address:") and "0.0.1.1" in found[0], found


def test_policy_needs_the_kubeadm_stage() -> None:
    cfg = raw()
    cfg["stages"] = {"kubeadm": False, "workloads": False}
    assert any(p.startswith("kubev6:network.policy: kube-network-policies runs as a DaemonSet") for p in problems(cfg))


@pytest.mark.parametrize(("path", "value", "named"), [
    (("network", "routing"), "ospf", "kubev6:network.routing"),
    (("network", "policy"), "calico", "kubev6:network.policy"),
    (("kubernetes", "kubeProxy", "mode"), "userspace", "kubev6:kubernetes.kubeProxy.mode"),
    (("network", "bgp", "asn"), 0, "kubev6:network.bgp.asn"),
    (("network", "bgp", "holdTime"), 2, "kubev6:network.bgp.holdTime"),
])  # fmt: skip
def test_bad_values_are_refused_naming_the_key(path: tuple[str, ...], value: object, named: str) -> None:
    cfg = raw()
    target = cfg
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    assert any(p.startswith(f"{named}:") for p in problems(cfg)), problems(cfg)


# --- plan and rendering --------------------------------------------------------------------


def test_with_bgp_no_host_routes_a_pod_subnet_statically() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    assert plan.bgp is not None and plan.gateway.routes == ()
    for node in plan.nodes:
        assert [r.why for r in node.routes] == ["NAT64", "default"]


def test_the_speakers_configs_name_only_themselves_and_the_gateway() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    assert plan.bgp is not None
    gw = json.loads(bgp.config_file(plan.bgp, bgp.speaker_of(plan.bgp, plan.gateway)).content)
    assert gw["listenPort"] == 179 and gw["peers"] == [] and gw["announce"] == []
    assert gw["dynamicNeighbors"] == str(plan.node_prefix) and gw["address"] == str(plan.gateway.address)
    for node in plan.nodes:
        doc = json.loads(bgp.config_file(plan.bgp, bgp.speaker_of(plan.bgp, node)).content)
        assert doc["peers"] == [str(plan.gateway.address)] and doc["announce"] == [str(node.pod_subnet)]
        assert doc["listenPort"] == -1 and doc["routeProtocol"] == bgp.ROUTE_PROTO != 76
        assert doc["routerId"] == ".".join(str(b) for b in int(node.address).to_bytes(16, "big")[-4:])


def _node_bytes(plan: ClusterPlan, name: str) -> int:
    node = plan.host(name)
    parts = [steps.network_step(plan, node).create, steps.cni_step(node).create]
    if plan.bgp is not None:
        parts.append(bgp.bgp_step(plan, node).create)
    return sum(len(p) for p in parts)


def test_a_nodes_rendered_bytes_do_not_grow_with_the_cluster_with_bgp() -> None:
    small, large = plan_of(with_minions(raw(), 2)), plan_of(with_minions(raw(), 60))
    assert _node_bytes(small, "kube-minion-1") == _node_bytes(large, "kube-minion-1")
    # The reflector accepts the node prefix, not a list; the gateway routes no pod /64 statically (its
    # /etc/hosts still lists every machine: that, not routing, grows with the cluster).
    assert bgp.bgp_step(small, small.gateway).create == bgp.bgp_step(large, large.gateway).create
    assert large.gateway.routes == ()
    static = raw()
    static["network"]["routing"] = "static"
    s_small, s_large = plan_of(with_minions(copy.deepcopy(static), 2)), plan_of(with_minions(static, 60))
    assert _node_bytes(s_large, "kube-minion-1") > _node_bytes(s_small, "kube-minion-1") + 58 * 40


def test_the_bgp_step_waits_for_its_session_and_its_delete_flushes_its_routes() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    node = plan.host("kube-minion-1")
    step = bgp.bgp_step(plan, node)
    assert f"{plan.mirror.url}/bin/{bgp.BINARY}" in step.create and '"established": true' in step.create
    assert (
        f"ip -6 route flush proto {bgp.ROUTE_PROTO}" in step.delete and f"{layout.BGP_SCRIPT_PATH} down" in step.delete
    )
    gw = bgp.bgp_step(plan, plan.gateway)
    assert "cp /var/lib/kubev6/mirror/bin/kubev6-bgp" in gw.create


def test_kube_proxy_gets_the_configured_mode() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    proxy = kubeadm.init_documents(plan.kubeadm, plan.master, "abcdef.0123456789abcdef")[-1]
    assert proxy["kind"] == "KubeProxyConfiguration" and proxy["mode"] == "nftables"
    default = make_plan(load_stack_file("lab-k8s").cluster)
    assert "mode" not in kubeadm.init_documents(default.kubeadm, default.master, "abcdef.0123456789abcdef")[-1]


def test_the_ipvs_preflight_names_the_key() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    text = bgp.ipvs_preflight_step(plan.master).create
    assert "kubev6:kubernetes.kubeProxy.mode: ipvs needs the kernel's IPVS" in text and "/proc/net/ip_vs" in text


def test_the_policy_check_uses_a_default_deny_namespace_a_named_client_and_an_ipv6_ip_block() -> None:
    plan = make_plan(load_stack_file(BGP_STACK).cluster)
    checks = network_policy.render_policy_checks(plan.workloads, plan.kubeadm.dns_domain, plan.master, plan.minions)
    assert checks.namespace == f"{plan.workloads.namespace}-policy"
    assert checks.ip_block == str(plan.master.pod_subnet) and ":" in checks.ip_block
    denied, allowed, block = (
        checks.clients[k] for k in ("policyDeniesByDefault", "policyAllowsNamedClient", "policyIpBlock")
    )
    assert denied.labels == {} and allowed.labels == {network_policy.CLIENT_LABEL: network_policy.ALLOWED}
    assert denied.node == allowed.node != block.node == plan.master.name and block.on_master
    assert "exit 1" in denied.check.script and "reached" in denied.check.script  # reaching it fails the Job
    assert checks.guarded_node == plan.minions[0].name


def test_the_build_names_the_image_and_binaries_the_program_expects() -> None:
    script = (ROOT / "scripts" / "build-artifacts.sh").read_text()
    assert 'KNP_IMAGE_REF="registry.k8s.io/networking/kube-network-policies:v$KUBE_NETWORK_POLICIES_VERSION"' in script
    assert network_policy.IMAGE.endswith(f":v{KUBE_NETWORK_POLICIES_VERSION}")
    assert f'"$BIN/{bgp.BINARY}"' in script and '"$IMAGES/kube-network-policies.tar"' in script
    gomod = (ROOT / "artifacts" / "bgp" / "go.mod").read_text()
    assert re.search(r"github.com/osrg/gobgp/v4 v4\.\d+\.\d+", gomod), "GoBGP v4 (v3.37.0 has reported flaws)"
    patch = (ROOT / "artifacts" / "kube-network-policies" / "nfqueue-compat.patch").read_text()
    assert 'Name: "NFQUEUE"' in patch and "compatQueue.CompareAndSwap" in patch
