"""Lab instances: two labs of the same stack side by side (the operator's and the tests').

A lab of stack S is named by S's initials (kv6l-* for `lab`) and puts into the root namespace
the veth `network.localBridge` carrying the node prefix's first address. A second lab of S on
the same machine (the test suite while `scripts/k8s-lab.sh up` keeps a cluster) must differ in
everything the two would share, or starting it removes or breaks the first. An instance is a
short tag, `KUBEV6_LAB_INSTANCE` (the tests set one, see tests/conftest.py; unset: the stack
as written). For instance `t` of `lab-k8s`:
- namespaces and state `kv6tlk-*`, `/run/kv6lab/kv6tlk` (instead of kv6lk);
- `network.localBridge` `kv6tlk-root` (if the stack has one);
- `network.nodePrefix` the t-th next prefix of its size (fd6b:7638:0:74::/64), every host
  address moved into it with the same host part (the API endpoint's own address too);
- `kubernetes.kubelet.cgroupRootPrefix` with `-t` appended (the nodes' cgroup roots).
These are Pulumi config overrides (dotted paths), applied to the lab's own plan and, in the
engine lab, set on the stack before `pulumi up`.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import netaddr

INSTANCE_ENV = "KUBEV6_LAB_INSTANCE"
REPLACE_ENV = "KUBEV6_LAB_REPLACE"
_INSTANCE = re.compile(r"[a-z0-9]{1,2}")


def current_instance() -> str:
    """The instance of this process's labs ("" for the stacks as written)."""
    value = os.environ.get(INSTANCE_ENV, "")
    if value and not _INSTANCE.fullmatch(value):
        raise ValueError(f"{INSTANCE_ENV}={value!r}: expected 1 or 2 lowercase letters or digits")
    return value


def replace_requested() -> bool:
    return os.environ.get(REPLACE_ENV, "") not in ("", "0")


def _offset(instance: str) -> int:
    # Distinct per tag (at most two bytes), never 0: the stack's own prefix.
    return int.from_bytes(instance.encode(), "big")


def _moved(address: str, old: netaddr.IPNetwork, new: netaddr.IPNetwork) -> str:
    return str(netaddr.IPAddress(new.first + int(netaddr.IPAddress(address)) - old.first, 6))


def instance_overrides(raw: dict[str, Any], instance: str, prefix: str) -> dict[str, str]:
    """The config overrides (dotted path -> value) of `instance` of the stack config `raw`."""
    if not instance:
        return {}
    network = raw.get("network") or {}
    overrides = {}
    if network.get("localBridge"):  # a stack without one has nothing in the root namespace
        overrides["network.localBridge"] = f"{prefix}-root"
    if "nodePrefix" in network:
        old = netaddr.IPNetwork(network["nodePrefix"])
        new = netaddr.IPNetwork((old.first + (_offset(instance) << (128 - old.prefixlen)), old.prefixlen), 6)
        overrides["network.nodePrefix"] = str(new)
        gateway = raw.get("gateway") or {}
        if "address" in gateway:
            overrides["gateway.address"] = _moved(gateway["address"], old, new)
        for i, node in enumerate(raw.get("nodes") or []):
            if "address" in node:
                overrides[f"nodes[{i}].address"] = _moved(node["address"], old, new)
        endpoint = (raw.get("kubernetes") or {}).get("controlPlaneEndpoint") or {}
        if endpoint.get("address"):  # HAProxy's own address on the node network
            overrides["kubernetes.controlPlaneEndpoint.address"] = _moved(endpoint["address"], old, new)
    cgroup = ((raw.get("kubernetes") or {}).get("kubelet") or {}).get("cgroupRootPrefix")
    if cgroup:
        overrides["kubernetes.kubelet.cgroupRootPrefix"] = f"{cgroup}-{instance}"
    return overrides


_STEP = re.compile(r"([A-Za-z0-9]+)(?:\[(\d+)\])?")


def apply_overrides(raw: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """A copy of `raw` with each dotted path (`nodes[1].address`) set, as `pulumi config set --path` does."""
    out = copy.deepcopy(raw)
    for path, value in overrides.items():
        steps = [_STEP.fullmatch(s) for s in path.split(".")]
        node: Any = out
        for i, match in enumerate(steps):
            assert match is not None, path
            key, index = match.group(1), match.group(2)
            last = i == len(steps) - 1
            if index is None:
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                items = node[key]
                if last:
                    items[int(index)] = value
                else:
                    node = items[int(index)]
    return out
