"""What a policy sees of a resource: plain values, unknowns, secrets, and who the resource is for.

The engine hands the analyzer every property with its secret mark, but pulumi-policy drops the mark
before a policy sees the value (`deserialize_properties` without `proxy_secrets`). The rule that
credentials are secrets needs the mark: `keep_secret_marks` makes the analyzer keep it as a
`pulumi_policy.Secret` around the value, and `reveal`/`is_secret` read it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi_policy.policy as _policy_module
from pulumi_policy import Secret
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, _deserialize_property
from pulumi_policy.proxy import _DictProxy, _is_unknown, _ListProxy

NAMESPACE = "kubev6"
# Component types of the Kubernetes nodes' side (the gateway is dual-stack by design).
NODE_COMPONENTS = ("kubev6:index:KubeNode", "kubev6:index:BridgeCniConfig", "kubev6:index:KubeadmMaster",
                   "kubev6:index:KubeadmMinion")  # fmt: skip
GATEWAY_COMPONENT = "kubev6:index:Nat64Gateway"


def _keep(prop: Any) -> Any:
    if isinstance(prop, list):
        return [_keep(e) for e in prop]
    if isinstance(prop, dict):
        if prop.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return Secret(_keep(prop.get("value")))
        if SPECIAL_SIG_KEY in prop:  # assets and archives, as pulumi-policy reads them
            return _deserialize_property(prop)
        return {k: _keep(v) for k, v in prop.items()}
    return prop


def deserialize(props: dict[str, Any]) -> dict[str, Any]:
    """Properties as the engine sends them (secrets as signature objects), secrets kept as `Secret`."""
    return {k: _keep(v) for k, v in props.items()}


def keep_secret_marks() -> None:
    """Make the analyzer hand policies secrets as `Secret` (pulumi-policy 1.21.0, requirements pin it)."""
    original: Callable[..., dict[str, Any]] = _policy_module.deserialize_properties

    def analyzer_deserialize(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        if proxy_secrets:  # remediation: its own secret handling, which this pack does not use
            return original(props, proxy_secrets)
        return deserialize(props)

    _policy_module.deserialize_properties = analyzer_deserialize  # type: ignore[attr-defined]


def plain(value: Any) -> Any:
    """The value without pulumi-policy's proxies (which raise on unknowns): dicts, lists, Secrets."""
    if isinstance(value, _DictProxy | _ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    if isinstance(value, Secret):
        return Secret(plain(value.value))
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def reveal(value: Any) -> Any:
    """The value inside any secret marks, None if unknown (during preview) or missing."""
    while isinstance(value, Secret):
        value = value.value
    return None if value is None or _is_unknown(value) else value


def is_known(value: Any) -> bool:
    return reveal(value) is not None


def parent_types(urn: str) -> list[str]:
    """The component types a resource sits under, outermost first, from its URN's type chain."""
    chain = urn.split("::")[2] if urn.count("::") >= 3 else ""
    return chain.split("$")[:-1]


def is_node_side(urn: str) -> bool:
    """A resource of a Kubernetes node (its commands, its domain), not of the gateway."""
    parents = parent_types(urn)
    return any(p in NODE_COMPONENTS for p in parents) and GATEWAY_COMPONENT not in parents


# IPv4 literals as scripts write them: dotted quads, with a prefix length or not, not inside a longer
# dotted word (a version such as 1.36.1.2 is not an address).
_IPV4 = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?![\w.])")


def ipv4_literals(text: str) -> list[str]:
    """Every IPv4 address or prefix in `text` but loopback (a host's own 127.0.0.1 in /etc/hosts)."""
    found: list[str] = []
    for m in _IPV4.finditer(text):
        try:
            addr = ipaddress.IPv4Address(m.group(1))
        except ValueError:
            continue
        if addr.is_loopback:
            continue
        literal = m.group(0)
        if literal not in found:
            found.append(literal)
    return found


def stack_config(key: str) -> Any:
    """A `kubev6:` key of the stack's config as the engine hands it to the analyzer (PULUMI_CONFIG),
    objects decoded; None when unset. Secret config values never reach this pack's rules."""
    raw = json.loads(os.environ.get("PULUMI_CONFIG") or "{}").get(f"{NAMESPACE}:{key}")
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw
