"""Input that used to pass validation and only failed (or did harm) later: each is refused
before any resource, naming the key. Same style as test_config_errors.py: the dev stack with
one thing changed."""

from __future__ import annotations

import pytest

from config_schemas import parse_config
from config_schemas.model import DEFAULT_KUBERNETES_VERSION
from tests.helpers.config_errors import Mutation, assert_refused_naming, dev, refused, remover, setter

# Strings that would break out of the file they are copied into (quotes, newlines, shell).
INJECTIONS = ['a"b', "a\nb", "a'b", "a b", "$(reboot)", "a`id`", "a;b", "a\\b", "a}b"]

# (id, mutation, exact key of one problem, regex its message must match)
CASES: list[tuple[str, Mutation, str, str]] = [
    # Durations.
    (
        "token-ttl-forever",
        setter("kubernetes", value={"tokenTtl": "forever"}),
        "kubev6:kubernetes.tokenTtl",
        r"'forever' is not a Go duration like 24h0m0s",
    ),
    # Cluster DNS domain.
    ("dns-domain-empty", setter("network", "dnsDomain", value=""), "kubev6:network.dnsDomain", r"not a DNS domain"),
    (
        "dns-domain-empty-label",
        setter("network", "dnsDomain", value="cluster..local"),
        "kubev6:network.dnsDomain",
        r"'cluster\.\.local' is not a DNS domain",
    ),
    # The gateway's IPv4 default route.
    (
        "uplink-gateway-outside-uplink-subnet",
        setter("gateway", "uplinkGateway", value="192.168.165.1"),
        "kubev6:gateway.uplinkGateway",
        r"192\.168\.165\.1 is outside the uplink subnet 192\.168\.164\.0/24 of gateway\.uplinkAddress",
    ),
    (
        "uplink-gateway-is-own-address",
        setter("gateway", "uplinkGateway", value="192.168.164.2"),
        "kubev6:gateway.uplinkGateway",
        r"is the gateway's own address",
    ),
    (
        "uplink-gateway-is-broadcast",
        setter("gateway", "uplinkGateway", value="192.168.164.255"),
        "kubev6:gateway.uplinkGateway",
        r"broadcast",
    ),
    (
        "derived-uplink-gateway-outside-a-32",
        lambda raw: (
            setter("gateway", "uplinkAddress", value="192.168.164.2/32")(raw),
            remover("gateway", "uplinkGateway")(raw),
        ),
        "kubev6:gateway.uplinkAddress",
        r"set gateway\.uplinkGateway",
    ),
    # Interface names Linux refuses (they end up in nft rules and route scripts).
    (
        "cluster-interface-too-long",
        setter("network", "clusterInterface", value="eth0123456789abc"),
        "kubev6:network.clusterInterface",
        r"not a Linux interface name.*15",
    ),
    (
        "cluster-interface-space",
        setter("network", "clusterInterface", value="eth 0"),
        "kubev6:network.clusterInterface",
        r"not a Linux interface name",
    ),
    (
        "uplink-interface-quote",
        setter("gateway", "uplinkInterface", value='eth1" accept'),
        "kubev6:gateway.uplinkInterface",
        r"not a Linux interface name",
    ),
    (
        "cluster-bridge-slash",
        setter("platform", "clusterBridge", value="br/0"),
        "kubev6:platform.clusterBridge",
        r"not a Linux interface name",
    ),
    (
        "uplink-bridge-dot",
        setter("platform", "uplinkBridge", value=".."),
        "kubev6:platform.uplinkBridge",
        r"not a Linux interface name",
    ),
    (
        "local-bridge-newline",
        setter("network", "localBridge", value="kv6\nlab0"),
        "kubev6:network.localBridge",
        r"not a Linux interface name",
    ),
    # Non-unicast prefixes.
    (
        "multicast-service-subnet",
        setter("network", "serviceSubnet", value="ff05::/112"),
        "kubev6:network.serviceSubnet",
        r"ff05::/112 is not a unicast prefix \(multicast",
    ),
    (
        "multicast-nat64-prefix",
        setter("network", "nat64Prefix", value="ff0e::/96"),
        "kubev6:network.nat64Prefix",
        r"not a unicast prefix \(multicast",
    ),
    (
        "link-local-node-prefix",
        setter("network", "nodePrefix", value="fe80::/64"),
        "kubev6:network.nodePrefix",
        r"not a unicast prefix \(link-local",
    ),
    (
        "multicast-node-prefix",
        setter("network", "nodePrefix", value="ff02::/64"),
        "kubev6:network.nodePrefix",
        r"not a unicast prefix \(multicast",
    ),
    (
        "loopback-range-pod-supernet",
        setter("network", "podSupernet", value="::/40"),
        "kubev6:network.podSupernet",
        r"not a unicast prefix",
    ),
    (
        "multicast-dns64-upstream",
        setter("gateway", "dns64", "upstream", value=["224.0.0.251"]),
        "kubev6:gateway.dns64.upstream[0]",
        r"not a unicast IPv4 address",
    ),
    # Counts and sizes are whole numbers, not booleans or strings.
    ("vcpus-true", setter("platform", "vcpus", value=True), "kubev6:platform.vcpus", r"expected a whole number"),
    (
        "memory-string",
        setter("platform", "memoryMib", value="4096"),
        "kubev6:platform.memoryMib",
        r"expected a whole number",
    ),
    ("disk-float", setter("platform", "diskGib", value=20.5), "kubev6:platform.diskGib", r"expected a whole number"),
    ("ssh-port-true", setter("ssh", value={"port": True}), "kubev6:ssh.port", r"expected a whole number"),
    (
        "replicas-false",
        setter("workloads", value={"replicas": False}),
        "kubev6:workloads.replicas",
        r"expected a whole number",
    ),
    # TAYGA's own IPv6 address (the node network's last-but-one with the well-known prefix).
    (
        "node-on-taygas-address",
        lambda raw: (
            setter("gateway", "nat64", "engine", value="tayga")(raw),
            setter("nodes", 2, "address", value="fd00::ffff:ffff:ffff:fffe")(raw),
            setter("nodes", 2, "podSubnet", value="fd00:102::/64")(raw),
        ),
        "kubev6:nodes[2].address",
        r"fd00::ffff:ffff:ffff:fffe is TAYGA's own IPv6 address",
    ),
    (
        "gateway-on-taygas-address",
        lambda raw: (
            setter("gateway", "nat64", "engine", value="tayga")(raw),
            setter("gateway", "address", value="fd00::ffff:ffff:ffff:fffe")(raw),
        ),
        "kubev6:gateway.address",
        r"is TAYGA's own IPv6 address",
    ),
    # Pod subnets overlapping other prefixes say so.
    (
        "pod-subnet-is-the-node-network",
        setter("nodes", 1, "podSubnet", value="fd00::/64"),
        "kubev6:nodes[1].podSubnet",
        r"fd00::/64 overlaps network\.nodePrefix fd00::/64",
    ),
    (
        "pod-subnet-in-the-service-subnet",
        setter("nodes", 1, "podSubnet", value="fd00:1234::/64"),
        "kubev6:nodes[1].podSubnet",
        r"fd00:1234::/64 overlaps network\.serviceSubnet fd00:1234::/112",
    ),
    # Kubernetes versions.
    (
        "kubernetes-1.9",
        setter("kubernetes", value={"version": "1.9"}),
        "kubev6:kubernetes.version",
        r"1\.9 is too old.*1\.31",
    ),
    (
        "kubernetes-v1.30",
        setter("kubernetes", value={"version": "v1.30"}),
        "kubev6:kubernetes.version",
        r"too old",
    ),
    (
        "kubernetes-without-patch",
        setter("kubernetes", value={"version": "1.34"}),
        "kubev6:kubernetes.version",
        r"'1\.34' is not a full Kubernetes version",
    ),
]

