"""The e2e images of artifacts/e2e-images/build.sh: each archive carries the name the
Kubernetes [Conformance] suite pulls, upstream's entrypoint, command, user and ports, and the
files and tools the suite's tests use run from the image's own layers (extracted, then run
with chroot in private mount and network namespaces, with /dev and /proc as a runtime gives).

The images' directory is $KUBEV6_E2E_IMAGES, else <artifacts>/e2e-images."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config_schemas.versions import artifacts_dir

pytestmark = pytest.mark.k8s

E2E = "registry.k8s.io/e2e-test-images"
# file name -> the reference test/utils/image/manifest.go of v1.36.1 gives it
REFS = {
    "agnhost": f"{E2E}/agnhost:2.63.0",
    "agnhost-prev": f"{E2E}/agnhost:2.55",
    "busybox": f"{E2E}/busybox:1.37.0-1",
    "nginx": f"{E2E}/nginx:1.15-4",
    "nginx-new": f"{E2E}/nginx:1.27-0",
    "glibc-dns-testing": f"{E2E}/glibc-dns-testing:2.0.0",
    "kitten": f"{E2E}/kitten:1.8",
    "nautilus": f"{E2E}/nautilus:1.8",
    "nonewprivs": f"{E2E}/nonewprivs:1.4",
    "nonroot": f"{E2E}/nonroot:1.5",
    "sample-apiserver": f"{E2E}/sample-apiserver:1.29.2",
}
AGNHOST_PORTS = ["5000/tcp", "80/tcp", "8080/tcp", "8081/tcp", "9376/tcp"]
NGINX_CMD = ["nginx", "-g", "daemon off;"]
# file name -> (Entrypoint, Cmd, User, ExposedPorts, StopSignal) as upstream's Dockerfiles make them
CONFIGS: dict[str, tuple[list[str] | None, list[str] | None, str, list[str], str]] = {
    "agnhost": (["/agnhost"], ["pause"], "", AGNHOST_PORTS, ""),
    "agnhost-prev": (["/agnhost"], ["pause"], "", AGNHOST_PORTS, ""),
    "kitten": (["/agnhost"], ["test-webserver"], "", AGNHOST_PORTS, ""),
    "nautilus": (["/agnhost"], ["test-webserver"], "", AGNHOST_PORTS, ""),
    "busybox": (None, ["sh"], "", [], ""),
    "nginx": (None, NGINX_CMD, "", ["80/tcp"], "SIGTERM"),
    "nginx-new": (["/docker-entrypoint.sh"], NGINX_CMD, "", ["80/tcp"], "SIGQUIT"),
    "glibc-dns-testing": (None, ["bash"], "", [], ""),
    "nonewprivs": (None, ["nnp"], "", [], ""),
    "nonroot": (None, ["/bin/sh"], "1234", [], ""),
    "sample-apiserver": (["/sample-apiserver"], None, "", [], ""),
}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# the names the ConfigMap and Secret env tests set (envFrom with prefixes) and expect back
ENV_NAMES = ["data-1", "p-data-1", "1-data-1", "$_-data-1", "ABC_data-1", "#@!data-1"]


def images_dir() -> Path:
    override = os.environ.get("KUBEV6_E2E_IMAGES")
    return Path(override) if override else artifacts_dir() / "e2e-images"


@pytest.fixture(scope="session")
def out() -> Path:
    d = images_dir()
    if not (d / "LIST").is_file():
        pytest.skip(f"no e2e images in {d}: run artifacts/e2e-images/build.sh (or set KUBEV6_E2E_IMAGES)")
    return d


def read_image(archive: Path) -> tuple[list[str], dict[str, Any], list[str]]:
    """RepoTags, config and the layer members' names of a docker archive."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert len(manifest) == 1, archive
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        return manifest[0]["RepoTags"], config, manifest[0]["Layers"]


