"""The engine's order for a minion's token -> join -> Node chain, with the resource options
components/kubeadm_minion.py gives them (test_program_graph checks it does), on local commands
that log what they do: no machine needed, a few seconds.

What must hold: removing the minion drains (Node) before it resets (join) before it deletes the
token; replacing the token or the join deletes the Node first, then the join, and creates the new
ones after (a join created before the old one's reset would be undone by that reset); a replaced
token is deleted after the new join."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto
from pulumi_command import local

from harness.commons.engine import EngineEnv, engine_env

pytestmark = [pytest.mark.engine]


def _program(log: Path, present: Callable[[], bool]) -> Callable[[], None]:
    def cmd(name: str, stdin: pulumi.Input[str] | None = None, **opts: object) -> local.Command:
        return local.Command(
            name,
            create=f"echo create {name} >> {log}; echo {name}-$$",
            delete=f"echo delete {name} >> {log}",
            stdin=stdin,
            opts=pulumi.ResourceOptions(**opts),  # type: ignore[arg-type]
        )

    def program() -> None:
        if not present():
            return
        # In a component, with secret outputs: as components/kubeadm_minion.py declares them.
        minion = pulumi.ComponentResource("kubev6:test:Minion", "minion")
        secret = {"parent": minion, "additional_secret_outputs": ["stdout", "stderr"]}
        token = cmd("token", ignore_changes=["create"], **secret)
        join = cmd(
            "join", pulumi.Output.secret(token.stdout), delete_before_replace=True, replace_with=[token], **secret
        )
        cmd("node", delete_before_replace=True, replace_with=[join], depends_on=[join], **secret)

    return program


@pytest.fixture
def env(tmp_path: Path) -> EngineEnv:
    return engine_env(tmp_path / "state", passphrase=os.urandom(8).hex())


def test_token_join_node_are_replaced_and_removed_in_the_order_a_minion_needs(env: EngineEnv, tmp_path: Path) -> None:
    log = tmp_path / "log"
    want = {"present": True}
    stack = auto.create_or_select_stack(
        "order",
        "kubev6-replace-order",
        _program(log, lambda: want["present"]),
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(tmp_path),
            env_vars=env.variables(),
            pulumi_command=env.command(),
            secrets_provider="passphrase",
        ),
    )
    urn = "urn:pulumi:order::kubev6-replace-order::kubev6:test:Minion$command:local:Command::"

    def events(**kwargs: object) -> list[str]:
        log.unlink(missing_ok=True)
        stack.up(color="never", **kwargs)  # type: ignore[arg-type]
        return log.read_text().split("\n")[:-1] if log.exists() else []

    assert events() == ["create token", "create join", "create node"]
    # The order among several dependents of one delete-before-replace is not fixed (seen both
    # ways): a few rounds catch a design that depends on it.
    for _ in range(3):
        assert events(replace=[urn + "token"]) == [
            "create token", "delete node", "delete join", "create join", "create node", "delete token",
        ]  # fmt: skip
        assert events(replace=[urn + "join"]) == ["delete node", "delete join", "create join", "create node"]
    assert events() == [], "a second up changes nothing"
    want["present"] = False
    assert events() == ["delete node", "delete join", "delete token"]
    stack.workspace.remove_stack("order")
