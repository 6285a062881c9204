"""The image archives in a real containerd (the built containerd 2 with the built runc, a private
instance: own root, state and socket, nothing shared with a containerd of the machine): `ctr -n
k8s.io images import` loads every archive, and each image runs its binaries the way the cluster
calls them. The rendered config, read by that containerd, says what the project intends."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config_schemas.stack_files import load_stack_file
from config_schemas.versions import (
    CONTAINERD_VERSION,
    COREDNS_VERSION,
    ETCD_VERSION,
    KUBERNETES_VERSION,
    PAUSE_VERSION,
    RUNC_VERSION,
)
from planning.plan import make_plan
from rendering import node_install
from tests.helpers.artifacts import ENTRYPOINTS, read_archive

pytestmark = pytest.mark.k8s

K8S = f"v{KUBERNETES_VERSION}"
# image, argv (replacing entrypoint and arguments, as a pod's `command` does), expected output
RUNS = [
    ("kube-apiserver", ["kube-apiserver", "--version"], f"Kubernetes {K8S}"),
    ("kube-controller-manager", ["kube-controller-manager", "--version"], f"Kubernetes {K8S}"),
    ("kube-scheduler", ["kube-scheduler", "--version"], f"Kubernetes {K8S}"),
    ("kube-proxy", ["/usr/local/bin/kube-proxy", "--version"], f"Kubernetes {K8S}"),
    ("kube-proxy", ["ip6tables", "--version"], "(nf_tables)"),
    ("kube-proxy", ["ip6tables-legacy-save", "--version"], "(legacy)"),
    ("kube-proxy", ["nft", "--version"], "nftables v"),
    ("kube-proxy", ["conntrack", "--version"], "conntrack v"),
    ("etcd", ["etcd", "--version"], f"etcd Version: {ETCD_VERSION}"),
    ("etcd", ["etcdctl", "version"], f"etcdctl version: {ETCD_VERSION}"),
    ("coredns", ["/coredns", "-version"], f"CoreDNS-{COREDNS_VERSION}"),
    ("pause", ["/pause", "-v"], f"v{PAUSE_VERSION}"),
    ("agnhost", ["/agnhost", "netexec", "--help"], "--http-port"),
    # What the check Jobs use (components/workload_checks.py): sh, nslookup, wget, awk, grep, tee.
    ("busybox", ["sh", "-c", "echo ok | tee /dev/null | grep ok | awk '{print \"awk-\" $1}'"], "awk-ok"),
    ("busybox", ["sh", "-c", "nslookup 2>&1; wget 2>&1; true"], "Usage: nslookup"),
    ("busybox", ["sh", "-c", "wget 2>&1; true"], "Usage: wget"),
]


CGROUP_PARENT = "kubev6-test"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def remove_cgroup_parent() -> None:
    """The (by now empty) parent of the test containers' cgroups, in every hierarchy."""
    for hierarchy in [CGROUP_ROOT, *CGROUP_ROOT.iterdir()] if CGROUP_ROOT.is_dir() else []:
        parent = hierarchy / CGROUP_PARENT
        if parent.is_dir():
            parent.rmdir()  # fails while a container of ours is left: that is a bug to see


def runtime_env(artifacts: Path) -> dict[str, str]:
    """The built runtime first on PATH: containerd finds its shim there, the shim finds runc."""
    return {**os.environ, "PATH": f"{artifacts / 'bin'}:{os.environ['PATH']}"}


class Ctr:
    def __init__(self, address: str, env: dict[str, str]) -> None:
        self.address = address
        self.env = env

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = ["ctr", "--address", self.address, "-n", "k8s.io", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env)


