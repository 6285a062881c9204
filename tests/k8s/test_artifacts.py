"""The artifacts of scripts/build-artifacts.sh, used for real: kubeadm's version, kubeadm
validating every stack's rendered init and join configs, and the image archives (names,
platform, entrypoints, the files those entrypoints name)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from config_schemas.stack_files import load_stack_file, stack_names
from config_schemas.versions import KUBERNETES_VERSION
from planning.plan import make_plan
from rendering import kubeadm as kubeadm_render
from rendering.files import RenderedFile
from tests.helpers.artifacts import ENTRYPOINTS, read_archive

pytestmark = pytest.mark.k8s

TOKEN = "abcdef.0123456789abcdef"
CA_HASH = "sha256:" + "0123456789abcdef" * 4
CERT_KEY = "0123456789abcdef" * 4  # kubeadm's certificate key: 32 bytes, hex
STACKS = stack_names()
PLANS = {stack: make_plan(load_stack_file(stack).cluster) for stack in STACKS}
# Minions' joins, and the other masters' joins of the control plane (lab-k8s-ha).
JOINS = [(stack, node.name) for stack in STACKS for node in (*PLANS[stack].joining_masters, *PLANS[stack].minions)]

# The image each archive holds, and where its entrypoint is: kubeadm's static pods run
# command[0] by name from PATH, kube-proxy's DaemonSet runs /usr/local/bin/kube-proxy, the
# CoreDNS Deployment and containerd's sandbox rely on the image's entrypoint.
# Files an image must hold besides its entrypoint (what the manifests and checks call).
ALSO = {
    "etcd": ["usr/local/bin/etcdctl", "usr/local/bin/etcdutl"],
    "kube-proxy": [
        "usr/sbin/ip6tables",
        "usr/sbin/ip6tables-restore",
        "usr/sbin/ip6tables-save",
        "usr/sbin/iptables",
        "usr/sbin/nft",
        "usr/sbin/conntrack",
    ],
    "busybox": ["bin/sh", "usr/bin/nslookup", "usr/bin/wget", "usr/bin/awk", "bin/grep", "usr/bin/tee"],
}


def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)


def validate(kubeadm: Path, tmp_path: Path, rendered: RenderedFile) -> str:
    config = tmp_path / Path(rendered.path).name
    config.write_text(rendered.content)
    done = run(kubeadm, "config", "validate", "--config", config)
    assert done.returncode == 0, f"kubeadm refused {rendered.path}:\n{done.stderr}\n{rendered.content}"
    return done.stdout + done.stderr


def test_kubeadm_is_the_configured_version(kubeadm: Path) -> None:
    done = run(kubeadm, "version", "-o", "short")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"v{KUBERNETES_VERSION}"


@pytest.mark.parametrize("stack", STACKS)
def test_kubeadm_accepts_the_init_config(kubeadm: Path, tmp_path: Path, stack: str) -> None:
    plan = PLANS[stack]
    output = validate(kubeadm, tmp_path, kubeadm_render.init_file(plan.kubeadm, plan.master, TOKEN, CERT_KEY))
    assert "ok" in output.lower()


@pytest.mark.parametrize(("stack", "node"), JOINS)
def test_kubeadm_accepts_the_join_config(kubeadm: Path, tmp_path: Path, stack: str, node: str) -> None:
    plan = PLANS[stack]
    host = plan.host(node)
    key = CERT_KEY if host.role == "master" else None  # a master joins the control plane
    output = validate(kubeadm, tmp_path, kubeadm_render.join_file(plan.kubeadm, host, TOKEN, CA_HASH, key))
    assert "ok" in output.lower()


def test_kubeadm_refuses_a_broken_config(kubeadm: Path, tmp_path: Path) -> None:
    """The validation above can fail: a pod subnet that is not a prefix is refused."""
    plan = PLANS["dev"]
    good = kubeadm_render.init_file(plan.kubeadm, plan.master, TOKEN)
    broken = RenderedFile(good.path, good.content.replace(str(plan.pod_supernet), "fd00:zz::/56"), good.mode)
    config = tmp_path / "broken.yaml"
    config.write_text(broken.content)
    done = run(kubeadm, "config", "validate", "--config", config)
    assert done.returncode != 0


def test_kubeadm_refuses_a_control_plane_older_than_its_minor_minus_one(kubeadm: Path, tmp_path: Path) -> None:
    """Why the config's default version follows artifacts/versions.env (it was 1.34.4)."""
    plan = PLANS["dev"]
    good = kubeadm_render.init_file(plan.kubeadm, plan.master, TOKEN)
    old = good.content.replace(f"kubernetesVersion: v{KUBERNETES_VERSION}", "kubernetesVersion: v1.34.4")
    assert old != good.content
    config = tmp_path / "old.yaml"
    config.write_text(old)
    done = run(kubeadm, "config", "validate", "--config", config)
    assert done.returncode != 0
    assert "only supports deploying clusters with the control plane version >=" in done.stderr


# --- images ----------------------------------------------------------------------------------


def resolve(tree: dict[str, tarfile.TarInfo], path: str) -> tarfile.TarInfo:
    """Follow symlinks (absolute or relative, also of directories) inside an image's file tree."""
    parts = _normalise(path.split("/"))
    for _ in range(40):
        for i in range(1, len(parts) + 1):
            info = tree.get("/".join(parts[:i]))
            assert info is not None, f"{path}: /{'/'.join(parts[:i])} is missing"
            if info.issym():
                base = [] if info.linkname.startswith("/") else parts[: i - 1]
                parts = _normalise([*base, *info.linkname.split("/"), *parts[i:]])
                break
        else:
            return tree["/".join(parts)]
    raise AssertionError(f"{path}: too many levels of symbolic links")


def _normalise(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return out


@pytest.fixture(scope="module")
def archives(artifacts: Path) -> dict[str, tuple[list[str], dict[str, Any], dict[str, tarfile.TarInfo]]]:
    return {name: read_archive(artifacts / "images" / f"{name}.tar") for name in ENTRYPOINTS}


def test_the_images_are_the_ones_kubeadm_pulls(kubeadm: Path, archives: dict[str, Any]) -> None:
    done = run(kubeadm, "config", "images", "list", "--kubernetes-version", f"v{KUBERNETES_VERSION}")
    assert done.returncode == 0, done.stderr
    expected = set(done.stdout.split())
    built = {tag for tags, _, _ in archives.values() for tag in tags}
    assert expected - built == set()


@pytest.mark.parametrize("name", ENTRYPOINTS)
def test_image_platform_and_entrypoint(archives: dict[str, Any], name: str) -> None:
    tags, config, tree = archives[name]
    assert len(tags) == 1, tags
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    entrypoint = config["config"].get("Entrypoint")
    assert entrypoint == ENTRYPOINTS[name]
    command = entrypoint or config["config"]["Cmd"]
    paths = [command[0]] if command[0].startswith("/") else [f"/bin/{command[0]}"]
    for path in paths + ALSO.get(name, []):
        info = resolve(tree, path)
        assert info.isfile(), f"{name}: {path} is not a file"
        assert info.mode & 0o111, f"{name}: {path} is not executable"
    env = dict(e.split("=", 1) for e in config["config"]["Env"])
    assert "/usr/local/bin" in env["PATH"].split(":")


def test_pause_runs_as_kubernetes_expects(archives: dict[str, Any]) -> None:
    _, config, tree = archives["pause"]
    assert config["config"]["User"] == "65535:65535"
    assert set(tree) == {"pause"}
