"""Helpers shared by several test modules (not a test module: pytest collects nothing here)."""

from __future__ import annotations

import random
import typing
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork
from pydantic import BaseModel

MAX_NODES = 500


def _net(value: int, length: int) -> IPNetwork:
    return IPNetwork((value, length), version=6)


@dataclass
class Generated:
    raw: dict[str, Any]
    node_prefix: IPNetwork
    pod_supernet: IPNetwork
    rng: random.Random
    used_hosts: set[int] = field(default_factory=set)  # host parts of the gateway and nodes
    used_slots: set[int] = field(default_factory=set)  # /64 numbers of the supernet in use

    def __repr__(self) -> str:  # hypothesis prints it for a failing example: keep it short
        nodes = self.raw.get("nodes", [])
        shown = nodes if len(nodes) <= 8 else [*nodes[:4], f"... {len(nodes) - 8} more ...", *nodes[-4:]]
        return repr({**self.raw, "nodes": shown})

    @property
    def slots(self) -> int:
        return 2 ** (64 - self.pod_supernet.prefixlen)

    def address(self, host: int) -> str:
        return str(IPAddress(int(self.node_prefix.network) + host, 6))

    def pod_subnet(self, slot: int) -> str:
        return str(_net(int(self.pod_supernet.network) + (slot << 64), 64))

    def _free_slot(self) -> int:
        if self.slots <= 4096:
            return self.rng.choice(sorted(set(range(self.slots)) - self.used_slots))
        while True:
            slot = self.rng.randrange(self.slots)
            if slot not in self.used_slots:
                return slot

    def _free_host(self, high: int, derived: bool = False) -> int | None:
        """An unused host part below `high`; a derived node's also numbers an unused /64."""
        for _ in range(50):
            host = self.rng.randrange(1, high)
            if host not in self.used_hosts and not (derived and host in self.used_slots):
                return host
        return None

    def new_node(self, name: str, role: str, explicit: bool) -> dict[str, str]:
        """A node with a fresh address; its pod /64 derived from the address unless `explicit`
        (or no derivable address is left)."""
        host = None if explicit else self._free_host(self.slots, derived=True)
        if host is not None:
            self.used_hosts.add(host)
            self.used_slots.add(host)
            return {"name": name, "role": role, "address": self.address(host)}
        # Explicit: any address (often one too large to derive from), any free /64.
        host = self._free_host(self.slots) if self.rng.random() < 0.3 else None
        host = host if host is not None else self._free_host(2**64 - 1)
        if host is None:  # pragma: no cover - the node /64 has 2**64 addresses
            raise AssertionError("no free address")
        self.used_hosts.add(host)
        slot = self._free_slot()
        self.used_slots.add(slot)
        return {"name": name, "role": role, "address": self.address(host), "podSubnet": self.pod_subnet(slot)}


@st.composite
def cluster_configs(draw: st.DrawFn, nodes: int | None = None, max_nodes: int = MAX_NODES) -> Generated:
    """`nodes` fixes the number of nodes; else it is drawn, mostly small, up to `max_nodes`."""
    ula = draw(st.booleans())
    # fd00::/8 (ULA) or 2000::/3 (GUA), as a /32.
    base32 = (0xFD << 24 | draw(st.integers(0, 2**24 - 1))) if ula else draw(st.integers(0x2000_0000, 0x3FFF_FFFF))
    base = base32 << 96
    s_node, s_pods, s_service, s_nat64 = draw(st.lists(st.integers(0, 255), min_size=4, max_size=4, unique=True))

    def slot(k: int) -> int:
        return base | k << 88

    node_prefix = _net(slot(s_node) | draw(st.integers(0, 2**24 - 1)) << 64, 64)
    supernet_len = draw(st.integers(40, 56) if nodes is None or nodes <= 256 else st.integers(40, 55))
    pods_at = draw(st.integers(0, 2 ** (supernet_len - 40) - 1))
    pod_supernet = _net(slot(s_pods) | pods_at << (128 - supernet_len), supernet_len)
    service = _net(slot(s_service) | draw(st.integers(0, 2**72 - 1)) << 16, 112)
    if draw(st.booleans()):
        nat64 = WELL_KNOWN_NAT64
    else:
        length = draw(st.sampled_from([40, 48, 56, 64, 96]))
        nat64 = _net(slot(s_nat64) | draw(st.integers(0, 2 ** (length - 40) - 1)) << (128 - length), length)

    capacity = min(max_nodes, 2 ** (64 - supernet_len))
    if nodes is None:
        small, large = st.integers(1, min(40, capacity)), st.integers(min(41, capacity), capacity)
        nodes = draw(st.one_of(st.integers(2, 12), small, large))
    assert nodes <= capacity
    master_at = draw(st.integers(0, nodes - 1))
    explicit_share = draw(st.sampled_from([0.0, 0.1, 0.3]))

    gen = Generated({}, node_prefix, pod_supernet, random.Random(draw(st.integers(0, 2**32 - 1))))
    libvirt = draw(st.booleans())
    platform = {"kind": "libvirt", "baseImage": "/var/lib/images/debian.qcow2"} if libvirt else {"kind": "existing"}
    if libvirt:
        gen.used_hosts.add(1)  # the libvirt host's bridge takes the node prefix's first address
    gw_host = gen._free_host(2**64 - 1) if draw(st.booleans()) else 0x64
    assert gw_host is not None
    gen.used_hosts.add(gw_host)

    node_list = []
    for i in range(nodes):
        role = "master" if i == master_at else "minion"
        name = "kube-master" if role == "master" else f"kube-minion-{i}"
        node_list.append(gen.new_node(name, role, explicit=gen.rng.random() < explicit_share))

    gateway: dict[str, Any] = {
        "address": gen.address(gw_host),
        "dns64": {"upstream": ["192.0.2.53"], "engine": draw(st.sampled_from(["unbound", "bind9"]))},
        "nat64": {"engine": "tayga" if nat64.prefixlen == 96 and draw(st.booleans()) else "jool"},
    }
    if libvirt:
        gateway["uplinkAddress"] = "192.168.164.2/24"
    gen.raw = {
        "platform": platform,
        "network": {
            "nodePrefix": str(node_prefix),
            "podSupernet": str(pod_supernet),
            "serviceSubnet": str(service),
            "nat64Prefix": str(nat64),
            "defaultRouteViaGateway": draw(st.booleans()),
        },
        "gateway": gateway,
        "nodes": node_list,
    }
    return gen


def config_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        nested = _models(info.annotation)
        if not nested:
            keys.add(key)
        for sub in nested:
            is_list = typing.get_origin(info.annotation) is list
            keys |= config_keys(sub, key + ("[]." if is_list else "."))
    return keys


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


WELL_KNOWN_NAT64 = IPNetwork("64:ff9b::/96")
