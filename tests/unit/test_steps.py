"""A step is a structured value; its scripts put each part in its place."""

from __future__ import annotations

from rendering.files import RenderedFile
from rendering.steps import Step

STEP = Step(
    files=(RenderedFile("/etc/kubev6/a.conf", "a = 1\n"), RenderedFile("/etc/kubev6/b.sh", "#!/bin/sh\n", "0755")),
    prepare=("echo prepare",),
    activate=("echo activate",),
    deactivate=("echo deactivate",),
    removes=("/etc/kubev6/a.conf", "/etc/kubev6/b.sh"),
    cleanup=("echo cleanup",),
)


def test_create_prepares_writes_the_files_then_activates() -> None:
    lines = STEP.create.splitlines()
    assert lines[:2] == ["set -eu", "echo prepare"]
    assert lines[-1] == "echo activate"
    assert lines.index("echo prepare") < lines.index("cat > /etc/kubev6/a.conf <<'KUBEV6_EOF'")
    assert lines.index("chmod 0755 /etc/kubev6/b.sh") < lines.index("echo activate")
    assert "delete" not in STEP.create and "cleanup" not in STEP.create


def test_delete_deactivates_removes_then_cleans_up_and_tolerates_failures() -> None:
    assert STEP.delete.splitlines() == [
        "set -u",
        "echo deactivate || true",
        "rm -f /etc/kubev6/a.conf",
        "rm -f /etc/kubev6/b.sh",
        "echo cleanup || true",
    ]


def test_a_step_with_nothing_to_undo() -> None:
    assert Step(activate=("true",)).delete == "set -u\n"
    assert Step(activate=("true",)).create == "set -eu\ntrue\n"


def test_packages_delete_removes_the_registry_folders_it_made() -> None:
    """A removed node's host returns to its snapshot: the hosts.toml folders go with their files."""
    from config_schemas.stack_files import load_stack_file
    from planning import make_plan
    from rendering import node_install, steps
    from rendering.node_install import MIRROR_BINARIES, MirrorContent

    plan = make_plan(load_stack_file("lab-k8s").cluster)
    content = MirrorContent(MIRROR_BINARIES, ("etcd.tar", "pause.tar"), "registry.tar")
    step = steps.packages_step(plan, plan.minions[0], content)
    certs = node_install.CONTAINERD_CERTS_DIR
    made = {f.path.rsplit("/", 1)[0] for f in step.files if f.path.startswith(certs)}
    assert made, "the mirror stack writes a hosts.toml per registry"
    [rmdir] = [line for line in step.delete.splitlines() if line.startswith(f"rmdir {certs}")]
    assert rmdir.split()[1:-3] == [*sorted(made, reverse=True), certs], rmdir
    assert step.delete.index("rm -f") < step.delete.index(rmdir), "files first, then their folders"
