"""Derivations from the validated config: the one place each derived address is decided.

The bottom of the product's derivations: it imports only the model. The config checks
(config_schemas/*_checks.py) call these to refuse a config whose derived addresses collide, and
the planner (planning/plan.py) builds the plan from the same calls, so a check can never disagree
with what is rendered, and neither package needs the other. They take the validated config, or the
part they need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import netaddr

from config_schemas.model import WELL_KNOWN_NAT64_PREFIX

if TYPE_CHECKING:
    from config_schemas.model import ClusterConfig, GatewayConfig

DNS_SERVICE_INDEX = 10  # kubeadm gives CoreDNS the service subnet's 10th address
API_SERVER_PORT = 6443  # what every master's kube-apiserver binds (kubeadm's bindPort)
BGP_PORT = 179  # the gateway's route reflector listens there (the nodes only connect)


def derived_pod_subnet(cfg: ClusterConfig, index: int) -> netaddr.IPNetwork | None:
    """The pod /64 of node `index`: explicit, or the supernet's /64 numbered by the
    node address's host part (fd00::101 -> 0x101th /64), stable when nodes are added."""
    node = cfg.nodes[index]
    if node.pod_subnet is not None:
        return node.pod_subnet
    supernet = cfg.network.pod_supernet
    host_part = int(node.address) - int(cfg.network.node_prefix.network)
    if supernet.prefixlen > 64 or not 0 <= host_part < 2 ** (64 - supernet.prefixlen):
        return None
    return netaddr.IPNetwork((int(supernet.network) + (host_part << 64), 64), version=6)


def pod_subnets(cfg: ClusterConfig) -> list[netaddr.IPNetwork | None]:
    """Every node's pod /64 in config order (None: not derivable, which the checks refuse)."""
    return [derived_pod_subnet(cfg, i) for i in range(len(cfg.nodes))]


def tayga_ipv6_address(cfg: ClusterConfig) -> netaddr.IPAddress | None:
    """TAYGA's own IPv6 address, when the config must give it one: TAYGA cannot map its IPv4
    address into the well-known prefix, so it takes the node network's last-but-one address,
    which no host may use. With a network-specific prefix it derives its address inside the
    NAT64 prefix (None here), which no host can have (the prefixes do not overlap)."""
    if cfg.gateway.nat64.engine == "tayga" and cfg.network.nat64_prefix == WELL_KNOWN_NAT64_PREFIX:
        return cfg.network.node_prefix[-2]
    return None


def tayga_ipv4_address(pool: netaddr.IPNetwork) -> netaddr.IPAddress:
    """TAYGA's own IPv4 address: the first address of its pool (it excludes it from the pool)."""
    return pool[1]


def uplink_next_hop(gateway: GatewayConfig) -> netaddr.IPAddress | None:
    """The gateway's IPv4 default route: `uplinkGateway`, else the uplink network's address + 1."""
    if gateway.uplink_address is None:
        return None
    if gateway.uplink_gateway is not None:
        return gateway.uplink_gateway
    return netaddr.IPAddress(gateway.uplink_address.cidr.first + 1)


def bridge_host_address(prefix: netaddr.IPNetwork) -> netaddr.IPAddress:
    """The address the machine running `pulumi up` takes on a local bridge: libvirt gives its
    networks' bridges (cluster and uplink) the prefix's first address; the lab's `localBridge` does
    the same on the node network."""
    return prefix[1]


def dns_service_ip(service_subnet: netaddr.IPNetwork) -> netaddr.IPAddress:
    return service_subnet[DNS_SERVICE_INDEX]


def api_endpoint(master_address: netaddr.IPAddress, port: int = API_SERVER_PORT) -> str:
    """host:port with the IPv6 literal bracketed (quote it in YAML, kubeadm#3101)."""
    return f"[{master_address}]:{port}"


def bgp_router_id(address: netaddr.IPAddress) -> str:
    """A BGP speaker's 32-bit router ID: the last 32 bits of its node address, dotted
    (fd00::101 -> 0.0.1.1); the config check refuses two machines that share them."""
    return str(netaddr.IPAddress(int(address) & 0xFFFFFFFF, version=4))
