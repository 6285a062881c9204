"""The pull-request workflow cannot run here: its structure is checked instead (triggers, the
preview step's inputs, the policy pack, the drift check on the schedule, the pins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.commons.engine.workspace import POLICY_PACK

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "preview.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    steps = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert len(steps) == 1, job["steps"]
    return steps[0]["with"]


def _pin(name: str) -> str:
    line = next(li for li in (ROOT / "requirements.txt").read_text().splitlines() if li.startswith(f"{name}=="))
    return line.split("==", 1)[1]


def test_triggers(workflow: dict[Any, Any]) -> None:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["pull_request"]["branches"] == ["main"]
    assert on["schedule"][0]["cron"].count(" ") == 4
    assert "workflow_dispatch" in on
    assert workflow["permissions"]["pull-requests"] == "write"  # to comment


def test_pull_requests_get_a_commented_preview_with_the_policy_pack(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["preview"]
    assert "pull_request" in job["if"]
    step = _pulumi_step(job)
    assert step["command"] == "preview"
    assert step["comment-on-pr"] is True
    assert (ROOT / step["policyPacks"]) == POLICY_PACK
    assert (POLICY_PACK / "PulumiPolicy.yaml").is_file()
    assert step["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"  # self-managed, never Pulumi Cloud
    assert step["secrets-provider"] == "passphrase"
    assert step["pulumi-version"] == _pin("pulumi")
    assert "expect-no-changes" not in step
    assert workflow["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"


def test_the_schedule_checks_drift(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["drift"]
    assert "schedule" in job["if"] and "pull_request" not in job["if"]
    step = _pulumi_step(job)
    assert step["command"] == "preview"
    assert step["expect-no-changes"] is True and step["refresh"] is True
    assert (ROOT / step["policyPacks"]) == POLICY_PACK
    assert step["pulumi-version"] == _pin("pulumi")


def test_both_jobs_install_the_pinned_python_dependencies(workflow: dict[Any, Any]) -> None:
    for name in ("preview", "drift"):
        runs = " ".join(s.get("run", "") for s in workflow["jobs"][name]["steps"])
        assert "-r requirements.txt" in runs and "-r policy/requirements.txt" in runs, name
        assert "${{ matrix.stack }}" == _pulumi_step(workflow["jobs"][name])["stack-name"]
