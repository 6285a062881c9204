"""Read a `Pulumi.<stack>.yaml` without the engine (tests, the lab, the benchmark)."""

from __future__ import annotations

from pathlib import Path

import yaml

from config_schemas.loading import LoadedConfig, parse_config
from config_schemas.topology_checks import HostRoute

PROJECT_DIR = Path(__file__).resolve().parent.parent


def stack_file(stack: str) -> Path:
    return PROJECT_DIR / f"Pulumi.{stack}.yaml"


def stack_names() -> list[str]:
    return sorted(p.name.split(".")[1] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))


def raw_stack_config(stack: str) -> dict[str, object]:
    doc = yaml.safe_load(stack_file(stack).read_text()) or {}
    config = doc.get("config") or {}
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("kubev6:")}


def load_stack_file(stack: str, host_routes: list[HostRoute] | None = None) -> LoadedConfig:
    return parse_config(raw_stack_config(stack), host_routes or [])
