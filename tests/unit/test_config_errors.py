"""Every config mistake is refused with the exact key and a one-line reason.

Each case starts from the dev stack's raw config (the seed topology) and changes one thing.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from config_schemas import ConfigError, parse_config
from config_schemas.topology_checks import HostRoute
from tests.helpers.config_errors import DEV, Mutation, assert_refused_naming, dev, refused, remover, setter

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

# (id, mutation, exact key of one problem, regex its message must match)
ERROR_CASES: list[tuple[str, Mutation, str, str]] = [
    # Overlapping prefixes.
    (
        "node-prefix-vs-pod-supernet",
        setter("network", "podSupernet", value="fd00::/16"),
        "kubev6:network.podSupernet",
        r"fd00::/16 overlaps network\.nodePrefix fd00::/64",
    ),
    (
        "service-vs-pod-supernet",
        setter("network", "serviceSubnet", value="fd00:100:1234::/112"),
        "kubev6:network.serviceSubnet",
        r"overlaps network\.podSupernet fd00:100::/24",
    ),
    (
        "nat64-vs-node-prefix",
        setter("network", "nat64Prefix", value="fd00::/96"),
        "kubev6:network.nat64Prefix",
        r"overlaps network\.nodePrefix fd00::/64",
    ),
    # Pod subnets.
    (
        "duplicate-pod-subnet",
        setter("nodes", 2, "podSubnet", value="fd00:101::/64"),
        "kubev6:nodes[2].podSubnet",
        r"overlaps fd00:101::/64 \(kubev6:nodes\[1\]\.podSubnet\)",
    ),
    (
        "pod-subnet-not-64",
        setter("nodes", 1, "podSubnet", value="fd00:101::/56"),
        "kubev6:nodes[1].podSubnet",
        r"is a /56; .*one /64 per node",
    ),
    (
        "pod-subnet-outside-supernet",
        setter("nodes", 2, "podSubnet", value="fd01:102::/64"),
        "kubev6:nodes[2].podSubnet",
        r"not inside network\.podSupernet fd00:100::/24",
    ),
    # Node addresses.
    (
        "duplicate-node-address",
        setter("nodes", 2, "address", value="fd00::101"),
        "kubev6:nodes[2].address",
        r"duplicate address fd00::101 \(also kubev6:nodes\[1\]\.address\)",
    ),
    (
        "node-uses-gateway-address",
        setter("nodes", 2, "address", value="fd00::64"),
        "kubev6:nodes[2].address",
        r"duplicate address fd00::64 \(also kubev6:gateway\.address\)",
    ),
    (
        "node-address-outside-node-network",
        setter("nodes", 2, "address", value="fd01::102"),
        "kubev6:nodes[2].address",
        r"outside the node network network\.nodePrefix fd00::/64",
    ),
    # Service subnet.
    (
        "service-subnet-larger-than-108",
        setter("network", "serviceSubnet", value="fd00:1234::/100"),
        "kubev6:network.serviceSubnet",
        r"larger than /108",
    ),
    # IPv4 where IPv6 is required.
    (
        "ipv4-node-address",
        setter("nodes", 1, "address", value="192.0.2.101"),
        "kubev6:nodes[1].address",
        r"expected an IPv6 address, got IPv4",
    ),
    (
        "ipv4-gateway-address",
        setter("gateway", "address", value="192.0.2.64"),
        "kubev6:gateway.address",
        r"expected an IPv6 address, got IPv4",
    ),
    (
        "ipv4-node-prefix",
        setter("network", "nodePrefix", value="10.0.0.0/8"),
        "kubev6:network.nodePrefix",
        r"expected an IPv6 prefix, got IPv4",
    ),
    (
        "ipv4-pod-subnet",
        setter("nodes", 1, "podSubnet", value="10.244.1.0/24"),
        "kubev6:nodes[1].podSubnet",
        r"expected an IPv6 prefix, got IPv4",
    ),
    # IPv6 where IPv4 is required.
    (
        "ipv6-dns64-upstream",
        setter("gateway", "dns64", "upstream", value=["2001:db8::53"]),
        "kubev6:gateway.dns64.upstream[0]",
        r"expected an IPv4 address, got IPv6",
    ),
    # NAT64 prefix and non-global IPv4 (RFC 6052 section 3.1).
    (
        "well-known-nat64-non-global-ipv4",
        setter("gateway", "nat64", "reachableIpv4", value=["203.0.113.0/24", "10.0.0.0/8"]),
        "kubev6:gateway.nat64.reachableIpv4[1]",
        r"10\.0\.0\.0/8 is not global IPv4; the well-known prefix 64:ff9b::/96 may not be used",
    ),
    # Roles and names.
    (
        "zero-masters",
        setter("nodes", 0, "role", value="minion"),
        "kubev6:nodes",
        r"no node has role: master",
    ),
    (
        "two-masters",
        setter("nodes", 1, "role", value="master"),
        "kubev6:nodes",
        r"2 nodes have role: master .*odd number",
    ),
    (
        "duplicate-node-name",
        setter("nodes", 2, "name", value="kube-minion-1"),
        "kubev6:nodes[2].name",
        r"duplicate name 'kube-minion-1' \(also kubev6:nodes\[1\]\.name\)",
    ),
    (
        "node-named-like-gateway",
        setter("nodes", 2, "name", value="kube-nat64-dns64"),
        "kubev6:nodes[2].name",
        r"duplicate name 'kube-nat64-dns64' \(also kubev6:gateway\.name\)",
    ),
    (
        "bad-host-name",
        setter("nodes", 1, "name", value="Kube_Minion_1"),
        "kubev6:nodes[1].name",
        r"'Kube_Minion_1' is not a valid host name",
    ),
    (
        "bad-gateway-host-name",
        setter("gateway", "name", value="-gw"),
        "kubev6:gateway.name",
        r"is not a valid host name",
    ),
    # Unknown keys.
    ("unknown-top-level-key", setter("nodez", value=[]), "kubev6:nodez", r"unknown key"),
    (
        "unknown-nested-key",
        setter("network", "podSubnetz", value="fd00:100::/24"),
        "kubev6:network.podSubnetz",
        r"unknown key",
    ),
    # Prefix syntax.
    (
        "host-bits-set",
        setter("network", "nodePrefix", value="fd00::1/64"),
        "kubev6:network.nodePrefix",
        r"host bits set; did you mean fd00::/64\?",
    ),
    # Platform.
    (
        "unknown-platform-kind",
        setter("platform", "kind", value="vmware"),
        "kubev6:platform",
        r"'vmware'.*'libvirt'.*'existing'",
    ),
    (
        "libvirt-without-uplink-address",
        remover("gateway", "uplinkAddress"),
        "kubev6:gateway.uplinkAddress",
        r"required on the libvirt platform",
    ),
    (
        "initrd-without-kernel",
        setter("platform", "initrd", value="/var/lib/images/initrd.img"),
        "kubev6:platform.initrd",
        r"only with platform\.kernel",
    ),
    (
        "kernel-cmdline-without-kernel",
        setter("platform", "kernelCmdline", value=["root=/dev/vda", "console=ttyS0"]),
        "kubev6:platform.kernelCmdline",
        r"only with platform\.kernel",
    ),
    # Stages.
    (
        "kubeadm-without-install",
        setter("stages", value={"install": False, "kubeadm": True, "workloads": False}),
        "kubev6:stages.kubeadm",
        r"needs stages\.install",
    ),
    # Versions and keys.
    (
        "kubernetes-too-old",
        setter("kubernetes", value={"version": "1.30.9"}),
        "kubev6:kubernetes.version",
        r"1\.30\.9 is too old.*1\.31",
    ),
    (
        "private-key-as-public-key",
        setter("ssh", value={"publicKey": PRIVATE_KEY}),
        "kubev6:ssh.publicKey",
        r"this is a private key; put it in kubev6:sshPrivateKey",
    ),
]


@pytest.mark.parametrize(("mutate", "key", "reason"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_mistake_is_refused_with_key_and_reason(mutate: Mutation, key: str, reason: str) -> None:
    problems = assert_refused_naming(mutate, key, reason)
    assert all(p.severity == "error" for p in problems)


def test_dev_stack_itself_is_accepted() -> None:
    loaded = parse_config(dev())
    assert loaded.warnings == []


@pytest.mark.parametrize("length", [108, 110, 111])
def test_service_subnet_between_108_and_112_is_only_a_warning(length: int) -> None:
    raw = dev()
    raw["network"]["serviceSubnet"] = f"fd00:1234::/{length}"
    loaded = parse_config(raw)
    [warning] = [w for w in loaded.warnings if w.key == "kubev6:network.serviceSubnet"]
    assert warning.severity == "warning"
    assert "clamps" in warning.message
    assert "/112" in warning.message


def test_network_specific_nat64_prefix_may_translate_non_global_ipv4() -> None:
    raw = dev()
    raw["gateway"]["nat64"]["reachableIpv4"] = ["10.0.0.0/8", "198.51.100.0/24"]
    raw["network"]["nat64Prefix"] = "fd00:64:ff9b::/96"
    loaded = parse_config(raw)
    assert loaded.warnings == []
    assert str(loaded.cluster.network.nat64_prefix) == "fd00:64:ff9b::/96"


def test_well_known_nat64_prefix_with_global_ipv4_is_fine() -> None:
    raw = dev()
    raw["gateway"]["nat64"]["reachableIpv4"] = ["8.8.8.0/24"]
    parse_config(raw)


# The machine running `pulumi up` has its own network on fd00::/64 (like the CI machine).
LOCAL_FD00 = [HostRoute(IPNetwork("fd00::/64"), "eth0")]


def test_local_libvirt_stack_on_this_machines_own_prefix_is_refused() -> None:
    problems = refused(dev(), LOCAL_FD00)
    [problem] = problems
    assert problem.key == "kubev6:network.nodePrefix"
    assert "fd00::/64 on eth0" in problem.message
    assert "pick another prefix" in problem.message


def test_routes_on_the_stacks_own_bridge_are_expected() -> None:
    routes = [HostRoute(IPNetwork("fd00::/64"), "kv6br0"), HostRoute(IPNetwork("::/0"), "eth0")]
    parse_config(dev(), routes)
    raw = dev()
    raw["platform"]["clusterBridge"] = "br-k8s"
    parse_config(raw, [HostRoute(IPNetwork("fd00::/64"), "br-k8s")])
    # ...but the default bridge name no longer counts once the stack names another one.
    assert refused(raw, [HostRoute(IPNetwork("fd00::/64"), "kv6br0")])[0].key == "kubev6:network.nodePrefix"


def test_routes_not_overlapping_the_node_prefix_are_ignored() -> None:
    parse_config(dev(), [HostRoute(IPNetwork("fd01::/64"), "eth0"), HostRoute(IPNetwork("fe80::/64"), "eth0")])


@pytest.mark.parametrize("uri", ["qemu+ssh://host/system", "qemu+tcp://10.0.0.1/system"])
def test_remote_libvirt_is_not_checked_against_local_routes(uri: str) -> None:
    raw = dev()
    raw["platform"]["uri"] = uri
    parse_config(raw, LOCAL_FD00)


def test_existing_hosts_without_local_bridge_are_not_checked_against_local_routes() -> None:
    raw = dev()
    raw["platform"] = {"kind": "existing"}
    del raw["gateway"]["uplinkAddress"]
    parse_config(raw, LOCAL_FD00)
    raw["network"]["localBridge"] = "kv6lab0"
    assert refused(raw, LOCAL_FD00)[0].key == "kubev6:network.nodePrefix"
    parse_config(raw, [HostRoute(IPNetwork("fd00::/64"), "kv6lab0")])


def test_all_problems_are_reported_at_once() -> None:
    # Two independent field mistakes.
    raw = dev()
    raw["nodes"][1]["address"] = "192.0.2.101"
    raw["gateway"]["dns64"]["upstream"] = ["2001:db8::53"]
    raw["nodez"] = []
    keys = {p.key for p in refused(raw)}
    assert keys == {"kubev6:nodes[1].address", "kubev6:gateway.dns64.upstream[0]", "kubev6:nodez"}

    # Two independent topology mistakes.
    raw = dev()
    raw["network"]["nat64Prefix"] = "fd00::/96"
    raw["nodes"][2]["name"] = "kube-minion-1"
    raw["stages"] = {"install": False}
    keys = {p.key for p in refused(raw)}
    assert keys == {"kubev6:network.nat64Prefix", "kubev6:nodes[2].name", "kubev6:stages.kubeadm"}


def test_config_error_lists_every_problem_one_per_line() -> None:
    raw = dev()
    raw["nodes"][1]["address"] = "192.0.2.101"
    raw["platform"]["kind"] = "vm\nware"  # user input with a line break, quoted in the message
    raw["ssh"] = {"publicKey": PRIVATE_KEY}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    error = info.value
    text = str(error)
    assert len(error.problems) == 3
    assert "Traceback" not in text
    lines = text.splitlines()
    assert lines[0] == "the stack config has 3 problem(s):"
    assert len(lines) == 1 + len(error.problems)
    for problem, line in zip(error.problems, lines[1:], strict=True):
        assert re.fullmatch(r"kubev6:\S+", problem.key)
        assert len(problem.message.splitlines()) == 1
        assert line == f"  - {problem.key}: {problem.message}"


# Fuzz: any value anywhere gives ConfigError (one-line problems) or a valid config, never a crash.
_leaf_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=30),
    st.sampled_from(
        ["fd00::", "fd00::/64", "10.0.0.0/8", "::/0", "64:ff9b::/96", "fd00::1/64", "master", "a\nb", "1.31.0"]
    ),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            paths += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            paths += _paths(v, (*prefix, i))
    return paths


_DEV_PATHS = _paths(DEV)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(_DEV_PATHS), _leaf_values), min_size=1, max_size=3))
def test_any_mangled_config_fails_cleanly(changes: list[tuple[tuple[str | int, ...], Any]]) -> None:
    raw = dev()
    for path, value in changes:
        try:
            setter(*path, value=value)(raw)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent of this path
    try:
        parse_config(raw)
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.key.startswith("kubev6:")
            assert len(f"{problem.key}: {problem.message}".splitlines()) == 1, problem
    except Exception:  # pragma: no cover - the failure message is the point
        pytest.fail(f"parse_config crashed instead of raising ConfigError:\n{traceback.format_exc()}")
