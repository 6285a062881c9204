"""`pulumi preview` of every stack file with the real engine and providers, and the project's policy
pack (policy/): every shipped stack must pass its rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from config_schemas.stack_files import load_stack_file, stack_names
from harness.commons.engine import EngineEnv, EngineError, StackRun
from harness.commons.engine.workspace import POLICY_PACK
from harness.commons.libvirtd import inventory, running_libvirtd

pytestmark = pytest.mark.engine

STACKS = stack_names()
LIBVIRT = [s for s in STACKS if s != "dev" and load_stack_file(s).cluster.platform.kind == "libvirt"]
EXISTING = [s for s in STACKS if s != "dev" and s not in LIBVIRT]


def _assert_clean_preview(run: StackRun) -> None:
    result = run.preview(policy_packs=[POLICY_PACK])
    assert result.changes.get("create", 0) > 1, result.output
    assert set(result.changes) == {"create"}, result.changes
    assert "Traceback" not in result.output
    # The pack ran and found nothing (a rule that cannot run during preview says so as a warning).
    assert "✅ kube-v6@" in result.output, result.output
    assert "can't run policy" not in result.output, result.output


@pytest.mark.parametrize("stack", EXISTING)
def test_existing_host_stacks_preview(env: EngineEnv, tmp_path: Path, stack: str) -> None:
    _assert_clean_preview(StackRun(stack, env, tmp_path))


def test_large_previews_the_kubernetes_provider_from_an_unknown_kubeconfig(env: EngineEnv, tmp_path: Path) -> None:
    result = StackRun("large", env, tmp_path).preview(policy_packs=[POLICY_PACK])
    created = {name for op, name in result.steps if op == "create"}
    # The provider's kubeconfig is the master's output, unknown until kubeadm init has run.
    assert {"checks-provider", "checks-namespace", "kubeadm-master"} <= created, sorted(created)
    assert len([n for n in created if n.startswith("kubeadm-minion-") and n.endswith("-join")]) == 6


def test_libvirt_stacks_preview_against_a_daemon_and_create_nothing(env: EngineEnv, tmp_path: Path) -> None:
    assert LIBVIRT, "no libvirt stack file"
    with running_libvirtd():
        before = inventory()
        for stack in LIBVIRT:
            _assert_clean_preview(StackRun(stack, env, tmp_path / stack))
        assert inventory() == before


def test_dev_is_refused_here_with_its_message(env: EngineEnv, tmp_path: Path) -> None:
    with pytest.raises(EngineError) as err:
        StackRun("dev", env, tmp_path).preview()
    out = err.value.output
    assert "kubev6:network.nodePrefix: fd00::/64 overlaps fd00::/64" in out
    assert "Traceback" not in out


def test_bad_config_fails_preview_naming_the_key(env: EngineEnv, tmp_path: Path) -> None:
    run = StackRun("large", env, tmp_path)
    run.set_config("network.serviceSubnet", "fd10:6:1234::/64", path=True)
    run.set_config("nodes[1].address", "fd99::11", path=True)
    with pytest.raises(EngineError) as err:
        run.preview()
    out = err.value.output
    assert "kubev6:network.serviceSubnet" in out
    assert "kubev6:nodes[1].address" in out
    assert "Traceback" not in out
