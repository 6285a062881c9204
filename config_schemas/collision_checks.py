"""Settings that two parts of the system share and must not: ports one machine listens on,
interface and bridge names of one machine, the machines SSH reaches, the NAT64 pool against the
IPv4 the cluster talks to, the test workloads' namespace against Kubernetes' own.

Names, addresses and pod subnets of the machines are checked in topology_checks (`_check_nodes`,
`_check_pod_subnets`); the four prefixes against each other in `_check_prefixes`.
"""

from __future__ import annotations

from collections.abc import Iterable

from config_schemas.model import ClusterConfig, LibvirtPlatform
from config_schemas.problems import Problem, key

DNS_PORT = 53  # the gateway's DNS64 resolver, UDP and TCP (rendering.gateway)
# What kubeadm's nodes listen on, on the node's address or localhost; sshd listens on every address.
KUBERNETES_PORTS = {
    2379: "etcd (clients)",
    2380: "etcd (peers)",
    2381: "etcd (metrics)",
    6443: "kube-apiserver",
    10248: "kubelet (healthz)",
    10249: "kube-proxy (metrics)",
    10250: "kubelet",
    10256: "kube-proxy (healthz)",
    10257: "kube-controller-manager",
    10259: "kube-scheduler",
}
NODE_PORTS = range(30000, 32768)  # kube-proxy's default NodePort range: traffic there goes to Services
KUBERNETES_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def check_collisions(cfg: ClusterConfig) -> list[Problem]:
    return [*_ports(cfg), *_interfaces(cfg), *_ssh_targets(cfg), *_ipv4(cfg), *_namespaces(cfg)]


def _ports(cfg: ClusterConfig) -> Iterable[Problem]:
    ssh = cfg.ssh.port
    serves_mirror = cfg.stages.install and cfg.kubernetes.artifacts == "mirror"
    resolver = f"{DNS_PORT} is the port of the gateway's DNS64 resolver (UDP and TCP)"
    if ssh == DNS_PORT:
        yield Problem(key("ssh", "port"), f"{resolver}; the gateway's sshd cannot listen there too")
    if serves_mirror:
        # The gateway's listeners in the order they are checked: each must differ from those before.
        taken = [(DNS_PORT, f"{resolver}"), (ssh, "{port} is also ssh.port: the gateway's sshd listens there")]
        mirror = cfg.kubernetes.mirror
        servers = [
            ("port", mirror.port, "the mirror's HTTP server", "kubernetes.mirror.port"),
            ("registryPort", mirror.registry_port, "the registry", "kubernetes.mirror.registryPort"),
        ]
        for name, port, what, label in servers:
            clash = next((reason for used, reason in taken if used == port), None)
            if clash is not None:
                yield Problem(key("kubernetes", "mirror", name), f"{clash.format(port=port)}; {what} needs another")
            taken.append((port, f"{{port}} is also {label}: {what} listens there"))
    if cfg.stages.kubeadm:
        if ssh in KUBERNETES_PORTS:
            yield Problem(
                key("ssh", "port"), f"{ssh} is {KUBERNETES_PORTS[ssh]}'s port on the nodes; sshd needs another"
            )
        elif ssh in NODE_PORTS:
            yield Problem(
                key("ssh", "port"),
                f"{ssh} is in Kubernetes' NodePort range 30000-32767: a Service may take it on every node",
            )


def _interfaces(cfg: ClusterConfig) -> Iterable[Problem]:
    cluster, uplink = cfg.network.cluster_interface, cfg.gateway.uplink_interface
    if uplink == cluster:
        yield Problem(
            key("gateway", "uplinkInterface"),
            f"{uplink!r} is also network.clusterInterface: the gateway needs one interface on the node "
            "network and another on the IPv4 uplink",
        )
    if isinstance(cfg.platform, LibvirtPlatform):
        platform = cfg.platform
        if platform.uplink_bridge == platform.cluster_bridge:
            yield Problem(
                key("platform", "uplinkBridge"),
                f"{platform.uplink_bridge!r} is also platform.clusterBridge: the IPv4 uplink and the IPv6-only "
                "cluster network need a bridge each",
            )
        local = cfg.network.local_bridge
        if local is not None and local == platform.uplink_bridge:
            yield Problem(
                key("network", "localBridge"),
                f"{local!r} is platform.uplinkBridge, the IPv4 uplink; the node network is on "
                f"platform.clusterBridge ({platform.cluster_bridge})",
            )


def _ssh_targets(cfg: ClusterConfig) -> Iterable[Problem]:
    """Two machines behind one SSH target would get both machines' steps on one host. Targets
    given only by address are duplicate addresses, reported by `_check_nodes`."""
    machines = [(("gateway",), cfg.gateway.host, cfg.gateway.address)]
    machines += [(("nodes", i), n.host, n.address) for i, n in enumerate(cfg.nodes)]
    seen: dict[str, tuple[tuple[str | int, ...], bool]] = {}
    for where, host, address in machines:
        target = str(host if host is not None else address).lower()
        if target in seen:
            earlier, earlier_by_host = seen[target]
            if host is not None or earlier_by_host:
                field = "host" if host is not None else "address"
                yield Problem(
                    key(*where, field), f"{target} is also where SSH reaches {key(*earlier).split(':', 1)[1]}"
                )
            continue
        seen[target] = (where, host is not None)
        if host is not None and str(address).lower() not in seen:
            seen[str(address).lower()] = (where, False)


def _ipv4(cfg: ClusterConfig) -> Iterable[Problem]:
    gw = cfg.gateway
    if gw.uplink_address is not None:
        for j, upstream in enumerate(gw.dns64.upstream):
            if upstream == gw.uplink_address.ip:
                yield Problem(
                    key("gateway", "dns64", "upstream", j),
                    f"{upstream} is the gateway's own gateway.uplinkAddress: the DNS64 resolver would forward "
                    "to itself",
                )
    if gw.nat64.engine != "tayga":
        return  # Jool translates to the uplink address; the pool is TAYGA's
    pool = gw.nat64.ipv4_pool
    pool_key = key("gateway", "nat64", "ipv4Pool")
    for j, reachable in enumerate(gw.nat64.reachable_ipv4):
        if pool.first <= reachable.last and reachable.first <= pool.last:
            yield Problem(
                pool_key,
                f"{pool} overlaps gateway.nat64.reachableIpv4[{j}] {reachable}: the gateway would take replies "
                "from there for its own pool",
            )
    for j, upstream in enumerate(gw.dns64.upstream):
        if upstream in pool:
            yield Problem(
                pool_key, f"{pool} holds gateway.dns64.upstream[{j}] {upstream}: the resolver would be unreachable"
            )
    if isinstance(cfg.platform, LibvirtPlatform):
        uplink = cfg.platform.uplink_prefix
        if pool.first <= uplink.last and uplink.first <= pool.last:
            yield Problem(pool_key, f"{pool} overlaps platform.uplinkPrefix {uplink}, the uplink network itself")


def _namespaces(cfg: ClusterConfig) -> Iterable[Problem]:
    namespace = cfg.workloads.namespace
    if cfg.stages.workloads and (namespace in KUBERNETES_NAMESPACES or namespace.startswith("kube-")):
        yield Problem(
            key("workloads", "namespace"),
            f"{namespace} is Kubernetes' own namespace: the test workloads' namespace is created with them and "
            "deleted by pulumi destroy",
        )
