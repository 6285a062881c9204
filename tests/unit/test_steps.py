"""A step is a structured value; its scripts put each part in its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from rendering import layout
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
    from rendering import steps
    from rendering.node_install import MIRROR_BINARIES, MirrorContent

    plan = make_plan(load_stack_file("lab-k8s").cluster)
    content = MirrorContent(MIRROR_BINARIES, ("etcd.tar", "pause.tar"), "registry.tar")
    step = steps.packages_step(plan.kubernetes, plan.mirror, plan.minions[0], content)
    certs = layout.CONTAINERD_CERTS_DIR
    made = {f.path.rsplit("/", 1)[0] for f in step.files if f.path.startswith(certs)}
    assert made, "the mirror stack writes a hosts.toml per registry"
    [rmdir] = [line for line in step.delete.splitlines() if line.startswith(f"rmdir {certs}")]
    assert rmdir.split()[1:-3] == [*sorted(made, reverse=True), certs], rmdir
    assert step.delete.index("rm -f") < step.delete.index(rmdir), "files first, then their folders"


_FAKE_KUBECTL = """#!/bin/sh
shift 2  # --kubeconfig <file>
[ "$1" != --server ] || { echo "$2" >> "$LOG.server"; shift 2; }
echo "$*" >> "$LOG"
case "$1 $2" in
  "get node")
    case "$*" in
      *jsonpath*) printf '%s' "$READY";;
      *) [ "$FOUND" = 1 ] || { echo 'Error from server (NotFound): nodes "x" not found'; exit 1; }; echo node/x;;
    esac;;
  "drain "*) sleep 0.2; exit "$DRAIN_RC";;
