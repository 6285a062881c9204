"""The image archives in a real containerd (Debian's, a private instance: own root, state
and socket, nothing shared with a containerd of the machine): `ctr -n k8s.io images import`
loads every archive, and each image runs its binaries the way the cluster calls them."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config_schemas.versions import COREDNS_VERSION, ETCD_VERSION, KUBERNETES_VERSION, PAUSE_VERSION
from tests.k8s.test_artifacts import ENTRYPOINTS, read_archive

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
    # What the check Jobs use (components/test_workloads.py): sh, nslookup, wget, awk, grep, tee.
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


class Ctr:
    def __init__(self, address: str) -> None:
        self.address = address

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = ["ctr", "--address", self.address, "-n", "k8s.io", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def ctr(artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctr]:
    if os.geteuid() != 0:
        pytest.skip("a private containerd needs root")
    missing = [tool for tool in ("containerd", "ctr", "runc") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install containerd runc)")
    home = tmp_path_factory.mktemp("containerd")
    address = str(home / "containerd.sock")
    config = home / "config.toml"
    config.write_text(
        f'version = 2\nroot = "{home}/root"\nstate = "{home}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{address}"\n'
    )
    with (home / "containerd.log").open("w") as log:
        daemon = subprocess.Popen(["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        client = Ctr(address)
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
