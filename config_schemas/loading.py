"""Raw config values -> validated `ClusterConfig` (pure; no Pulumi needed)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import netaddr
from pydantic import ValidationError

from config_schemas.model import ClusterConfig
from config_schemas.problems import NAMESPACE, ConfigError, Problem, from_validation_error
from config_schemas.topology_checks import HostRoute, check_topology

# Keys read outside the model: the SSH private key stays a Pulumi secret end to end.
SECRET_KEYS = {"sshPrivateKey"}


@dataclass(frozen=True)
class LoadedConfig:
    cluster: ClusterConfig
    warnings: list[Problem]


def parse_config(raw: Mapping[str, object], host_routes: Sequence[HostRoute] = ()) -> LoadedConfig:
    """`raw` maps config keys without namespace (e.g. "network") to decoded values.

    Raises ConfigError listing every problem found; returns warnings separately.
    """
    data = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    try:
        cluster = ClusterConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(from_validation_error(exc)) from None
    problems = check_topology(cluster, host_routes)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    return LoadedConfig(cluster, [p for p in problems if p.severity == "warning"])


def raw_from_config_env(env: Mapping[str, str]) -> dict[str, object]:
    """Pulumi passes config as {"kubev6:network": "<json or text>"}; decode our namespace."""
    raw: dict[str, object] = {}
    for full_key, text in env.items():
        namespace, _, name = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        try:
            raw[name] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[name] = text
    return raw


def read_host_routes(path: Path = Path("/proc/net/ipv6_route")) -> list[HostRoute]:
    """IPv6 routes of this machine (fields: dest, dest len, ..., device)."""
    routes = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 10:
            continue
        dest = netaddr.IPAddress(int(fields[0], 16), 6)
        routes.append(HostRoute(netaddr.IPNetwork((int(dest), int(fields[1], 16)), version=6), fields[9]))
    return routes
