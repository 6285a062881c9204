"""Settings that two parts of the system share must differ: ports on one machine, interface and
bridge names on one machine, SSH targets, the NAT64 pool against the IPv4 the cluster reaches, the
test workloads' namespace against Kubernetes' own. Each is refused naming the key, before any
resource; a hypothesis property sets every such pair equal (refused) and distinct (no collision).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_schemas import ConfigError, Problem, parse_config
from config_schemas.stack_files import raw_stack_config

Raw = dict[str, Any]
Path_ = tuple[str | int, ...]


def stack(name: str) -> Raw:
    return copy.deepcopy(raw_stack_config(name))


def with_mirror(raw: Raw) -> Raw:
    raw.setdefault("kubernetes", {})["artifacts"] = "mirror"
    return raw


def put(raw: Raw, path: Path_, value: object) -> Raw:
    target: Any = raw
    for part in path[:-1]:
        if isinstance(part, str):
            target = target.setdefault(part, {})
        else:
            target = target[part]
    target[path[-1]] = value
    return raw


def problems_of(raw: Raw) -> list[Problem]:
    try:
        parse_config(raw)
    except ConfigError as exc:
        return exc.problems
    return []


def refused_naming(raw: Raw, key: str, reason: str) -> None:
    problems = problems_of(raw)
    matching = [p for p in problems if p.key == key]
    assert matching, f"no problem for {key}; got {[str(p) for p in problems]}"
    assert any(re.search(reason, p.message) for p in matching), [str(p) for p in matching]


# (id, stack, changes (path -> value), key, reason)
CASES: list[tuple[str, str, dict[Path_, object], str, str]] = [
    # The gateway's listeners: its resolver (53, UDP and TCP), sshd (ssh.port), the artifact mirror.
    ("mirror-on-dns", "lab-k8s", {("kubernetes", "mirror", "port"): 53}, "kubev6:kubernetes.mirror.port",
     r"53 is the port of the gateway's DNS64 resolver"),
    ("mirror-on-ssh", "lab-k8s", {("kubernetes", "mirror", "port"): 22}, "kubev6:kubernetes.mirror.port",
     r"22 is also ssh\.port"),
    ("ssh-on-mirror", "lab-k8s", {("ssh", "port"): 8089}, "kubev6:kubernetes.mirror.port", r"8089 is also ssh\.port"),
    ("ssh-on-dns", "dev", {("ssh", "port"): 53}, "kubev6:ssh.port", r"53 is the port of the gateway's DNS64 resolver"),
    ("registry-on-dns", "lab-k8s", {("kubernetes", "mirror", "registryPort"): 53},
     "kubev6:kubernetes.mirror.registryPort", r"53 is the port of the gateway's DNS64 resolver"),
    ("registry-on-ssh", "lab-k8s", {("kubernetes", "mirror", "registryPort"): 22},
     "kubev6:kubernetes.mirror.registryPort", r"22 is also ssh\.port"),
    ("registry-on-mirror", "lab-k8s", {("kubernetes", "mirror", "registryPort"): 8089},
     "kubev6:kubernetes.mirror.registryPort", r"8089 is also kubernetes\.mirror\.port"),
    # The nodes' Kubernetes listeners (sshd listens on every address, these on the node's or localhost).
    ("ssh-on-apiserver", "dev", {("ssh", "port"): 6443}, "kubev6:ssh.port", r"6443 is kube-apiserver's port"),
    ("ssh-on-kubelet", "dev", {("ssh", "port"): 10250}, "kubev6:ssh.port", r"10250 is kubelet's port"),
    ("ssh-on-etcd", "dev", {("ssh", "port"): 2380}, "kubev6:ssh.port", r"2380 is etcd \(peers\)'s port"),
    ("ssh-in-nodeports", "dev", {("ssh", "port"): 30022}, "kubev6:ssh.port", r"NodePort range 30000-32767"),
    # Interfaces and bridges of the cluster side and the uplink side.
    ("uplink-if-is-cluster-if", "dev", {("gateway", "uplinkInterface"): "eth0"}, "kubev6:gateway.uplinkInterface",
     r"'eth0' is also network\.clusterInterface"),
    ("uplink-bridge-is-cluster-bridge", "dev", {("platform", "uplinkBridge"): "kv6br0"},
     "kubev6:platform.uplinkBridge", r"'kv6br0' is also platform\.clusterBridge"),
    ("local-bridge-is-uplink-bridge", "dev", {("network", "localBridge"): "kv6up0"}, "kubev6:network.localBridge",
     r"'kv6up0' is platform\.uplinkBridge"),
    ("loopback-as-cluster-if", "dev", {("network", "clusterInterface"): "lo"}, "kubev6:network.clusterInterface",
     r"'lo' is the loopback"),
    ("all-as-uplink-if", "dev", {("gateway", "uplinkInterface"): "all"}, "kubev6:gateway.uplinkInterface",
     r"'all' names every interface"),
    ("interface-too-long", "dev", {("network", "clusterInterface"): "a23456789012345x"},
     "kubev6:network.clusterInterface", r"not a Linux interface name \(1 to 15"),
    # Two machines behind one SSH target: both machines' steps would run on one host.
    ("same-ssh-host", "large", {("nodes", 1, "host"): "node-a.example", ("nodes", 2, "host"): "node-a.example"},
     "kubev6:nodes[2].host", r"node-a\.example is also where SSH reaches nodes\[1\]"),
    ("host-is-other-address", "large", {("nodes", 2, "host"): "fd10:6::11"}, "kubev6:nodes[2].host",
     r"is also where SSH reaches"),
    # TAYGA's pool against the IPv4 the cluster reaches, and the resolver forwarding to itself.
    ("pool-holds-reachable", "lab", {("gateway", "nat64", "ipv4Pool"): "203.0.113.0/24"},
     "kubev6:gateway.nat64.ipv4Pool", r"overlaps gateway\.nat64\.reachableIpv4\[1\] 203\.0\.113\.0/24"),
    ("pool-holds-upstream", "lab", {("gateway", "nat64", "ipv4Pool"): "203.0.113.0/25",
                                    ("gateway", "nat64", "reachableIpv4"): ["198.51.100.0/24"]},
     "kubev6:gateway.nat64.ipv4Pool", r"holds gateway\.dns64\.upstream\[0\] 203\.0\.113\.53"),
    ("pool-in-uplink-prefix", "tayga-bind", {("gateway", "nat64", "ipv4Pool"): "192.168.166.128/25"},
     "kubev6:gateway.nat64.ipv4Pool", r"overlaps platform\.uplinkPrefix"),
    ("upstream-is-own-uplink", "dev", {("gateway", "dns64", "upstream"): ["192.168.164.2"]},
     "kubev6:gateway.dns64.upstream[0]", r"192\.168\.164\.2 is the gateway's own gateway\.uplinkAddress"),
    # The test workloads' namespace is created and deleted with them.
    ("workloads-in-kube-system", "dev", {("workloads", "namespace"): "kube-system"}, "kubev6:workloads.namespace",
     r"kube-system is Kubernetes' own namespace"),
    ("workloads-in-default", "dev", {("workloads", "namespace"): "default"}, "kubev6:workloads.namespace",
     r"default is Kubernetes' own namespace"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "base", "changes", "key", "reason"), CASES, ids=[c[0] for c in CASES])
def test_a_shared_port_or_name_is_refused_naming_the_key(
    name: str, base: str, changes: dict[Path_, object], key: str, reason: str
) -> None:
    raw = stack(base)
    for path, value in changes.items():
        put(raw, path, value)
    refused_naming(raw, key, reason)


def test_every_stack_file_is_still_accepted() -> None:
    from config_schemas.stack_files import stack_names

    for name in stack_names():
        assert problems_of(stack(name)) == [], name


def test_ports_of_stages_that_are_off_are_free() -> None:
    raw = stack("lab")  # install, kubeadm and workloads off: no mirror, no Kubernetes listeners
    put(raw, ("ssh", "port"), 6443)
    put(raw, ("kubernetes", "mirror", "port"), 53)
    assert problems_of(raw) == []


@dataclass(frozen=True)
class Pair:
    """Two settings that must differ, the stack they are tried on, and values either may take."""

    stack: str
    first: Path_
    second: Path_
    values: st.SearchStrategy[Any]
    prepare: Any = None


INTERFACES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(lambda n: n not in ("lo", "all"))
PORTS = st.integers(1024, 29999).filter(
    lambda p: p not in (2379, 2380, 2381, 5000, 6443, 8089, 10248, 10249, 10250, 10256, 10257, 10259)
)
HOSTS = st.from_regex(r"[a-z]{1,8}\.example", fullmatch=True)
ADDRESSES = st.integers(0x200, 0xFFFF).map(lambda n: f"fd10:6::{n:x}")

PAIRS = [
    Pair("dev", ("network", "clusterInterface"), ("gateway", "uplinkInterface"), INTERFACES),
    Pair("dev", ("platform", "clusterBridge"), ("platform", "uplinkBridge"), INTERFACES),
    Pair("dev", ("platform", "uplinkBridge"), ("network", "localBridge"), INTERFACES),
    Pair("lab-k8s", ("ssh", "port"), ("kubernetes", "mirror", "port"), PORTS),
    Pair("lab-k8s", ("ssh", "port"), ("kubernetes", "mirror", "registryPort"), PORTS),
    Pair("lab-k8s", ("kubernetes", "mirror", "port"), ("kubernetes", "mirror", "registryPort"), PORTS),
    Pair("large", ("gateway", "name"), ("nodes", 3, "name"), HOSTS.map(lambda h: h.split(".")[0])),
    Pair("large", ("gateway", "address"), ("nodes", 3, "address"), ADDRESSES),
    Pair("large", ("nodes", 1, "host"), ("nodes", 4, "host"), HOSTS),
    Pair("large", ("gateway", "host"), ("nodes", 2, "host"), HOSTS),
]


def key_of(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return f"kubev6:{text}"


@settings(max_examples=150, deadline=None)
@given(pair=st.sampled_from(PAIRS), data=st.data())
def test_every_pair_that_must_differ_is_refused_when_equal_and_accepted_when_not(pair: Pair, data: Any) -> None:
    value = data.draw(pair.values, label="value")
    other = data.draw(pair.values.filter(lambda v: v != value), label="other")
    equal = put(put(stack(pair.stack), pair.first, value), pair.second, value)
    keys = {p.key for p in problems_of(equal)}
    assert keys & {key_of(pair.first), key_of(pair.second)}, (pair, value, keys)
    distinct = put(put(stack(pair.stack), pair.first, value), pair.second, other)
    assert problems_of(distinct) == [], (pair, value, other)