def extract(archive: Path, dest: Path) -> Path:
    """The image's filesystem: its layers in order, with their owners and modes."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=tar.extractfile(name)) as layer:
                assert not [m.name for m in layer if "/.wh." in "/" + m.name], "unexpected whiteouts"
                layer.extractall(dest, numeric_owner=True, filter="fully_trusted")
    for mountpoint in ("dev", "proc"):  # made by a runtime; where a layer has none
        if not (dest / mountpoint).exists() and not (dest / mountpoint).is_symlink():
            (dest / mountpoint).mkdir()
    return dest


@pytest.fixture(scope="session")
def rootfs(out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    if os.geteuid() != 0:
        pytest.skip("chroot and namespaces need root")
    if not shutil.which("unshare") or not shutil.which("chroot"):
        pytest.skip("unshare/chroot missing (util-linux, coreutils)")
    base = tmp_path_factory.mktemp("e2e-rootfs")
    trees: dict[str, Path] = {}
    for name in REFS:
        trees[name] = extract(out / f"{name}.tar", base / name)
    yield trees
    shutil.rmtree(base, ignore_errors=True)


def run(root: Path, script: str, user: str = "0:0", env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """`sh -c SCRIPT` in the image (its own /bin/sh), as a container would: own mount and
    network namespaces (loopback up), /dev and /proc, a clean environment."""
    envs = [f"{k}={v}" for k, v in {"PATH": PATH, **(env or {})}.items()]
    wrapper = (
        'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && ip link set lo up && '
        'u=$1 e=$2 && shift 2 && exec chroot --userspec="$u" "$0" "$e" -i "$@"'
    )
    env_bin = "/usr/bin/env" if (root / "usr/bin/env").exists() else "/bin/env"
    cmd = ["unshare", "--mount", "--net", "--fork", "sh", "-c", wrapper, str(root), user, env_bin]
    cmd += [*envs, "/bin/sh", "-c", script]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc.stdout + proc.stderr


# --- the archives -----------------------------------------------------------------------------


def test_list_names_every_image(out: Path) -> None:
    listed = dict(line.split()[::-1] for line in (out / "LIST").read_text().splitlines())
    assert listed == {f"{name}.tar": ref for name, ref in REFS.items()}
    versions = (out / "VERSIONS").read_text()
    assert "debian trixie bash=" in versions and "debian bookworm nginx=" in versions
    assert "busybox 1.37.0" in versions


@pytest.mark.parametrize("name", sorted(REFS))
def test_archive_name_and_config_as_upstream(out: Path, name: str) -> None:
    tags, config, _ = read_image(out / f"{name}.tar")
    assert tags == [REFS[name]]
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    entrypoint, cmd, user, ports, stop = CONFIGS[name]
    c = config["config"]
    assert c.get("Entrypoint") == entrypoint
    assert c.get("Cmd") == cmd
    assert c.get("User", "") == user
    assert c.get("WorkingDir", "/") in ("", "/")
    assert sorted(c.get("ExposedPorts") or {}) == ports
    assert c.get("StopSignal", "") == stop
    assert f"PATH={PATH}" in c["Env"]
    assert (out / f"{name}.digest").read_text().startswith("sha256:")


def test_agnhost_prev_is_another_image_of_the_same_binary(out: Path) -> None:
    """Rolling-update tests move pods from AgnhostPrev to Agnhost: two image IDs."""
    assert (out / "agnhost.digest").read_text() != (out / "agnhost-prev.digest").read_text()
    assert read_image(out / "agnhost.tar")[2] == read_image(out / "agnhost-prev.tar")[2]


# --- busybox ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["busybox", "agnhost"])
def test_sh_c_env_keeps_names_that_are_not_shell_identifiers(rootfs: dict[str, Path], name: str) -> None:
    """[sig-node] ConfigMap/Secret 'should be consumable via the environment': `sh -c env`."""
    output = run(rootfs[name], "env", env={n: "value-1" for n in ENV_NAMES})
    for n in ENV_NAMES:
        assert f"{n}=value-1" in output.splitlines(), output


def test_busybox_is_1_37_with_applets_in_bin(rootfs: dict[str, Path]) -> None:
    root = rootfs["busybox"]
    assert "BusyBox v1.37.0" in run(root, "busybox | head -1")
    for applet in ("sh", "env", "wget", "nslookup", "sleep", "id", "hostname", "cat", "test", "nc", "ip"):
        assert (root / "bin" / applet).is_symlink(), applet
    assert run(root, "id -u", user="65534:65534").strip() == "65534"
    assert run(root, "echo -n read: && cat && echo 'stdin closed'").startswith("read:")


# --- agnhost ----------------------------------------------------------------------------------

AGNHOST_TOOLS = [
    ("curl --version", "curl 8."),
    ("dig -v", "DiG 9."),
    ("nslookup -version", "nslookup 9."),
    ("nc -h", "OpenBSD netcat"),
    ("ip -6 addr show dev lo", "inet6 ::1/128"),
    ("ip -V", "iproute2"),
    ("ss -ltn", "Local Address:Port"),
    ("ipcs", "Shared Memory Segments"),
    ("getent passwd user-defined-in-image", "user-defined-in-image:x:1000:"),  # the DNS tests run getent
    ("iperf -v", "iperf version 2."),
    ("/usr/local/bin/iperf -v", "iperf version 2."),
    ("bash --version", "GNU bash"),
    ("/coredns -version", "CoreDNS-"),
    ("/agnhost-2 netexec --help", "--http-port"),
    ("readlink /bin/sh", "busybox"),
    ("ls -d /uploads /localhost.crt /localhost.key", "/localhost.key"),
    ("id user-defined-in-image", "uid=1000(user-defined-in-image)"),
    ("id user-defined-in-image", "50000(group-defined-in-image)"),
]


@pytest.mark.parametrize(("script", "expected"), AGNHOST_TOOLS, ids=[s for s, _ in AGNHOST_TOOLS])
def test_agnhost_tools(rootfs: dict[str, Path], script: str, expected: str) -> None:
    assert expected in run(rootfs["agnhost"], f"{script} 2>&1")


def test_agnhost_shell_runs_the_installed_tools_not_applets(rootfs: dict[str, Path]) -> None:
    """Alpine's apk replaces busybox's applets with the packages' tools; so does the image."""
    output = run(rootfs["agnhost"], "for c in nslookup ip nc ss ipcs; do command -v $c; done")
    assert output.split() == ["/usr/bin/nslookup", "/usr/sbin/ip", "/usr/bin/nc", "/usr/bin/ss", "/usr/bin/ipcs"]