@pytest.fixture(scope="module")
def ctr(artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctr]:
    if os.geteuid() != 0:
        pytest.skip("a private containerd needs root")
    env = runtime_env(artifacts)
    for tool in node_install.RUNTIME_BINARIES:
        assert shutil.which(tool, path=env["PATH"]) == str(artifacts / "bin" / tool), f"{tool} is not the built one"
    home = tmp_path_factory.mktemp("containerd")
    address = str(home / "containerd.sock")
    config = home / "config.toml"
    config.write_text(
        f'version = 3\nroot = "{home}/root"\nstate = "{home}/state"\n'
        # No CRI server and no NRI socket (the images plugin stays: it gives ctr's unpack platforms).
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]\n'
        f'[grpc]\n  address = "{address}"\n[ttrpc]\n  address = "{address}.ttrpc"\n'
        # containerd 2 imports through its transfer service, which unpacks only for these pairs.
        '[[plugins."io.containerd.transfer.v1.local".unpack_config]]\n'
        '  platform = "linux/amd64"\n  snapshotter = "native"\n'
    )
    with (home / "containerd.log").open("w") as log:
        daemon = subprocess.Popen(
            ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        client = Ctr(address, env)
        deadline = time.monotonic() + 20
        while client("version").returncode != 0:
            assert daemon.poll() is None, (home / "containerd.log").read_text()
            assert time.monotonic() < deadline, "containerd did not answer within 20 s"
            time.sleep(0.2)
        for name in ENTRYPOINTS:
            done = client("images", "import", "--snapshotter", "native", str(artifacts / "images" / f"{name}.tar"))
            assert done.returncode == 0, f"ctr could not import {name}.tar: {done.stderr}"
        yield client
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(home, ignore_errors=True)
        remove_cgroup_parent()


def test_every_archive_imports_with_its_name(ctr: Ctr, artifacts: Path) -> None:
    listed = ctr("images", "ls", "-q")
    assert listed.returncode == 0, listed.stderr
    for name in ENTRYPOINTS:
        tags, _, _ = read_archive(artifacts / "images" / f"{name}.tar")
        assert set(tags) <= set(listed.stdout.split()), name
    platforms = ctr("images", "ls")
    assert all("linux/amd64" in line for line in platforms.stdout.splitlines()[1:]), platforms.stdout


@pytest.mark.parametrize(("image", "argv", "expected"), RUNS, ids=[f"{i}-{a[0]}" for i, a, _ in RUNS])
def test_the_image_runs_its_binaries(ctr: Ctr, artifacts: Path, image: str, argv: list[str], expected: str) -> None:
    [ref], _, _ = read_archive(artifacts / "images" / f"{image}.tar")
    container = f"kubev6-test-{uuid.uuid4().hex[:12]}"
    cgroup = f"/{CGROUP_PARENT}/{container}"  # not ctr's default /k8s.io/...: ours to remove afterwards
    done = ctr("run", "--rm", "--snapshotter", "native", "--cgroup", cgroup, ref, container, *argv)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert expected in output


def test_the_built_runtime_reports_its_pinned_versions(artifacts: Path) -> None:
    bin_dir = artifacts / "bin"
    containerd = subprocess.run([bin_dir / "containerd", "--version"], capture_output=True, text=True, check=True)
    assert containerd.stdout.split()[2] == f"v{CONTAINERD_VERSION}", containerd.stdout
    runc = subprocess.run([bin_dir / "runc", "--version"], capture_output=True, text=True, check=True).stdout
    assert runc.splitlines()[0] == f"runc version {RUNC_VERSION}" and "libseccomp: 2." in runc, runc
    assert (artifacts / "RUNTIME").read_text() == f"containerd {CONTAINERD_VERSION}\nrunc {RUNC_VERSION}\n"


@pytest.mark.parametrize("stack", ["dev", "lab-k8s"])
def test_containerd_reads_the_rendered_config_as_intended(artifacts: Path, tmp_path: Path, stack: str) -> None:
    """`containerd config dump` of the rendered file: the values the project set, after containerd's
    own migration of version 3, and no deprecation warning."""
    import tomllib

    plan = make_plan(load_stack_file(stack).cluster)
    k8s = plan.kubeadm.kubernetes
    rendered = tmp_path / "config.toml"
    rendered.write_text(node_install.containerd_config(k8s).content)
    dump = subprocess.run(
        [artifacts / "bin" / "containerd", "--config", rendered, "config", "dump"], capture_output=True, text=True
    )
    assert dump.returncode == 0, dump.stderr
    assert "deprecat" not in dump.stderr.lower() and "migrat" not in dump.stderr.lower(), dump.stderr
    plugins = tomllib.loads(dump.stdout)["plugins"]
    images, runtime = plugins["io.containerd.cri.v1.images"], plugins["io.containerd.cri.v1.runtime"]
    assert images["pinned_images"]["sandbox"] == f"registry.k8s.io/pause:{PAUSE_VERSION}"
    assert images["registry"]["config_path"] == "/etc/containerd/certs.d"
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runtime["containerd"]["default_runtime_name"] == "runc"
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["BinaryName"] == "/usr/local/bin/runc"
    assert runc["options"]["SystemdCgroup"] is (k8s.kubelet.cgroup_driver == "systemd")
    assert runtime["restrict_oom_score_adj"] is k8s.containerd.restrict_oom_score_adj
    assert runtime["cni"]["bin_dirs"] == ["/opt/cni/bin"] and runtime["cni"]["conf_dir"] == "/etc/cni/net.d"
