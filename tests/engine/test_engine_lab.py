"""`pulumi up` of the `lab` stack against real hosts (namespaces with their own sshd), in order:
up and check, up again, secrets, a pod-subnet change, destroy back to the snapshot."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from config_schemas.loading import parse_config
from harness.commons.engine import EngineEnv
from harness.enginelab.engine_lab import EngineLab
from harness.enginelab.reinstall import reinstall
from harness.netlab.snapshot import diff, host_snapshot
from planning.plan import ClusterPlan, make_plan
from rendering import steps
from tests.helpers.engine import TIMINGS, engine_lab

pytestmark = [pytest.mark.engine, pytest.mark.lab]

STACK = "lab"
# stack, SSH key pair; per host a component and its commands (see test_program_graph); the machine
# identities (a component, a command per host)
RESOURCES = 23


@pytest.fixture(scope="module")
def lab(env: EngineEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    yield from engine_lab(STACK, env, tmp_path_factory.mktemp(STACK))


def test_up_configures_the_hosts_and_every_check_passes(lab: EngineLab) -> None:
    result = lab.pulumi_up()
    # read: the stack's own previous outputs, once the stack exists in the backend (an earlier test's)
    assert {op: n for op, n in result.changes.items() if op != "read"} == {"create": RESOURCES}, result.output
    assert lab.lab.reports == {}, "the lab configured hosts itself: the checks would not test Pulumi's work"
    lab.lab.up_workloads()
    results = lab.lab.check()
    assert len(results) == 8
    failed = [r.report() for r in results if not r.ok]
    assert not failed, "\n".join(failed)


def test_second_up_changes_nothing(lab: EngineLab) -> None:
    assert lab.run is not None
    again = lab.run.up()
    # The read: the stack's own previous outputs (machineIds), a StackReference.
    assert again.changed == 0 and again.changes == {"same": RESOURCES, "read": 1}, again.changes
    lab.run.preview(expect_no_changes=True)


def test_private_key_is_in_no_state_export_state_file_or_log(lab: EngineLab) -> None:
    assert lab.run is not None and lab.key is not None
    # Every base64 line of the key body: none may appear anywhere in plaintext.
    body = [line for line in lab.key.private_key.splitlines() if line and not line.startswith("-----")]
    assert len(body) >= 3
    haystacks = {"stack export": lab.run.export(), "up log": lab.run.log_path.read_text()}
    haystacks |= {str(p): p.read_text(errors="replace") for p in lab.run.state_files()}
    haystacks |= {str(p): p.read_text() for p in lab.run.project_dir.glob("Pulumi.*.yaml")}
    assert any("ciphertext" in text or "secure:" in text for text in haystacks.values())
    for where, text in haystacks.items():
        leaked = [line for line in body if line in text]
        assert not leaked, f"{len(leaked)} line(s) of the SSH private key in plaintext in {where}"


def _plan_with_pod_subnet(raw: dict[str, Any], node_index: int, subnet: str) -> ClusterPlan:
    raw = copy.deepcopy(raw)
    raw["nodes"][node_index]["podSubnet"] = subnet
    return make_plan(parse_config(raw, []).cluster)


def _rendered_commands(plan: ClusterPlan) -> dict[str, tuple[str, str]]:
    """The remote commands of the lab stack by resource name (create, delete), as the components name them."""
    return {f"{h.name}-{n}": (s.create, s.delete) for h in plan.hosts for n, s in steps.host_steps(plan, h)}


def test_changing_one_pod_subnet_updates_only_the_commands_that_render_differently(lab: EngineLab) -> None:
    assert lab.run is not None
    new_subnet = "fd6b:7636:1ff::/64"
    # The stack's config as this lab instance runs it (its own node network, lab.instance).
    old = _rendered_commands(make_plan(parse_config(lab.lab.raw_config, []).cluster))
    new = _rendered_commands(_plan_with_pod_subnet(lab.lab.raw_config, 2, new_subnet))
    expected = {name for name in old if old[name] != new[name]}
    # Minion 2's conflist, and every other host's routes to minion 2's pods.
    assert expected == {
        "kube-minion-2-cni-conflist",
        "kube-nat64-dns64-network",
        "kube-master-network",
        "kube-minion-1-network",
    }
    lab.run.set_config("nodes[2].podSubnet", new_subnet, path=True)
    try:
        preview = lab.run.preview()
    finally:
        lab.run.set_config("nodes[2].podSubnet", "fd6b:7636:102::/64", path=True)
    changed = {name for op, name in preview.steps if op not in ("same", "read")}  # read: the StackReference
    assert changed == expected, preview.output
    assert {op for op, _ in preview.steps} == {"update", "read"}, preview.steps
    lab.run.preview(expect_no_changes=True)


def test_reinstalled_hosts_are_configured_again_by_the_next_up(lab: EngineLab) -> None:
    """The gateway and a minion come back empty: the preview replaces exactly the commands on them,
    the `up` makes them again (the old deletes, guarded, undo nothing there), every check passes."""
    assert lab.run is not None
    lab.lab.stop_workloads()
    lost = [lab.lab.plan.gateway.name, "kube-minion-1"]
    for name in lost:
        reinstall(lab.lab, name)
        assert not diff(lab.before[name], host_snapshot(lab.lab.execs[name]))  # type: ignore[attr-defined]
    on_lost = {f"{h}-{n}" for h in lost for n, _ in steps.host_steps(lab.lab.plan, next(
        x for x in lab.lab.plan.hosts if x.name == h))} | {f"{h}-machine-id" for h in lost}  # fmt: skip
    preview = lab.run.preview()
    assert {n for op, n in preview.steps if op == "replace"} == on_lost, preview.output
    up = lab.run.up()
    assert {n for op, n in up.steps if op == "create-replacement"} == on_lost, up.steps
    TIMINGS.append(f"{STACK}: gateway and a minion reinstalled, converged by up in {up.seconds:.1f}s")
    lab.lab.up_workloads()
    failed = [r.report() for r in lab.lab.check() if not r.ok]
    assert not failed, "\n".join(failed)
    lab.run.preview(expect_no_changes=True)


def test_destroy_returns_every_host_to_its_state_before_up(lab: EngineLab) -> None:
    assert lab.run is not None
    lab.lab.stop_workloads()
    result = lab.run.destroy()
    lab.deployed = False
    # discard: the StackReference (a read) is forgotten, not deleted.
    assert result.changes == {"delete": RESOURCES, "discard": 1}, result.changes
    differences = []
    for name, before in lab.before.items():  # type: ignore[attr-defined]
        differences += [f"{name}: {d}" for d in diff(before, host_snapshot(lab.lab.execs[name]))]
    assert not differences, "\n".join(differences)
    # And the daemons Pulumi started on the gateway are gone (processes in its network namespace).
    gw = host_snapshot(lab.lab.execs[lab.lab.plan.gateway.name])
    assert not {"tayga", "unbound", "named"} & set(gw["processes"]), gw["processes"]  # type: ignore[arg-type]
