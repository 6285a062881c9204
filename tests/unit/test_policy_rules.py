"""The policy pack's rules on what the program really renders for every shipped stack (must pass) and
on the same inputs broken one way at a time (must fail, naming the resource). The properties go
through the same deserialization as in the analyzer (secrets kept as marks, unknowns proxied)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from config_schemas.loading import parse_config
from config_schemas.stack_files import raw_stack_config, stack_names
from planning.plan import ClusterPlan, HostPlan, make_plan
from policy import rules, values
from program.mirror_source import mirror_content
from rendering import steps

POLICIES = {p.name: p for p in rules.POLICIES}
KUBE_NODE, GATEWAY = "kubev6:index:KubeNode", "kubev6:index:Nat64Gateway"
TOKEN, CA_HASH = "abcdef.0123456789abcdef", "sha256:" + "0" * 64
UNKNOWN = UNKNOWN_STRING_VALUE


def secret(value: Any) -> dict[str, Any]:
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def _opts(secret_outputs: tuple[str, ...] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(secret_outputs))


def _urn(kind: str, name: str, parents: tuple[str, ...]) -> str:
    return f"urn:pulumi:s::kube-v6::{'$'.join([*parents, kind])}::{name}"


def check(policy: str, kind: str, name: str, props: dict[str, Any], parents: tuple[str, ...] = (),
          secret_outputs: tuple[str, ...] = ()) -> list[str]:  # fmt: skip
    """The violations one resource-level rule reports for one resource."""
    found: list[str] = []
    proxied = unknown_checking_proxy(values.deserialize(props))
    args = ResourceValidationArgs(kind, proxied, _urn(kind, name, parents), name, _opts(secret_outputs), None)
    POLICIES[policy].validate(args, lambda msg, urn=None: found.append(msg))  # type: ignore[union-attr]
    return found


def check_stack(policy: str, resources: list[tuple[str, str, dict[str, Any], tuple[str, ...]]]) -> list[str]:
    found: list[str] = []
    res = [
        PolicyResource(
            k, unknown_checking_proxy(values.deserialize(p)), _urn(k, n, par), n, _opts(), None, None, [], {}
        )
        for k, n, p, par in resources
    ]
    POLICIES[policy].validate(StackValidationArgs(res), lambda msg, urn=None: found.append(msg))  # type: ignore[union-attr]
    return found


def plan_of(stack: str, **kubernetes: str) -> ClusterPlan:
    raw = copy.deepcopy(raw_stack_config(stack))
    raw.setdefault("kubernetes", {}).update(kubernetes)  # type: ignore[union-attr]
    return make_plan(parse_config(raw, []).cluster)


def command(create: str, host: HostPlan, delete: str = "") -> dict[str, Any]:
    """A remote.Command's inputs as the engine sends them (its connection is a secret input)."""
    return {
        "create": create,
        "delete": delete,
        "logging": "stdoutAndStderr",
        "connection": secret({"host": host.ssh_host, "privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}),
    }


def node_commands(plan: ClusterPlan) -> list[tuple[str, dict[str, Any], tuple[str, ...]]]:
    """Every node-side command the program declares for the plan, with its component parents."""
    out = []
    content = mirror_content(plan) if plan.kubeadm.kubernetes.artifacts == "mirror" else None
    for n in plan.nodes:
        for concern, step in steps.host_steps(plan, n):
            out.append((f"{n.name}-{concern}", command(step.create, n, step.delete), (KUBE_NODE,)))
        if plan.stages.install:
            step = steps.packages_step(plan.kubernetes, plan.mirror, n, content)
            out.append((f"{n.name}-packages", command(step.create, n, step.delete), (KUBE_NODE,)))
    init = {
        **command(steps.kubeadm_init_step(plan.kubeadm, plan.master).create, plan.master),
        "stdin": secret(steps.stdin_secrets(TOKEN)),
    }
    out.append(("kubeadm-master-init", init, ("kubev6:index:KubeadmMaster",)))
    for m in plan.minions:
        join = {
            **command(steps.kubeadm_join_step(plan.kubeadm, plan.master, m).create, m),
            "stdin": secret(steps.stdin_secrets(TOKEN, CA_HASH)),
        }
        out.append((f"kubeadm-{m.name}-join", join, ("kubev6:index:KubeadmMinion",)))
    return out


def gateway_resources(plan: ClusterPlan, dns64: str | None = None) -> list[tuple[str, str, dict[str, Any], tuple]]:
    gw = plan.gateway
    dns64 = dns64 or steps.dns64_step(plan.dns64).create
    out: list[tuple[str, str, dict[str, Any], tuple]] = [
        (GATEWAY, gw.name, {"address": str(gw.address), "nat64_prefix": str(plan.nat64_prefix)}, ()),
        ("command:remote:Command", f"{gw.name}-nat64", command(steps.nat64_step(plan.nat64).create, gw), (GATEWAY,)),
        ("command:remote:Command", f"{gw.name}-dns64", command(dns64, gw), (GATEWAY,)),
    ]
    for name, props, parents in node_commands(plan):
        out.append(("command:remote:Command", name, props, parents))
    return out


SHIPPED = stack_names()


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_shipped_stack_passes_the_node_rules(stack: str) -> None:
    plan = plan_of(stack)
    for name, props, parents in node_commands(plan):
        for policy in ("ipv6-only-nodes", "kubernetes-version-from-artifacts", "join-token-expires"):
            assert check(policy, "command:remote:Command", name, props, parents) == [], (policy, name)


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_shipped_stack_passes_the_nat64_rule(stack: str) -> None:
    assert check_stack("nat64-prefix-rfc6052", gateway_resources(plan_of(stack))) == []


def test_an_ipv4_registry_reaches_the_nodes_scripts_and_fails() -> None:
    plan = plan_of("large", imageRepository="192.0.2.10:5000/k8s")
    found = [
        msg for name, props, parents in node_commands(plan)
        for msg in check("ipv6-only-nodes", "command:remote:Command", name, props, parents)
    ]  # fmt: skip
    assert any(m.startswith("master-0-packages would configure IPv4 192.0.2.10 on a node") for m in found), found
    assert any(m.startswith("kubeadm-master-init would configure IPv4 192.0.2.10") for m in found), found


def test_the_gateway_may_have_ipv4_and_loopback_is_not_a_network() -> None:
    plan = plan_of("large")
    dns64 = steps.dns64_step(plan.dns64).create
    assert "9.9.9.9" in dns64
    assert (
        check("ipv6-only-nodes", "command:remote:Command", "gw-dns64", command(dns64, plan.gateway), (GATEWAY,)) == []
    )
    assert values.ipv4_literals("127.0.0.1 localhost\n10.1.2.0/24 x 1.36.1 v1.2.3.4.5") == ["10.1.2.0/24"]


def test_libvirt_cluster_network_must_be_ipv6_only() -> None:
    ok = {"mode": "none", "addresses": ["fd6b:7640::/64"]}
    assert check("ipv6-only-nodes", "libvirt:index/network:Network", "libvirt-cluster", ok) == []
    bad = {"mode": "nat", "addresses": ["fd6b:7640::/64", "192.168.170.0/24"]}
    assert check("ipv6-only-nodes", "libvirt:index/network:Network", "libvirt-cluster", bad)
    # The uplink is the gateway's IPv4 side by design.
    assert check("ipv6-only-nodes", "libvirt:index/network:Network", "libvirt-uplink", bad) == []
    seed = {"networkConfig": "addresses: [192.168.1.5/24]"}
    cloud_init = "libvirt:index/cloudInitDisk:CloudInitDisk"
    assert check("ipv6-only-nodes", cloud_init, "kube-master-cloud-init", seed, (KUBE_NODE,))
    assert check("ipv6-only-nodes", cloud_init, "gw-cloud-init", seed, (GATEWAY,)) == []


def test_services_and_pods_are_ipv6_only() -> None:
    svc = {"spec": {"ipFamilies": ["IPv6", "IPv4"]}}
    assert check("ipv6-only-nodes", "kubernetes:core/v1:Service", "checks-service", svc)
    job = {"spec": {"template": {"spec": {"containers": [{"command": ["wget", "http://198.51.100.7/"]}]}}}}
    assert (
        "checks-x puts IPv4 198.51.100.7 into its pods"
        in check("ipv6-only-nodes", "kubernetes:batch/v1:Job", "checks-x", job)[0]
    )
    assert check("ipv6-only-nodes", "kubernetes:core/v1:Service", "s", {"spec": {"ipFamilies": ["IPv6"]}}) == []


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [("64:ff9b::/96", True), ("2001:db8:122::/48", True), ("fd00:64::/64", True), ("fd6b:7636:64::/80", False),
     ("64:ff9b::/97", False), ("fd00:0:0:0:ff00::/96", False), ("192.168.0.0/16", False)],
)  # fmt: skip
def test_rfc6052_prefixes(prefix: str, ok: bool) -> None:
    assert (rules.rfc6052_problem(prefix) is None) == ok


def test_dns64_in_another_prefix_than_nat64_fails() -> None:
    plan = plan_of("lab")
    dns64 = steps.dns64_step(plan.dns64).create.replace(str(plan.nat64_prefix), "fd6b:7636:64::/80")
    found = check_stack("nat64-prefix-rfc6052", gateway_resources(plan, dns64))
    assert any("DNS64 (Unbound dns64-prefix)" in m and "/80" in m for m in found), found
    assert any("the NAT64 prefix differs" in m for m in found), found
    dns64 = steps.dns64_step(plan.dns64).create.replace(str(plan.nat64_prefix), "fd6b:7636:65::/96")
    assert any("differs" in m for m in check_stack("nat64-prefix-rfc6052", gateway_resources(plan, dns64)))


def test_a_token_that_never_expires_fails_and_a_day_passes() -> None:
    init = ("command:remote:Command", "kubeadm-master-init")
    parents = ("kubev6:index:KubeadmMaster",)
    for ttl, fails in (("0s", True), ("0h0m0s", True), ("24h0m0s", False), ("90m", False)):
        plan = plan_of("large", tokenTtl=ttl)
        create = steps.kubeadm_init_step(plan.kubeadm, plan.master).create
        assert bool(check("join-token-expires", *init, command(create, plan.master), parents)) == fails, ttl


def test_during_preview_the_token_lifetime_comes_from_the_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    props = command(UNKNOWN, plan_of("large").master)
    parents = ("kubev6:index:KubeadmMaster",)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"kubev6:kubernetes": json.dumps({"tokenTtl": "0s"})}))
    found = check("join-token-expires", "command:remote:Command", "kubeadm-master-init", props, parents)
    assert found and "kubev6:kubernetes.tokenTtl" in found[0]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"kubev6:kubernetes": json.dumps({"artifacts": "mirror"})}))
    assert check("join-token-expires", "command:remote:Command", "kubeadm-master-init", props, parents) == []