# Every string field that is copied into a rendered file (or a script), with a valid value.
STRING_FIELDS: list[tuple[tuple[str | int, ...], str]] = [
    (("gateway", "dns64", "localZones"), "test."),
    (("kubernetes", "imageRepository"), "registry.k8s.io"),
    (("kubernetes", "packageRepository"), "https://pkgs.k8s.io/core:/stable:"),
    (("kubernetes", "clusterName"), "kube-v6"),
    (("kubernetes", "timeouts", "discovery"), "5m0s"),
    (("network", "dnsDomain"), "cluster.local"),
    (("network", "clusterInterface"), "eth0"),
    (("gateway", "uplinkInterface"), "eth1"),
    (("gateway", "host"), "gw.example.org"),
    (("nodes", 1, "host"), "2001:db8::101"),
    (("platform", "uri"), "qemu:///system"),
    (("platform", "baseImage"), "https://cloud.debian.org/images/debian-12.qcow2"),
    (("platform", "poolPath"), "/var/lib/libvirt/images/kube-v6"),
    (("ssh", "user"), "debian"),
    (("workloads", "namespace"), "kubev6-checks"),
    (("workloads", "image"), "registry.k8s.io/e2e-test-images/agnhost:2.53"),
    (("workloads", "checkImage"), "docker.io/library/busybox:1.36@sha256:" + "ab" * 32),
    (("workloads", "egressUrl"), "http://ipv4.google.com/"),
]