esac
"""


@pytest.mark.parametrize(
    ("found", "drain_rc", "ready", "rc", "deleted"),
    [
        ("1", "0", "True", 0, True),  # drained: the Node is deleted
        ("1", "1", "True", 1, False),  # a live node that did not drain in time (slice after slice): it stays
        ("1", "1", "Unknown", 0, True),  # its kubelet is gone: nothing more can drain, the Node goes
        ("0", "0", "", 0, False),  # not registered (any more): nothing to do
    ],
)
def test_removing_a_node_drains_it_then_deletes_it_or_fails_leaving_it(
    tmp_path: Path, found: str, drain_rc: str, ready: str, rc: int, deleted: bool
) -> None:
    import os
    import subprocess

    from config_schemas.stack_files import load_stack_file
    from planning import make_plan
    from rendering import steps

    cfg = load_stack_file("lab-k8s").cluster
    plan = make_plan(cfg.model_copy(update={"kubernetes": cfg.kubernetes.model_copy(update={"drain_timeout": "2s"})}))
    name = plan.minions[0].name
    admin = tmp_path / "admin.conf"
    admin.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(_FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    script = steps.node_membership_scripts(plan.kubernetes, plan.master, plan.minions[0]).delete
    script = script.replace(layout.ADMIN_CONF, str(admin)).replace("/var/log/", f"{tmp_path}/")
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "FOUND": found,
           "DRAIN_RC": drain_rc, "READY": ready}  # fmt: skip
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == rc, done
    calls = log.read_text().splitlines()
    assert (f"delete node {name} --wait=true" in calls) == deleted, calls
    # Every call goes to the first master's own API server, never through a balancer.
    servers = set(Path(f"{log}.server").read_text().splitlines())
    assert servers == {f"https://[{plan.master.address}]:6443"}, servers
    if found == "1":
        drains = [c for c in calls if c.startswith("drain")]
        assert all(f"--ignore-daemonsets --delete-emptydir-data --timeout={steps.DRAIN_SLICE}" in d for d in drains)
        assert calls.index(drains[0]) < len(calls) - (1 if deleted else 0)
        # A live node is drained again until the timeout; a drained or dead one once.
        assert (len(drains) > 2) == (drain_rc == "1" and ready == "True"), calls
    if rc:
        assert "stays cordoned and joined" in done.stderr and "within 2s" in done.stderr, done.stderr
    admin.unlink()
    log.unlink()
    Path(f"{log}.server").unlink()
    gone = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env)
    assert gone.returncode == 0 and not log.exists(), "no cluster on the master: nothing to clean"


def test_a_join_or_init_after_a_reset_has_its_kubelet_running() -> None:
    """The reset (a rejoin's delete) stopped the kubelet's supervisor; kubeadm then waited 4 minutes
    for a kubelet nobody started (seen in test_day2's rejoin)."""
    from config_schemas.stack_files import load_stack_file
    from planning import make_plan
    from rendering import steps

    plan = make_plan(load_stack_file("lab-k8s").cluster)
    start = f"{layout.SUPERVISE_PATH} start kubelet kubelet.sh"
    for create, kubeadm in (
        (steps.kubeadm_join_step(plan.kubeadm, plan.master, plan.minions[0]).create, "kubeadm join"),
        (steps.kubeadm_init_step(plan.kubeadm, plan.master).create, "kubeadm init"),
    ):
        assert start in create and create.index(start) < create.index(kubeadm), create
    assert f"{layout.SUPERVISE_PATH} stop kubelet" in steps.KUBEADM_JOIN_DELETE


@pytest.mark.parametrize("runtime_first", [True, False])
def test_the_cni_conf_dir_goes_whichever_delete_runs_last(tmp_path: Path, runtime_first: bool) -> None:
    """containerd makes /etc/cni/net.d (0700) when it starts and stops its CRI plugin when the dir is
    removed under it: the CNI step's delete keeps the dir while containerd is installed, and the
    runtime's delete, after containerd is gone, removes it. Run for real on a fake root, both orders."""
    import subprocess

    from rendering import cni

    root = tmp_path / "root"
    conf_dir = root / layout.CNI_CONFLIST_DIR.lstrip("/")
    conf_dir.mkdir(parents=True)
    (root / layout.CNI_CONFLIST_PATH.lstrip("/")).write_text("{}")
    binary = root / layout.CONTAINERD_PATH.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("")

    def run(script: str) -> None:
        for top in ("/etc/", "/usr/"):  # every absolute path of these scripts, moved under the fake root
            script = script.replace(f" {top}", f" {root}{top}")
        subprocess.run(["sh", "-c", script], check=True)

    # The CNI step's part of its delete, then the runtime step's.
    cni_delete = f"rm -f {layout.CNI_CONFLIST_PATH}\n{cni.remove_conf_dirs_command()} || true"
    runtime_delete = f"rm -f {layout.CONTAINERD_PATH}\n{cni.remove_conf_dirs_command()} || true"
    if runtime_first:
        run(runtime_delete)
        assert conf_dir.is_dir()  # the conflist is still there: the CNI step's delete removes the dir
        run(cni_delete)
    else:
        run(cni_delete)
        assert conf_dir.is_dir()  # containerd is installed (it could be running): the dir stays
        run(runtime_delete)
    assert not (root / layout.CNI_ROOT.lstrip("/")).exists()


def test_the_deletes_use_the_conf_dir_guard() -> None:
    from config_schemas.stack_files import load_stack_file
    from planning import make_plan
    from rendering import cni, node_install, steps

    plan = make_plan(load_stack_file("lab-k8s").cluster)
    guard = cni.remove_conf_dirs_command()
    assert guard in steps.cni_step(plan.minions[0]).delete
    assert f"rmdir {layout.CNI_CONFLIST_DIR}" not in steps.cni_step(plan.minions[0]).delete.replace(guard, "")
    uninstall = node_install.uninstall_commands(plan.kubernetes)
    assert uninstall.index(guard) > max(
        i for i, c in enumerate(uninstall) if layout.CONTAINERD_PATH in c and "rm -f" in c
    )