def test_go_durations() -> None:
    assert rules.go_duration_seconds("24h0m0s") == 86400
    assert rules.go_duration_seconds("1.5h") == 5400
    assert rules.go_duration_seconds("0") == 0
    with pytest.raises(ValueError):
        rules.go_duration_seconds("1d")


def test_another_kubernetes_release_than_the_artifacts_fails() -> None:
    plan = plan_of("large", version="1.36.0")
    found = [
        msg for name, props, parents in node_commands(plan)
        for msg in check("kubernetes-version-from-artifacts", "command:remote:Command", name, props, parents)
    ]  # fmt: skip
    assert any(m.startswith("master-0-packages installs Kubernetes 1.36.0") for m in found), found
    assert any(m.startswith("kubeadm-master-init installs Kubernetes 1.36.0") for m in found), found


def test_credentials_must_be_secret_where_resources_hold_them() -> None:
    plan = plan_of("large")
    kind, parents, marked = "command:remote:Command", ("kubev6:index:KubeadmMaster",), ("stdout", "stderr")
    init = steps.kubeadm_init_step(plan.kubeadm, plan.master).create
    good = {**command(init, plan.master), "logging": "none", "stdin": secret(steps.stdin_secrets(TOKEN))}
    assert check("credentials-are-secrets", kind, "kubeadm-master-init", good, parents, marked) == []
    # Its outputs (kubeadm's log) not marked secret; the token on stdin in clear; the token in the
    # script (even a secret script: a failed run prints it); the key in clear.
    assert check("credentials-are-secrets", kind, "kubeadm-master-init", good, parents)
    clear_stdin = {**good, "stdin": steps.stdin_secrets(TOKEN)}
    assert check("credentials-are-secrets", kind, "kubeadm-master-init", clear_stdin, parents, marked)
    in_script = {**good, "create": secret(init.replace(steps.TOKEN_PLACEHOLDER, TOKEN))}
    found = check("credentials-are-secrets", kind, "kubeadm-master-init", in_script, parents, marked)
    assert any("holds a bootstrap token" in m for m in found), found
    clear_key = {**good, "connection": {"host": "fd10:6::10", "privateKey": "-----BEGIN"}}
    assert (
        "SSH private key"
        in check("credentials-are-secrets", kind, "kubeadm-master-init", clear_key, parents, marked)[0]
    )
    # Preview: the script is unknown, the rule still knows kubeadm's commands by their component.
    unknown = {**good, "create": UNKNOWN}
    assert check("credentials-are-secrets", kind, "kubeadm-master-init", unknown, parents)
    kubeconfig = {**command("cat /etc/kubernetes/admin.conf", plan.master), "logging": "none"}
    assert check("credentials-are-secrets", kind, "kubeadm-master-kubeconfig", kubeconfig, (), marked) == []
    assert check("credentials-are-secrets", kind, "kubeadm-master-kubeconfig", kubeconfig)
    provider = "pulumi:providers:kubernetes"
    assert check("credentials-are-secrets", provider, "checks-provider", {"kubeconfig": "apiVersion: v1"})
    assert check("credentials-are-secrets", provider, "checks-provider", {"kubeconfig": secret("apiVersion: v1")}) == []
    assert check("credentials-are-secrets", provider, "checks-provider", {"kubeconfig": UNKNOWN}) == []


