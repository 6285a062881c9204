"""Step 1: the lab's wiring. Namespaces, the node-network switch, addresses, the IPv4 "internet".

    kv6l-gw ─eth0─┐                      ┌─ kv6l-master, kv6l-m1, kv6l-m2 (eth0 each)
                  ├── kv6l-sw: switch0 ──┤
  kv6l-stranger ──┘     (bridge)         └─ [root namespace: <localBridge> if root_access]
  kv6l-gw ─uplink0── kv6l-inet (IPv4 only: 198.51.100.1, DNS 203.0.113.53, HTTP 203.0.113.80)

Only the addresses a platform would give a machine are set here (the node address on the
cluster interface, the gateway's IPv4 uplink); everything else comes from the rendered steps
(lab.node_config, or `pulumi up` in the engine lab). Nothing is configured in the root namespace
unless `root_access` is set: then one veth named after `network.localBridge` joins the switch and
carries the plan's `bridge_host_address`, node_prefix[1] (the engine's SSH path from this machine);
dev-like stacks whose node network is this
machine's own fd00::/64 have no localBridge and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import netaddr

from config_schemas.loading import read_host_routes
from harness.commons.shell import HostExec, run
from harness.netlab.naming import INTERNET_IF, SWITCH_BRIDGE, LabNames
from harness.netlab.state import LabState
from planning.plan import ClusterPlan, HostPlan

# Documentation ranges only (RFC 5737); 192.0.2.0/24 is this machine's own network.
UPLINK_NET = netaddr.IPNetwork("198.51.100.0/24")
UPLINK_GATEWAY_SIDE = netaddr.IPNetwork("198.51.100.2/24")
UPLINK_INTERNET_SIDE = netaddr.IPNetwork("198.51.100.1/24")
INTERNET_DNS = netaddr.IPAddress("203.0.113.53")
INTERNET_WEB = netaddr.IPAddress("203.0.113.80")
# A source outside every cluster prefix, for the NAT64 guard check ("stranger").
STRANGER_ADDRESS = netaddr.IPNetwork("fd5e:7a11:9e12::5/64")


@dataclass(frozen=True)
class Topology:
    plan: ClusterPlan
    names: LabNames
    state: LabState
    root_access: bool = False

    # --- names and exec helpers -------------------------------------------------------

    @property
    def cluster_if(self) -> str:
        return self.plan.cluster_interface

    @property
    def uplink_if(self) -> str:
        return self.plan.nat64.uplink_interface

    def switch(self) -> HostExec:
        return HostExec(self.names.switch_ns)

    def internet(self) -> HostExec:
        return HostExec(self.names.internet_ns)

    def stranger(self) -> HostExec:
        return HostExec(self.names.stranger_ns)

    def uplink_addresses(self) -> tuple[netaddr.IPNetwork, netaddr.IPAddress]:
        """The gateway's IPv4 uplink address and next hop: from the stack if set, else the lab's."""
        uplink = self.plan.uplink
        if uplink is not None:
            return uplink.address, uplink.next_hop
        return UPLINK_GATEWAY_SIDE, UPLINK_INTERNET_SIDE.ip

    def internet_side(self) -> netaddr.IPNetwork:
        address, nexthop = self.uplink_addresses()
        return netaddr.IPNetwork(f"{nexthop}/{address.prefixlen}")

    # --- bring up -----------------------------------------------------------------------

    def validate(self) -> None:
        local_bridge = self.plan.local_bridge
        if self.root_access:
            if not local_bridge:
                raise ValueError(
                    "root_access needs network.localBridge in the stack: the node network would otherwise "
                    "appear in the root namespace (dev-like stacks use this machine's own fd00::/64)"
                )
            if len(local_bridge) > 15:
                raise ValueError(f"network.localBridge {local_bridge!r} is longer than 15 characters")
            root_addr = self.plan.bridge_host_address
            if any(h.address == root_addr for h in self.plan.hosts):
                raise ValueError(f"the bridge host address {root_addr} is a host address; root access needs it free")
            for route in read_host_routes():
                if route.device == local_bridge or route.destination.prefixlen == 0:
                    continue
                d, n = route.destination, self.plan.node_prefix
                if d.first <= n.last and n.first <= d.last:
                    raise ValueError(f"this machine routes {d} via {route.device}: overlaps the node network {n}")
        stranger = STRANGER_ADDRESS.ip
        for prefix in (*self.plan.translator_sources, self.plan.nat64_prefix, self.plan.service_subnet):
            if stranger in prefix:
                raise ValueError(f"the stranger address {stranger} is inside cluster prefix {prefix}")

    def up(self) -> None:
        self.validate()
        sw = self.names.switch_ns
        run(["ip", "netns", "add", sw])
        self.switch().sh(
            f"ip link set lo up && ip link add {SWITCH_BRIDGE} type bridge && ip link set {SWITCH_BRIDGE} up"
        )
        for host in self.plan.hosts:
            self.add_host(host)
        self._add_internet()
        self._add_stranger()
        if self.root_access:
            self._add_root_access()

    def _plug(self, ns: str, short: str, ifname: str) -> None:
        """A veth from the switch's bridge to `ifname` in namespace `ns`."""
        port = self.names.switch_port(short)
        self.switch().sh(
            f"ip link add {port} type veth peer name {ifname} netns {ns} && "
            f"ip link set {port} master {SWITCH_BRIDGE} && ip link set {port} up"
        )

    def add_host(self, host: HostPlan) -> None:
        """The host's namespace on the switch, its address on the node network (again after a reinstall)."""
        ns = self.names.host_ns(host)
        run(["ip", "netns", "add", ns])
        short = self.names.host_short[host.name]
        self._plug(ns, short, self.cluster_if)
        plen = self.plan.node_prefix.prefixlen
        HostExec(ns).sh(
            f"ip link set lo up && ip link set {self.cluster_if} up && "
            f"ip -6 addr add {host.address}/{plen} dev {self.cluster_if} nodad"
        )

    def _add_internet(self) -> None:
        inet = self.names.internet_ns
        run(["ip", "netns", "add", inet])
        # IPv4 only: no IPv6 at all on the internet side.
        self.internet().sh(
            "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 && "
            f"ip link set lo up && ip addr add {INTERNET_DNS}/32 dev lo && ip addr add {INTERNET_WEB}/32 dev lo"
        )
        self.plug_uplink()

    def plug_uplink(self) -> None:
        """The gateway's IPv4 uplink: a veth into the internet's namespace (again after a reinstall)."""
        inet = self.names.internet_ns
        gw_ns = self.names.host_ns(self.plan.gateway)
        address, nexthop = self.uplink_addresses()
        HostExec(gw_ns).sh(
            f"ip link add {self.uplink_if} type veth peer name {INTERNET_IF} netns {inet} && "
            f"ip link set {self.uplink_if} up && ip addr add {address} dev {self.uplink_if} && "
            f"ip route add default via {nexthop} dev {self.uplink_if}"
        )
        self.internet().sh(f"ip link set {INTERNET_IF} up && ip addr add {self.internet_side()} dev {INTERNET_IF}")

    def _add_stranger(self) -> None:
        ns = self.names.stranger_ns
        run(["ip", "netns", "add", ns])
        self._plug(ns, "stranger", "eth0")
        gw = self.plan.gateway.address
        self.stranger().sh(
            f"ip link set lo up && ip link set eth0 up && ip -6 addr add {STRANGER_ADDRESS} dev eth0 nodad && "
            f"ip -6 route add {gw}/128 dev eth0 && ip -6 route add {self.plan.nat64_prefix} via {gw} dev eth0"
        )

    def _add_root_access(self) -> None:
        link = self.plan.local_bridge
        assert link is not None
        port = self.names.switch_port("root")
        run(["ip", "link", "add", link, "type", "veth", "peer", "name", port, "netns", self.names.switch_ns])
        self.state.record_root_link(link)
        self.switch().sh(f"ip link set {port} master {SWITCH_BRIDGE} && ip link set {port} up")
        addr = f"{self.plan.bridge_host_address}/{self.plan.node_prefix.prefixlen}"
        run(["ip", "link", "set", link, "up"])
        run(["ip", "-6", "addr", "add", addr, "dev", link, "nodad"])

    def namespaces(self) -> list[str]:
        return [
            self.names.switch_ns,
            *(self.names.host_ns(h) for h in self.plan.hosts),
            self.names.internet_ns,
            self.names.stranger_ns,
        ]
