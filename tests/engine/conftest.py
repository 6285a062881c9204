"""Fixtures of the engine tests: the real Pulumi CLI and plugins (scripts/toolchain.sh), a local
backend and passphrase in a temp folder per session, and lab stacks configured by the engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import EngineEnv, engine_env
from lab.engine_lab import EngineLab, engine_lab_session
from lab.snapshot import host_snapshot

TIMINGS: list[str] = []


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> EngineEnv:
    # A generated passphrase: the operator's PULUMI_CONFIG_PASSPHRASE must not leak into tests.
    return engine_env(tmp_path_factory.mktemp("engine-state"), passphrase=os.urandom(12).hex())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.section("engine timings")
        for line in TIMINGS:
            terminalreporter.write_line(line)


def engine_lab(stack: str, env: EngineEnv, work_dir: Path) -> Iterator[EngineLab]:
    """Hosts up with sshd, snapshots taken (`lab.before`), not yet deployed; torn down after."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    with engine_lab_session(stack, env, work_dir, log=lambda msg: None) as lab:
        lab.before = {name: host_snapshot(e) for name, e in lab.lab.execs.items()}  # type: ignore[attr-defined]
        yield lab
    TIMINGS.append(f"{stack}: {lab.lab.timings.report()}")