def test_credential_outputs_must_be_secret() -> None:
    stack = "pulumi:pulumi:Stack"
    assert check_stack("credential-outputs-are-secrets", [(stack, "s", {"kubeconfig": "apiVersion: v1"}, ())])
    clean = {"kubeconfig": secret("apiVersion: v1"), "joinToken": secret(TOKEN), "caCertHash": UNKNOWN}
    assert check_stack("credential-outputs-are-secrets", [(stack, "s", clean, ())]) == []


def test_addresses_the_stack_reports_are_ipv6() -> None:
    stack = "pulumi:pulumi:Stack"
    good = {"nodes": {"m": {"address": "fd00::100", "podSubnet": "fd00:100::/64"}}, "serviceSubnet": "fd00:1234::/112"}
    assert check_stack("ipv6-only-addressing", [(stack, "s", good, ())]) == []
    bad = {"nodes": {"m": {"address": "10.0.0.5", "podSubnet": "fd00:100::/80"}}, "clusterDns": "10.96.0.10"}
    found = check_stack("ipv6-only-addressing", [(stack, "s", bad, ())])
    assert len(found) == 3, found
    twice = {"nodes": {"a": {"podSubnet": "fd00:100::/64"}, "b": {"podSubnet": "fd00:100::/64"}}}
    assert check_stack("ipv6-only-addressing", [(stack, "s", twice, ())])