def set_string(raw: dict, path: tuple[str | int, ...], value: str) -> None:
    if path == ("gateway", "dns64", "localZones"):
        raw["gateway"]["dns64"]["localZones"] = [value]
        return
    if path[0] == "nodes":  # a node's `host` is for existing machines only
        raw["platform"] = {"kind": "existing"}
        del raw["gateway"]["uplinkAddress"], raw["gateway"]["uplinkGateway"]
    target = raw
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value


def problem_key(path: tuple[str | int, ...]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return f"kubev6:{text}" + ("[0]" if path[-1] == "localZones" else "")


@pytest.mark.parametrize(("mutate", "key", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_input_is_refused_with_key_and_reason(mutate: Mutation, key: str, reason: str) -> None:
    assert_refused_naming(mutate, key, reason)


@pytest.mark.parametrize(("path", "valid"), STRING_FIELDS, ids=[".".join(map(str, f[0])) for f in STRING_FIELDS])
def test_string_fields_take_their_valid_value(path: tuple[str | int, ...], valid: str) -> None:
    raw = dev()
    set_string(raw, path, valid)
    parse_config(raw)


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("path", [f[0] for f in STRING_FIELDS], ids=[".".join(map(str, f[0])) for f in STRING_FIELDS])
def test_string_fields_refuse_quotes_newlines_and_shell(path: tuple[str | int, ...], injection: str) -> None:
    valid = dict(STRING_FIELDS)[path]
    raw = dev()
    set_string(raw, path, valid[:-1] + injection + valid[-1:])
    assert problem_key(path) in {p.key for p in refused(raw)}


def test_uplink_gateway_without_an_uplink_address_is_a_warning() -> None:
    raw = dev()
    raw["platform"] = {"kind": "existing"}
    del raw["gateway"]["uplinkAddress"]
    [warning] = parse_config(raw).warnings
    assert warning.key == "kubev6:gateway.uplinkGateway"
    assert "not used without gateway.uplinkAddress" in warning.message


def test_well_known_and_local_use_nat64_prefixes_are_unicast() -> None:
    for prefix in ("64:ff9b::/96", "64:ff9b:1:2::/96", "2001:db8:64::/96", "fd00:64::/96"):
        raw = dev()
        raw["network"]["nat64Prefix"] = prefix
        parse_config(raw)


def test_valid_values_at_the_new_limits_pass() -> None:
    """Durations like 0s, zone names without their final dot, a local bridge: still accepted."""
    raw = dev()
    raw["kubernetes"] = {"version": DEFAULT_KUBERNETES_VERSION, "tokenTtl": "0s"}
    raw["gateway"]["dns64"]["localZones"] = ["test", "home.arpa."]
    raw["network"]["localBridge"] = "kv6lab0"
    parse_config(raw)


@pytest.mark.parametrize("version", ["1.9", "1.9.0", "v1.9", "1.30", "1.30.9", "1.0.0"])
def test_old_kubernetes_versions_are_too_old_however_written(version: str) -> None:
    raw = dev()
    raw["kubernetes"] = {"version": version}
    [problem] = refused(raw)
    assert problem.key == "kubev6:kubernetes.version"
    assert "too old" in problem.message
