"""Fixtures of the engine tests: the real Pulumi CLI and plugins (scripts/toolchain.sh), a local
backend and passphrase in a temp folder per session, and lab stacks configured by the engine."""

from __future__ import annotations

import os

import pytest

from harness.commons.engine import EngineEnv, engine_env
from tests.helpers.engine import report_timings


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> EngineEnv:
    # A generated passphrase: the operator's PULUMI_CONFIG_PASSPHRASE must not leak into tests.
    return engine_env(tmp_path_factory.mktemp("engine-state"), passphrase=os.urandom(12).hex())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report_timings(terminalreporter)
