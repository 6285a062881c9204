"""Fixtures of the network-lab tests: root only; a running lab per stack, torn down after the module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.netlab.session import Lab, lab_session

TIMINGS: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="the network lab needs root (it creates network namespaces)")
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.section("network lab timings")
        for line in TIMINGS:
            terminalreporter.write_line(line)


def running(stack: str, **kwargs: object) -> Iterator[Lab]:
    with lab_session(stack, log=lambda msg: None, **kwargs) as lab:
        yield lab
    total = sum(lab.timings.phases.values())
    TIMINGS.append(f"{stack} ({lab.names.prefix}): {lab.timings.report()}; total {total:.2f}s")


@pytest.fixture(scope="module")
def lab_stack() -> Iterator[Lab]:
    yield from running("lab")


@pytest.fixture(scope="module")
def lab_bind_stack() -> Iterator[Lab]:
    yield from running("lab-bind")