def test_agnhost_home_belongs_to_the_image_user(rootfs: dict[str, Path]) -> None:
    home = rootfs["agnhost"] / "home/user-defined-in-image"
    assert (home.stat().st_uid, home.stat().st_gid) == (1000, 1000)
    assert run(
        rootfs["agnhost"],
        "id -u; touch ~/x && echo ok",
        user="1000:1000",
        env={"HOME": str("/" / home.relative_to(rootfs["agnhost"]))},
    ).split() == ["1000", "ok"]


def test_agnhost_serves_and_curls_over_ipv6(rootfs: dict[str, Path]) -> None:
    script = (
        "/agnhost netexec --http-port 8080 >/dev/null 2>&1 & sleep 1; "
        "curl -s -g 'http://[::1]:8080/hostname'; echo; curl -s 'http://[::1]:8080/echo?msg=hello'; kill $!"
    )
    assert "hello" in run(rootfs["agnhost"], script)


@pytest.mark.parametrize("name", ["kitten", "nautilus"])
def test_update_demo_and_image_volume_images(rootfs: dict[str, Path], name: str) -> None:
    """Update Demo fetches data.json from test-webserver; ImageVolume reads data.json and
    /etc/os-release (it looks for 'Alpine Linux', which the stand-in names)."""
    root = rootfs[name]
    assert f"{name}.jpg" in (root / "data.json").read_text()
    assert (root / f"{name}.jpg").stat().st_size > 1000
    assert "Alpine Linux" in run(root, "cat /etc/os-release")
    served = run(
        root, "/agnhost test-webserver >/dev/null 2>&1 & sleep 1; wget -qO- 'http://[::1]:80/data.json'; kill $!"
    )
    assert f"{name}.jpg" in served


# --- nginx ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "version"),
    [
        ("nginx", "nginx -g 'daemon off;'", "nginx/1.22"),
        ("nginx-new", "/docker-entrypoint.sh nginx -g 'daemon off;'", "nginx/1.26"),
    ],
)
def test_nginx_serves_its_welcome_page(rootfs: dict[str, Path], name: str, start: str, version: str) -> None:
    script = (
        f"{start} 2>&1 & sleep 1; wget -qO- 'http://[::1]/'; wget -qO- http://127.0.0.1/; "
        "wget -S -qO /dev/null 'http://[::1]/' 2>&1 | grep -i server; ps | grep 'nginx: worker' | grep -v grep; kill $!"
    )
    output = run(rootfs[name], script)
    assert output.count("Welcome to nginx!") >= 4, output  # title and heading, twice
    assert version in output
    assert "nginx    " in output or "nginx " in output  # the worker runs as user nginx


# --- the others -------------------------------------------------------------------------------


def test_nonewprivs_nnp_is_setuid_root(rootfs: dict[str, Path]) -> None:
    nnp = rootfs["nonewprivs"] / "usr/local/bin/nnp"
    assert nnp.stat().st_mode & 0o4000 and nnp.stat().st_uid == 0
    assert run(rootfs["nonewprivs"], "nnp", user="1000:1000").strip() == "Effective uid: 0"


def test_sample_apiserver_runs(rootfs: dict[str, Path]) -> None:
    assert "--etcd-servers" in run(rootfs["sample-apiserver"], "/sample-apiserver --help 2>&1")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("dig -v 2>&1", "DiG 9.18"),
        ("getent passwd root", "root:x:0:0:root:/root:/bin/bash"),
        ("readlink -f /bin/sh", "/usr/bin/dash"),
        ("bash -c 'echo $BASH_VERSION'", "5.2"),
        ("/coredns -version", "CoreDNS-"),
        ("cat /etc/debian_version", "12."),
        ("echo OK > /tmp/r && cat /tmp/r && test -n x && seq 1 2 | awk '{s+=$1} END {print s}'", "OK\n3"),
    ],
)
def test_glibc_dns_testing(rootfs: dict[str, Path], script: str, expected: str) -> None:
    """The DNS tests' 'jessie' prober runs dig, getent and a shell loop in this image."""
    assert expected in run(rootfs["glibc-dns-testing"], script)


def test_nonroot_runs_as_1234(rootfs: dict[str, Path]) -> None:
    assert run(rootfs["nonroot"], "id -u", user="1234:1234").strip() == "1234"
