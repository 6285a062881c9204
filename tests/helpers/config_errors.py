"""Helpers shared by several test modules (not a test module: pytest collects nothing here)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from config_schemas import ConfigError, Problem, parse_config
from config_schemas.stack_files import raw_stack_config
from config_schemas.topology_checks import HostRoute

DEV = raw_stack_config("dev")


def dev() -> Raw:
    return copy.deepcopy(DEV)


def refused(raw: Raw, host_routes: list[HostRoute] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, host_routes or [])
    return info.value.problems


def setter(*path: str | int, value: object) -> Mutation:
    def mutate(raw: Raw) -> None:
        target: Any = raw
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def remover(*path: str | int) -> Mutation:
    def mutate(raw: Raw) -> None:
        target: Any = raw
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def assert_refused_naming(mutate: Mutation, key: str, reason: str) -> list[Problem]:
    """The dev stack changed by `mutate` is refused with a problem on `key` whose message matches `reason`."""
    raw = dev()
    mutate(raw)
    problems = refused(raw)
    matching = [p for p in problems if p.key == key]
    assert matching, f"no problem for {key}; got {[str(p) for p in problems]}"
    assert any(re.search(reason, p.message) for p in matching), [str(p) for p in matching]
    return problems


Raw = dict[str, Any]


Mutation = Callable[[Raw], object]
