"""Helpers shared by several test modules (not a test module: pytest collects nothing here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.commons.engine import EngineEnv, OpResult
from harness.enginelab.engine_lab import EngineLab, engine_lab_session
from harness.netlab.snapshot import diff, host_snapshot

TIMINGS: list[str] = []
_REPORTED: list[bool] = []


def report_timings(terminalreporter: pytest.TerminalReporter) -> None:
    """The engine and Kubernetes labs' figures, once per run (both test folders' hooks call this)."""
    if TIMINGS and not _REPORTED:
        _REPORTED.append(True)
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


def destroy_to_snapshots(cluster: EngineLab) -> OpResult:
    """`pulumi destroy` deletes everything, and every host is as its snapshot before `up` was."""
    assert cluster.run is not None
    done = cluster.run.destroy()
    cluster.deployed = False
    # "discard": the StackReference of the stack's own outputs (program/live_settings.py) is a read.
    assert set(done.changes) - {"discard"} == {"delete"}, done.changes
    differences = []
    for name, before in cluster.before.items():  # type: ignore[attr-defined]
        differences += [f"{name}: {d}" for d in diff(before, host_snapshot(cluster.lab.execs[name]))]
    assert not differences, "\n".join(differences)
    return done