def test_the_analyzer_keeps_secret_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi_policy.policy as analyzer

    monkeypatch.setattr(analyzer, "deserialize_properties", analyzer.deserialize_properties)
    # Without the patch, pulumi-policy drops the mark: the rule could not tell a secret from clear text.
    assert analyzer.deserialize_properties({"k": secret("x")}) == {"k": "x"}
    values.keep_secret_marks()
    kept = analyzer.deserialize_properties({"k": secret("x"), "n": {"m": [secret(1)]}})
    assert values.is_secret(kept["k"]) and values.reveal(kept["k"]) == "x"
    assert values.is_secret(kept["n"]["m"][0])


def test_a_joins_token_is_a_secret_and_expires_and_the_drain_may_log() -> None:
    plan = plan_of("large")
    node = plan.minions[0]
    kind, parents, marked = "command:remote:Command", ("kubev6:index:KubeadmMinion",), ("stdout", "stderr")
    scripts = steps.join_token_scripts(plan.kubernetes, plan.master, node)
    token = {**command(scripts.create, plan.master), "logging": "none"}
    name = f"kubeadm-{node.name}-token"
    assert check("credentials-are-secrets", kind, name, token, parents, marked) == []
    assert check("credentials-are-secrets", kind, name, {**token, "logging": "stdoutAndStderr"}, parents, marked)
    assert check("credentials-are-secrets", kind, name, token, parents), "its stdout is the token"
    assert check("join-token-expires", kind, name, token, parents) == []
    forever = {**token, "create": token["create"].replace("--ttl 15m0s", "--ttl 0s")}
    [found] = check("join-token-expires", kind, name, forever, parents)
    assert "never expires" in found
    drain = command(steps.node_membership_scripts(plan.kubernetes, plan.master, node).delete, plan.master)
    assert check("credentials-are-secrets", kind, f"kubeadm-{node.name}-node", drain, parents) == []
