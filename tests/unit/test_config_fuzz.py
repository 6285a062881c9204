"""Fuzz: random stack configs, valid and invalid, through the loader, the planner and every renderer.

Each example starts from a valid config (a checked-in stack, or one the planner's generator makes)
and applies zero or more random edits: set any config key (or an unknown one) to any kind of
value (IPv6/IPv4 text from special ranges, numbers, booleans, strings with quotes and newlines,
lists, maps), delete a key, copy, drop or re-role a node. The loader must then either accept the
config, and then the plan and every rendered file are produced without error and no accepted
string can break out of the file it is copied into, or raise ConfigError whose every problem
names a `kubev6:` key on one line. Any other exception fails the test.
"""

from __future__ import annotations

import copy
import re
import traceback
import typing
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork
from pydantic import BaseModel

from config_schemas import ConfigError, parse_config
from config_schemas.model import ClusterConfig
from config_schemas.stack_files import raw_stack_config, stack_names
from planning.plan import ClusterPlan, make_plan
from rendering import cloud_init, steps
from rendering.node_install import MIRROR_BINARIES, MirrorContent
from tests.helpers.configs import _models, cluster_configs, config_keys

Raw = dict[str, Any]
STACKS = {name: raw_stack_config(name) for name in stack_names()}
# Every key of the schema, as a path template ("nodes[].address"), and those holding strings.
KEYS = sorted(config_keys(ClusterConfig))


def _holds_str(annotation: object) -> bool:
    return annotation is str or any(_holds_str(a) for a in typing.get_args(annotation))


def string_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = _models(field.annotation)
        if not nested and _holds_str(field.annotation) and typing.get_origin(field.annotation) is not Literal:
            keys.add(key)
        for sub in nested:
            keys |= string_keys(sub, key + ("[]." if typing.get_origin(field.annotation) is list else "."))
    return keys


STRING_KEYS = sorted(string_keys(ClusterConfig))
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6 fuzz"


def _v6(blocks: list[str]) -> st.SearchStrategy[IPNetwork]:
    return st.tuples(st.sampled_from(blocks), st.integers(0, 2**128 - 1)).map(
        lambda t: IPNetwork((IPNetwork(t[0]).first | (t[1] & (IPNetwork(t[0]).hostmask.value)), 128), version=6)
    )


V6_BLOCKS = ["fd00::/8", "2001:db8::/32", "ff00::/8", "fe80::/10", "::/8", "64:ff9b::/96", "fd00::/64", "fec0::/10"]
ipv6_addresses = _v6(V6_BLOCKS).map(lambda n: str(n.ip))
ipv6_prefixes = st.tuples(_v6(V6_BLOCKS), st.integers(0, 128), st.booleans()).map(
    lambda t: f"{t[0].ip}/{t[1]}" if t[2] else str(IPNetwork((t[0].value, t[1]), version=6).cidr)
)
ipv4_addresses = st.integers(0, 2**32 - 1).map(lambda i: str(IPAddress(i, 4)))
ipv4_prefixes = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.booleans()).map(
    lambda t: f"{IPAddress(t[0], 4)}/{t[1]}" if t[2] else str(IPNetwork((t[0], t[1]), version=4).cidr)
)
nasty_strings = st.sampled_from(
    [
        "", " ", "a\nb", 'x"y', "x'y", "$(reboot)", "`id`", "a;b", "a\\b", "}", "é", "\x00", "\t",
        "kube-v6", "eth0", "kv6br0123456789x", "a/b", ".", "..", "cluster..local", "test.", "forever", "0s",
        "1.9", "1.9.0", "v1.31.0", "1.31", "1.40.2", "2.0.0", "24h0m0s", "1.5h", "-1h", "registry.k8s.io",
        "https://pkgs.k8s.io/core:/stable:", "http://x/$(id)", "busybox:1.36", "root", "Root", "ssh-ed25519 AAAA",
        PUBLIC_KEY, PUBLIC_KEY + "\nssh-rsa BBBB", "-----BEGIN OPENSSH PRIVATE KEY-----", "libvirt", "existing",
        "master", "minion", "tayga", "jool", "unbound", "bind9", "qemu", "kvm", "online", "qemu:///system",
    ]
)  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    nasty_strings,
    ipv6_addresses,
    ipv6_prefixes,
    ipv4_addresses,
    ipv4_prefixes,
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["kind", "engine", "a", "version", "address", "x"]), scalars, max_size=2),
)


def _node_count(raw: Raw) -> int:
    nodes = raw.get("nodes")
    return len(nodes) if isinstance(nodes, list) else 0


def _set(raw: Raw, template: str, value: Any, index: int) -> None:
    """Set `template` ("nodes[].address"), creating missing maps; lists get `index` (clamped)."""
    target: Any = raw
    parts = re.findall(r"[^.\[\]]+|\[\]", template)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "[]":
            if not isinstance(target, list) or not target:
                return
            j = index % len(target)
            if last:
                target[j] = value
                return
            if not isinstance(target[j], dict):
                target[j] = {}
            target = target[j]
            continue
        if not isinstance(target, dict):
            return
        if last:
            target[part] = value
            return
        if not isinstance(target.get(part), dict | list):
            target[part] = [] if parts[i + 1] == "[]" else {}
        target = target[part]


