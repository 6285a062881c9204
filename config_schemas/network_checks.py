"""Rules of the network add-ons: `network.routing: bgp`, `network.policy` and
`kubernetes.kubeProxy.mode`, each against the keys it depends on (named in every message)."""

from __future__ import annotations

from collections.abc import Iterable

from config_schemas.derive import BGP_PORT, bgp_router_id
from config_schemas.model import ClusterConfig
from config_schemas.problems import Problem, key


def check_network_addons(cfg: ClusterConfig) -> list[Problem]:
    return [*_bgp(cfg), *_policy(cfg)]


def _bgp(cfg: ClusterConfig) -> Iterable[Problem]:
    if cfg.network.routing != "bgp":
        return
    routing = key("network", "routing")
    if cfg.kubernetes.artifacts != "mirror" or not cfg.stages.install:
        yield Problem(
            routing,
            "bgp needs kubernetes.artifacts: mirror and stages.install: the BGP speaker (kubev6-bgp) is built by "
            "scripts/build-artifacts.sh and served by the gateway's mirror",
        )
    taken = {
        cfg.ssh.port: key("ssh", "port"),
        cfg.kubernetes.mirror.port: key("kubernetes", "mirror", "port"),
        cfg.kubernetes.mirror.registry_port: key("kubernetes", "mirror", "registryPort"),
    }
    if BGP_PORT in taken:
        yield Problem(
            taken[BGP_PORT],
            f"{BGP_PORT} is BGP's port, where the gateway's route reflector listens with {routing}: bgp; "
            "choose another",
        )
    # BGP identifies every speaker by a 32-bit router ID: the last 32 bits of its node address.
    seen: dict[str, str] = {bgp_router_id(cfg.gateway.address): key("gateway", "address")}
    for i, node in enumerate(cfg.nodes):
        rid = bgp_router_id(node.address)
        if rid in seen:
            yield Problem(
                key("nodes", i, "address"),
                f"{node.address} ends in the same 32 bits as {seen[rid]} (BGP router ID {rid}); with {routing}: "
                "bgp every machine's address must differ in its last 32 bits",
            )
        seen.setdefault(rid, key("nodes", i, "address"))


def _policy(cfg: ClusterConfig) -> Iterable[Problem]:
    if cfg.network.policy != "none" and not cfg.stages.kubeadm:
        yield Problem(
            key("network", "policy"),
            f"{cfg.network.policy} runs as a DaemonSet on the cluster: it needs stages.kubeadm (or policy: none)",
        )
