"""A host that comes back empty is told apart: its machine token (program/machine_ids.py), the
identity command that writes it, every command on it replaced with that command, and every delete
guarded so a replaced command's undo never undoes its replacement (rendering/machine_identity.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import config_schemas.pulumi_config as pulumi_config
from harness.commons.program_mocks import Recorder, run_program
from program.machine_ids import OUTPUT, choose_tokens
from rendering.layout import MACHINE_ID_PATH
from rendering.machine_identity import guarded_delete, identity_delete, identity_step

HOSTS = ["kube-nat64-dns64", "kube-master", "kube-minion-1"]
RECORDED = {"kube-nat64-dns64": "a" * 32, "kube-master": "b" * 32, "kube-minion-1": "c" * 32}


@pytest.fixture(autouse=True)
def _no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])


def _fresh() -> str:
    return "new"


def test_a_host_that_holds_its_recorded_token_keeps_it() -> None:
    tokens, notes = choose_tokens(HOSTS, RECORDED, dict(RECORDED), _fresh)
    assert tokens == RECORDED and notes == []


def test_an_empty_or_foreign_host_gets_a_new_token_and_the_run_says_so() -> None:
    observed: dict[str, str | None] = {**RECORDED, "kube-minion-1": "", "kube-master": "d" * 32}
    tokens, notes = choose_tokens(HOSTS, RECORDED, observed, _fresh)
    assert tokens == {**RECORDED, "kube-minion-1": "new", "kube-master": "new"}
    assert len(notes) == 2 and all("runs again" in n for n in notes), notes
    assert any(n.startswith("kube-minion-1: holds no machine id") for n in notes), notes


def test_a_host_that_cannot_be_asked_keeps_its_recorded_token() -> None:
    tokens, notes = choose_tokens(HOSTS, RECORDED, {"kube-master": "b" * 32}, _fresh)
    assert tokens == RECORDED
    assert [n.split(":")[0] for n in notes] == ["kube-nat64-dns64", "kube-minion-1"], notes


def test_hosts_never_recorded_get_new_tokens_without_being_asked() -> None:
    tokens, notes = choose_tokens(HOSTS, {}, {}, _fresh)
    assert tokens == dict.fromkeys(HOSTS, "new") and notes == []


def _sh(root: Path, script: str) -> subprocess.CompletedProcess[str]:
    # The scripts name MACHINE_ID_PATH; run them against a copy of the path under `root`.
    directory = MACHINE_ID_PATH.rsplit("/", 1)[0]
    local = script.replace(directory, str(root / directory.lstrip("/")))
    return subprocess.run(["sh", "-c", local], capture_output=True, text=True, check=False)


def test_a_guarded_delete_undoes_only_on_the_machine_it_was_made_on(tmp_path: Path) -> None:
    marker = tmp_path / "made-by-the-step"
    undo = f"rm -f {marker}"
    assert _sh(tmp_path, identity_step("t1").create).returncode == 0
    marker.touch()
    # Another machine (reinstalled: it holds a new token, or none at all): nothing undone, success.
    for other in ("t2", None):
        token_file = tmp_path / MACHINE_ID_PATH.lstrip("/")
        if other is None:
            token_file.unlink()
        else:
            token_file.write_text(f"{other}\n")
        done = _sh(tmp_path, guarded_delete("t1", undo))
        assert done.returncode == 0 and marker.exists(), done.stderr
        assert "nothing of it to undo" in done.stderr
    # The machine it was made on: undone.
    assert _sh(tmp_path, identity_step("t1").create).returncode == 0
    assert _sh(tmp_path, guarded_delete("t1", undo)).returncode == 0 and not marker.exists()
    # The identity's own delete leaves a newer token alone, and removes its own.
    assert _sh(tmp_path, identity_step("t2").create).returncode == 0
    _sh(tmp_path, identity_delete("t1"))
    assert (tmp_path / MACHINE_ID_PATH.lstrip("/")).read_text() == "t2\n"
    _sh(tmp_path, identity_delete("t2"))
    assert not (tmp_path / MACHINE_ID_PATH.lstrip("/")).exists()


def test_a_token_with_shell_characters_is_quoted(tmp_path: Path) -> None:
    token = "x'; touch pwned; '"
    assert _sh(tmp_path, guarded_delete(token, "true")).returncode == 0
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def _deployed_tokens(stack: str) -> dict[str, str]:
    _, outputs = run_program(stack)
    return dict(outputs[OUTPUT].value)


def test_every_command_on_a_reinstalled_host_is_replaced_and_the_others_are_not() -> None:
    recorded = _deployed_tokens("lab-k8s")
    assert set(recorded) == {"kube-nat64-dns64", "kube-master", "kube-minion-1", "kube-minion-2"}
    held: dict[str, str | None] = {**recorded, "kube-minion-1": ""}  # its disk came back empty
    rec, outputs = run_program(
        "lab-k8s", recorder=Recorder(stack_outputs={OUTPUT: recorded}, machine_tokens=held, token_seed="later")
    )
    tokens = dict(outputs[OUTPUT].value)
    assert tokens["kube-minion-1"] != recorded["kube-minion-1"]
    assert {k: v for k, v in tokens.items() if k != "kube-minion-1"} == {
        k: v for k, v in recorded.items() if k != "kube-minion-1"
    }
    identity = rec.named("kube-minion-1-machine-id")
    assert identity.inputs["triggers"] == [tokens["kube-minion-1"]]
    commands = rec.of_type("command:remote:Command")
    on_minion = [c for c in commands if c.inputs["connection"]["value"]["host"] == "fd6b:7638::101"]
    assert len(on_minion) >= 5, [c.name for c in on_minion]
    for command in on_minion:
        if command.name == identity.name:
            continue
        opts = rec.options[command.name]
        assert "kube-minion-1-machine-id" in [r._name for r in opts.replace_with or []], command.name
        delete = command.inputs.get("delete")
        if delete:
            assert delete.startswith(guarded_delete(tokens["kube-minion-1"], "")), command.name
    # Its join token (made on the master) is replaced with it: a rejoin needs a token of its own.
    token_opts = rec.options["kubeadm-kube-minion-1-token"]
    assert "kube-minion-1-machine-id" in [r._name for r in token_opts.replace_with or []]
    other_token = rec.options["kubeadm-kube-minion-2-token"]
    assert "kube-minion-1-machine-id" not in [r._name for r in other_token.replace_with or []]


def test_the_gateways_mirror_copies_are_made_again_on_an_empty_gateway() -> None:
    rec, _ = run_program("lab-k8s")
    copies = rec.of_type("command:remote:CopyToRemote")
    assert copies
    for copy in copies:
        assert [r._name for r in rec.options[copy.name].replace_with or []] == ["kube-nat64-dns64-machine-id"]


def test_libvirt_machines_have_no_identity_command() -> None:
    rec, outputs = run_program("dev")
    assert not rec.of_type("kubev6:index:MachineIdentities") and OUTPUT not in outputs


def test_a_reinstalled_master_is_a_new_cluster_that_gets_its_objects_again() -> None:
    rec, _ = run_program("lab-k8s")
    for provider in rec.of_type("pulumi:providers:kubernetes"):
        assert [r._name for r in rec.options[provider.name].replace_with or []] == ["kubeadm-master-init"]
    init = rec.options["kubeadm-master-init"]
    assert "kube-master-machine-id" in [r._name for r in init.replace_with or []]