def _delete(raw: Raw, template: str, index: int) -> None:
    parent_template, _, name = template.rpartition(".")
    holder: Any = raw
    for part in re.findall(r"[^.\[\]]+|\[\]", parent_template):
        if part == "[]":
            holder = holder[index % len(holder)] if isinstance(holder, list) and holder else None
        else:
            holder = holder.get(part) if isinstance(holder, dict) else None
    if isinstance(holder, dict):
        holder.pop(name, None)


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[str, str, Any, int]]:
    any_edit = st.tuples(
        st.sampled_from(["set", "set", "delete", "unknown", "copy-node", "drop-node", "role"]),
        st.sampled_from(KEYS),
        values,
        st.integers(0, 50),
    )
    # A string key set to a string: the edits that could inject into a rendered file.
    text = st.one_of(st.text(max_size=20), nasty_strings)
    string_edit = st.tuples(
        st.just("set"), st.sampled_from(STRING_KEYS), st.one_of(text, st.lists(text, min_size=1, max_size=2)),
        st.integers(0, 50),
    )  # fmt: skip
    return draw(st.lists(st.one_of(any_edit, string_edit), max_size=4))


def apply(raw: Raw, changes: list[tuple[str, str, Any, int]]) -> None:
    for action, template, value, index in changes:
        nodes = raw.get("nodes")
        if action == "set":
            _set(raw, template, value, index)
        elif action == "delete":
            _delete(raw, template, index)
        elif action == "unknown":
            _set(raw, template.rsplit(".", 1)[0] + ".notAKey" if "." in template else "notAKey", value, index)
        elif isinstance(nodes, list) and nodes:
            j = index % len(nodes)
            if action == "copy-node":
                nodes.append(copy.deepcopy(nodes[j]))
            elif action == "drop-node":
                del nodes[j]
            elif isinstance(nodes[j], dict):
                nodes[j]["role"] = "master" if nodes[j].get("role") == "minion" else "minion"


def render_everything(plan: ClusterPlan) -> list[str]:
    """Every script and file the program would send or write, for every host."""
    texts = []
    for host in plan.hosts:
        texts.append(steps.network_step(plan, host).create)
        if plan.libvirt is not None:
            texts += [cloud_init.user_data(host, PUBLIC_KEY, plan.ssh.user)]
            texts += [
                cloud_init.network_config(
                    host, plan.cluster_interface, plan.node_prefix.prefixlen, plan.nameserver(host), plan.uplink
                )
            ]
    texts += [steps.nat64_step(plan.nat64).create, steps.dns64_step(plan.dns64).create]
    texts.append(steps.gateway_packages_step(plan.nat64, plan.dns64, plan.kubernetes, plan.api_lb).create)
    texts.append(steps.kubeadm_init_step(plan.kubeadm, plan.master).create)
    mirror = plan.kubeadm.kubernetes.artifacts == "mirror"
    content = MirrorContent(MIRROR_BINARIES, ("pause.tar",)) if mirror else None
    if mirror:
        texts.append(steps.mirror_step(plan.mirror, registry=True).create)
    for node in plan.nodes:
        texts += [steps.packages_step(plan.kubernetes, plan.mirror, node, content).create, steps.cni_step(node).create]
        if node.role == "minion":
            texts.append(steps.kubeadm_join_step(plan.kubeadm, plan.master, node).create)
    return texts


UNSAFE = re.compile(r"[\s\"'`$\\\x00-\x1f\x7f]")


def accepted_strings(value: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in accepted_strings(v, f"{where}.{k}" if where else k)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in accepted_strings(v, f"{where}[{i}]")]
    return [(where, value)] if isinstance(value, str) else []


def check(raw: Raw) -> None:
    try:
        loaded = parse_config(raw)
    except ConfigError as exc:
        event("refused")
        assert exc.problems
        for problem in exc.problems:
            assert problem.key.startswith("kubev6:"), problem
            assert problem.message, problem
            assert len(str(problem).splitlines()) == 1, problem
        return
    except Exception:  # pragma: no cover - the failure message is the point
        pytest.fail(f"parse_config raised something other than ConfigError:\n{traceback.format_exc()}")
    event("accepted")
    try:
        plan = make_plan(loaded.cluster)
        render_everything(plan)
    except Exception:  # pragma: no cover
        pytest.fail(f"an accepted config failed to plan or render:\n{traceback.format_exc()}")
    # Nothing accepted can break out of the file it is copied into (the public key's comment is
    # free text, but only ever YAML-dumped).
    dumped = loaded.cluster.model_dump(mode="json", by_alias=True)
    for where, text in accepted_strings(dumped):
        if where != "ssh.publicKey":
            assert not UNSAFE.search(text), f"accepted {where} = {text!r}"


base_configs = st.one_of(
    st.sampled_from(sorted(STACKS)).map(lambda name: copy.deepcopy(STACKS[name])),
    cluster_configs(max_nodes=12).map(lambda gen: copy.deepcopy(gen.raw)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=base_configs, changes=edits())
def test_random_configs_are_planned_or_refused_naming_keys(raw: Raw, changes: list[tuple[str, str, Any, int]]) -> None:
    apply(raw, changes)
    check(raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(gen=cluster_configs(max_nodes=12))
def test_generated_valid_configs_are_accepted_and_rendered(gen: Any) -> None:
    """The unedited half of the fuzz: valid input is never refused."""
    loaded = parse_config(gen.raw)
    render_everything(make_plan(loaded.cluster))


@pytest.mark.parametrize("template", KEYS)
def test_the_edits_reach_every_key(template: str) -> None:
    """A map where the key wants anything else is refused under that key: `_set` reaches it."""
    raw = copy.deepcopy(STACKS["dev"])
    raw["platform"] = {"kind": "libvirt", "baseImage": "/img.qcow2"}  # every platform key allowed
    _set(raw, template, {"unexpected": 1}, 0)
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    # A bad discriminator is reported on the union itself (as in test_config_errors.py).
    concrete = "kubev6:platform" if template == "platform.kind" else "kubev6:" + template.replace("[]", "[0]")
    assert any(p.key.startswith(concrete) for p in info.value.problems), [str(p) for p in info.value.problems]
