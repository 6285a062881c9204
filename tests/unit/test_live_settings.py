"""A live cluster's fixed settings: recorded as the stack output `liveSettings`, and a config that
changes one refused before any resource is declared, naming the key and the reason."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

import config_schemas.pulumi_config as pulumi_config
from harness.commons.program_mocks import Recorder, run_program, stack_config
from planning.live_settings import ENDPOINT_KEY, FIXED, VERSION_KEY, refused_changes, version_change_problem


@pytest.fixture(autouse=True)
def _no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])


def _deployed(stack: str = "dev") -> dict[str, Any]:
    _, outputs = run_program(stack)
    return dict(outputs["liveSettings"].value)


def test_every_fixed_setting_and_the_version_are_recorded() -> None:
    live = _deployed()
    # The API endpoint is recorded only where it is not the first master's own (a stack with several
    # masters possible); else master.address holds it.
    assert set(live) == {*FIXED, VERSION_KEY} - {ENDPOINT_KEY}
    network = json.loads(stack_config("dev")["kubev6:network"])
    assert live["kubev6:network.serviceSubnet"] == network["serviceSubnet"]
    _, outputs = run_program("lab")  # no kubeadm stage: no cluster whose settings are fixed
    assert "liveSettings" not in outputs


def test_an_unchanged_config_passes_and_a_new_stack_has_nothing_to_compare() -> None:
    live = _deployed()
    assert run_program("dev", recorder=Recorder(stack_outputs={"liveSettings": live}))[0].resources
    assert refused_changes(None, live) == [] and refused_changes({}, live) == []


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"kubev6:network": {"serviceSubnet": "fd00:4321::/112"}}, "kubev6:network.serviceSubnet", "ClusterIP"),
        ({"kubev6:network": {"dnsDomain": "other.local"}}, "kubev6:network.dnsDomain", "clusterDomain"),
        ({"kubev6:kubernetes": {"clusterName": "other"}}, "kubev6:kubernetes.clusterName", "certificates"),
    ],
)
def test_a_change_the_live_cluster_cannot_take_is_refused_before_any_resource(
    overrides: dict[str, Any], key: str, reason: str
) -> None:
    live = _deployed()
    network = json.loads(stack_config("dev")["kubev6:network"])
    merged = {k: {**network, **v} if k == "kubev6:network" else v for k, v in overrides.items()}
    rec = Recorder(stack_outputs={"liveSettings": live})
    with pytest.raises(pulumi.RunError) as err:
        run_program("dev", merged, recorder=rec)
    message = str(err.value)
    assert key in message and reason in message and "pulumi destroy" in message, message
    assert [r.type_ for r in rec.resources] == ["pulumi:pulumi:StackReference"], "nothing else is declared"


def test_the_masters_address_and_the_pod_supernet_are_refused() -> None:
    # (dev's pods fill its supernet: a program-level change would need new pod subnets too)
    live = _deployed()
    wanted = {**live, "master.address": "fd00::1:100", "kubev6:network.podSupernet": "fd00:100::/23"}
    supernet, address = refused_changes(live, wanted)
    assert supernet.startswith("kubev6:network.podSupernet: the live cluster has fd00:100::/24")
    assert "clusterCIDR" in supernet
    assert address.startswith(f"kubev6:nodes[{live['master.name']}].address: the live cluster has")
    assert "certificate" in address


@pytest.mark.parametrize(
    ("deployed", "wanted", "expected"),
    [
        ("1.36.1", "1.36.1", None),
        ("1.36.1", "1.36.0", "cannot go down"),
        ("1.36.1", "1.35.4", "cannot go down"),
        ("1.34.2", "1.36.1", "skips no minor version: go to 1.35 first"),
        ("1.35.4", "1.36.1", None),  # one minor up: kubeadm's upgrade (rendering/upgrade.py)
        ("1.36.0", "1.36.1", None),  # a patch
    ],
)
def test_kubernetes_version_changes(deployed: str, wanted: str, expected: str | None) -> None:
    problem = version_change_problem(deployed, wanted)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(VERSION_KEY) and expected in problem, problem


def test_a_version_that_goes_down_is_refused_at_preview_naming_the_key() -> None:
    live = {**_deployed(), VERSION_KEY: "1.37.0"}
    with pytest.raises(pulumi.RunError, match=r"kubev6:kubernetes\.version: the cluster runs 1\.37\.0.*cannot go down"):
        run_program("dev", preview=True, recorder=Recorder(stack_outputs={"liveSettings": live}))


def test_an_upgrade_takes_the_minions_one_at_a_time() -> None:
    """With the deployed version older than the config's, each minion's drain waits for the
    previous minion's uncordon; without an upgrade their rollouts run side by side."""
    before = "kubeadm-kube-minion-1-uncordon"
    rec, outputs = run_program("dev", recorder=Recorder(stack_outputs={"liveSettings": _deployed()}))
    assert before not in rec.all_depends_on("kubeadm-kube-minion-2-drain")
    older = {**_deployed(), VERSION_KEY: "1.35.4"}
    rec, outputs = run_program("dev", preview=True, recorder=Recorder(stack_outputs={"liveSettings": older}))
    assert before in rec.all_depends_on("kubeadm-kube-minion-2-drain")
    assert "kubeadm-master-uncordon" in rec.all_depends_on("kubeadm-kube-minion-1-drain"), "the master first"
    assert outputs["liveSettings"].value[VERSION_KEY] == "1.36.1"
