"""The node runtime as rendered: air-gapped (mirror) nodes fetch nothing from the internet, and the
settings unusual machines need come from the stack config, while a real machine keeps the defaults."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from config_schemas.model import ClusterConfig
from config_schemas.stack_files import load_stack_file
from config_schemas.versions import CONTAINERD_VERSION, RUNC_VERSION
from planning.plan import make_plan
from rendering import kubeadm, layout, node_install, steps
from rendering.node_install import MIRROR_BINARIES, MirrorContent

CONTENT = MirrorContent(MIRROR_BINARIES, ("etcd.tar", "pause.tar"), "registry.tar")
TOKEN = "abcdef.0123456789abcdef"


def test_mirror_nodes_and_gateway_never_run_apt_and_install_from_the_gateway() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    node = plan.minions[0]
    step = steps.packages_step(plan.kubernetes, plan.mirror, node, CONTENT)
    gateway = steps.gateway_packages_step(plan.nat64, plan.dns64, plan.kubernetes, plan.api_lb)
    for script in (step.create, step.delete, gateway.create):
        assert "apt-get" not in script
    mirror = f"http://[{plan.gateway.address}]:{plan.mirror.port}"
    for binary in MIRROR_BINARIES:
        assert f"{mirror}/bin/{binary}" in step.create
    for image in CONTENT.images:
        assert f"{mirror}/images/{image} | ctr -n k8s.io images import" in step.create
    assert "missing on this air-gapped host" in step.create and "missing on this air-gapped host" in gateway.create


def test_online_nodes_install_from_the_package_repositories() -> None:
    plan = make_plan(load_stack_file("dev").cluster)
    create = steps.packages_step(plan.kubernetes, plan.mirror, plan.minions[0]).create
    assert "apt-get install" in create and "pkgs.k8s.io" in create


def test_unusual_machine_settings_come_from_the_stack_config() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    init, _, kubelet, proxy = kubeadm.init_documents(plan.kubeadm, plan.master, TOKEN)
    assert kubelet["cgroupDriver"] == "cgroupfs" and kubelet["failCgroupV1"] is False
    assert proxy["conntrack"] == {"maxPerCore": 0}
    registration = init["nodeRegistration"]
    assert registration["ignorePreflightErrors"] == ["SystemVerification"]
    assert {"name": "cgroup-root", "value": "/kubev6-lk-kube-master"} in registration["kubeletExtraArgs"]
    join = kubeadm.join_document(plan.kubeadm, plan.minions[1], TOKEN, "sha256:" + "0" * 64)
    assert {"name": "cgroup-root", "value": "/kubev6-lk-kube-minion-2"} in join["nodeRegistration"]["kubeletExtraArgs"]
    config = tomllib.loads(node_install.containerd_config(plan.kubeadm.kubernetes).content)
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert runtime["restrict_oom_score_adj"] is True


def test_a_real_machine_keeps_the_defaults() -> None:
    plan = make_plan(load_stack_file("dev").cluster)
    init, _, kubelet, proxy = kubeadm.init_documents(plan.kubeadm, plan.master, TOKEN)
    assert kubelet["cgroupDriver"] == "systemd" and "failCgroupV1" not in kubelet
    assert "conntrack" not in proxy and "ignorePreflightErrors" not in init["nodeRegistration"]
    assert not any(a["name"] == "cgroup-root" for a in init["nodeRegistration"]["kubeletExtraArgs"])
    config = tomllib.loads(node_install.containerd_config(plan.kubeadm.kubernetes).content)
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert "restrict_oom_score_adj" not in runtime


def test_kubeadm_delete_stops_the_kubelet_before_reset_and_names_the_cri_socket() -> None:
    delete = steps.KUBEADM_JOIN_DELETE
    assert delete.index("stop kubelet") < delete.index("kubeadm reset")
    assert f"--cri-socket {kubeadm.CRI_SOCKET}" in delete
    assert "nft delete table" in delete and "KUBE-" in delete


@pytest.mark.parametrize("stack", ["dev", "lab-k8s"])
def test_containerd_config_is_containerd_2s_with_exactly_the_settings_the_project_needs(stack: str) -> None:
    """containerd 2's CRI plugins (config version 4 for containerd 2.3), no key of the 1.x
    `io.containerd.grpc.v1.cri` plugin and none that containerd 2 deprecates."""
    plan = make_plan(load_stack_file(stack).cluster)
    text = node_install.containerd_config(plan.kubeadm.kubernetes).content
    config = tomllib.loads(text)
    assert config["version"] == 4 and set(config) == {"version", "plugins"}
    plugins = config["plugins"]
    assert set(plugins) == {"io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"}
    images, runtime = plugins["io.containerd.cri.v1.images"], plugins["io.containerd.cri.v1.runtime"]
    assert images == {
        "pinned_images": {"sandbox": f"registry.k8s.io/pause:{node_install.PAUSE_IMAGE_TAG}"},
        "registry": {"config_path": "/etc/containerd/certs.d"},
    }
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runtime["containerd"]["default_runtime_name"] == "runc"
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["BinaryName"] == "/usr/local/bin/runc"
    assert runtime["cni"] == {"bin_dirs": ["/opt/cni/bin"], "conf_dir": "/etc/cni/net.d"}
    for deprecated in ("sandbox_image", "bin_dir =", "io.containerd.grpc.v1.cri", "mirrors", "configs."):
        assert deprecated not in text


def test_air_gapped_nodes_pull_registry_k8s_io_and_docker_io_through_the_gateway_registry() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    step = steps.packages_step(plan.kubernetes, plan.mirror, plan.minions[0], CONTENT)
    files = {f.path: f.content for f in step.files}
    registry = f"http://[{plan.gateway.address}]:{plan.mirror.registry_port}"
    for name, upstream in (
        ("registry.k8s.io", "https://registry.k8s.io"),
        ("docker.io", "https://registry-1.docker.io"),
    ):
        hosts = tomllib.loads(files[f"/etc/containerd/certs.d/{name}/hosts.toml"])
        assert hosts == {
            "server": upstream,
            "host": {f"{registry}/v2/{name}": {"capabilities": ["pull", "resolve"], "override_path": True}},
        }
    online = make_plan(load_stack_file("dev").cluster)
    online_step = steps.packages_step(online.kubernetes, online.mirror, online.minions[0])
    assert not any("certs.d" in f.path for f in online_step.files)


def test_nodes_run_the_pinned_containerd_and_runc_never_debians() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    create = steps.packages_step(plan.kubernetes, plan.mirror, plan.minions[0], CONTENT).create
    for binary in ("containerd", "containerd-shim-runc-v2", "ctr", "runc"):
        assert f"/bin/{binary} && chmod 0755" in create
    assert f'= "v{CONTAINERD_VERSION}" ]' in create and f'= "runc version {RUNC_VERSION}" ]' in create
    gateway = steps.gateway_packages_step(plan.nat64, plan.dns64, plan.kubernetes, plan.api_lb).create
    assert "containerd runc" not in create and " runc " not in gateway
    online = make_plan(load_stack_file("dev").cluster).minions[0]
    dev = make_plan(load_stack_file("dev").cluster)
    online_create = steps.packages_step(dev.kubernetes, dev.mirror, online).create
    tarball = f"containerd-{CONTAINERD_VERSION}-linux-amd64.tar.gz"
    assert f"/v{CONTAINERD_VERSION}/{tarball}.sha256sum" in online_create and "sha256sum -c" in online_create
    assert f"/v{RUNC_VERSION}/runc.amd64" in online_create
    assert "apt-get install -y -q $missing" in online_create and "containerd" not in node_install.DEBIAN_PACKAGES


def test_the_gateway_serves_a_read_only_registry_unpacked_once_per_archive() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    step = steps.mirror_step(plan.mirror, registry=True)
    files = {f.path: f.content for f in step.files}
    config = files[layout.REGISTRY_CONFIG_PATH]
    assert f'addr: "[{plan.gateway.address}]:5000"' in config and "readonly:\n      enabled: true" in config
    assert step.create.index("tar -C /var/lib/kubev6/registry -xf") < step.create.index("/etc/kubev6/mirror.sh up")
    assert f"curl -fsS -o /dev/null http://[{plan.gateway.address}]:5000/v2/" in step.create
    assert "registry serve /etc/kubev6/registry.yml" in files[layout.MIRROR_SCRIPT_PATH]
    assert "rm -rf /var/lib/kubev6/registry" in step.delete
    without = steps.mirror_step(plan.mirror)
    assert "registry" not in without.create.replace("restart_registry", "")


def test_the_config_version_follows_the_runtime() -> None:
    """2.2 knows no version 4 (it refuses the file); 2.3 warns when it migrates a version 3."""
    raw = load_stack_file("dev").cluster.model_dump(by_alias=True)
    for version, expected in (("2.2.4", 3), ("2.3.7", 4), ("2.4.2", 4)):
        raw["kubernetes"]["containerd"]["version"] = version
        plan = make_plan(ClusterConfig.model_validate(raw))
        assert f"\nversion = {expected}\n" in node_install.containerd_config(plan.kubeadm.kubernetes).content


@pytest.mark.parametrize(
    ("containerd", "runc", "fetches"),
    [
        (f"v{CONTAINERD_VERSION}", RUNC_VERSION, False),
        ("1.6.20~ds1", RUNC_VERSION, True),  # Debian's containerd: replaced
        (f"v{CONTAINERD_VERSION}", None, True),  # no runc yet
        (None, None, True),  # a fresh node
        (None, RUNC_VERSION, True),
    ],
)
def test_the_runtime_is_fetched_unless_both_pinned_binaries_are_there(
    tmp_path: Path, containerd: str | None, runc: str | None, fetches: bool
) -> None:
    """The guard run by a real shell against fake binaries (`! A && B` once fetched nothing when
    runc was missing, and a node ran Debian's containerd 1.6)."""
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    guard = node_install.runtime_current(plan.kubeadm.kubernetes.containerd).replace("/usr/local/bin", str(tmp_path))
    if containerd:
        (tmp_path / "containerd").write_text(
            f"#!/bin/sh\necho containerd github.com/containerd/containerd/v2 {containerd}\n"
        )
    if runc:
        (tmp_path / "runc").write_text(f"#!/bin/sh\necho 'runc version {runc}'\necho 'spec: 1.3.0'\n")
    for f in tmp_path.iterdir():
        f.chmod(0o755)
    done = subprocess.run(["sh", "-c", f"if ! {guard}; then echo fetch; fi"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (done.stdout.strip() == "fetch") is fetches


def test_a_supervised_containerd_is_the_pinned_binary_not_whatever_is_on_path() -> None:
    plan = make_plan(load_stack_file("lab-k8s").cluster)
    create = steps.packages_step(plan.kubernetes, plan.mirror, plan.minions[0], CONTENT).create
    assert "supervise.sh start containerd /usr/local/bin/containerd --config" in create


@pytest.mark.parametrize(
    ("config", "flags", "starts"),
    [
        (False, None, False),  # before kubeadm: it would read a config written meanwhile, without flags
        (False, 'KUBELET_KUBEADM_ARGS="--cgroup-root=/r"\n', False),  # init wrote the flags, not the config yet
        (True, None, False),  # the config written, the flags not yet
        (True, "", False),  # the flags file made but not yet written (seen on init)
        (True, 'KUBELET_KUBEADM_ARGS="--cgroup-root=/r"\n', True),
    ],
)
def test_the_kubelet_never_starts_without_kubeadms_flags(
    tmp_path: Path, config: bool, flags: str | None, starts: bool
) -> None:
    lib = tmp_path / "var-lib-kubelet"
    lib.mkdir()
    if config:
        (lib / "config.yaml").write_text("kind: KubeletConfiguration\n")
    if flags is not None:
        (lib / "kubeadm-flags.env").write_text(flags)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubelet").write_text('#!/bin/sh\necho "kubelet $*"\n')
    (bin_dir / "kubelet").chmod(0o755)
    script = node_install.kubelet_run_script().content.replace("/var/lib/kubelet", str(lib))
    script = script.replace("/etc/default/kubelet", str(tmp_path / "no-defaults"))
    done = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin"}
    )
    assert (done.returncode == 0) == starts, done
    if starts and flags:
        assert "--cgroup-root=/r" in done.stdout
