"""Packages and runtime of a Kubernetes node: containerd 2 with runc, kubeadm, kubelet and
kubectl at the pinned versions, the kubelet's IPv6 node IP, and the runtime started (systemd, or a
supervisor loop on machines without it).

Two sources (`kubernetes.artifacts`):
- online: containerd's and runc's release binaries from GitHub (checked against their published
  SHA-256 sums), and the kubeadm/kubelet/kubectl packages of pkgs.k8s.io;
- mirror (air-gapped): the binaries and image archives built by scripts/build-artifacts.sh,
  fetched over IPv6 from the gateway's mirror; images imported into containerd, and the gateway's
  registry as containerd's mirror of registry.k8s.io and docker.io (pulls work too).
"""

from __future__ import annotations

from dataclasses import dataclass

from config_schemas.versions import PAUSE_VERSION
from planning.plan import HostPlan, MirrorPlan
from planning.settings import ContainerdPlan, KubernetesPlan
from rendering import cni, daemons
from rendering.files import RenderedFile
from rendering.layout import (
    APT_KEYRING_PATH,
    APT_SOURCES_PATH,
    CNI_CONFLIST_DIR,
    CNI_PLUGIN_DIR,
    CONTAINERD_CERTS_DIR,
    CONTAINERD_CONFIG_PATH,
    CONTAINERD_SOCKET,
    CONTAINERD_UNIT_PATH,
    ETC_DIR,
    KUBELET_CONF,
    KUBELET_DEFAULTS_PATH,
    KUBELET_RUN_PATH,
    KUBELET_UNIT_PATH,
    LOG_DIR,
    MIRROR_BIN_DIR,
    NFT_TABLES_BEFORE,
    RUN_DIR,
    RUNC_PATH,
    RUNTIME_FRESH,
    RUNTIME_STATE_DIRS,
    SUPERVISE_PATH,
)
from rendering.packages import debian_packages
from rendering.systemd import systemd_or, unit_file

PAUSE_IMAGE_TAG = PAUSE_VERSION
DEBIAN_PACKAGES = ("containernetworking-plugins", "conntrack", "socat", "ethtool", "curl")
KUBERNETES_BINARIES = ("kubeadm", "kubelet", "kubectl")
RUNTIME_BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr", "runc")
MIRROR_BINARIES = (*KUBERNETES_BINARIES, *RUNTIME_BINARIES)
# The image archives scripts/build-artifacts.sh writes into images/ (the keys of its IMAGE_REFS):
# kubeadm's own list, then the test workloads' images. A unit test keeps the two in step.
MIRROR_IMAGES = tuple(
    f"{name}.tar"
    for name in (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "etcd",
        "coredns",
        "pause",
        "agnhost",
        "busybox",
    )
)
REGISTRY_BINARY = "registry"  # the gateway's registry, served from the mirror's bin/ (not a node binary)
# The registries whose images the gateway's registry holds, and the upstream each stands in for.
MIRRORED_REGISTRIES = {"registry.k8s.io": "https://registry.k8s.io", "docker.io": "https://registry-1.docker.io"}
CONTAINERD_RELEASES = "https://github.com/containerd/containerd/releases/download"
RUNC_RELEASES = "https://github.com/opencontainers/runc/releases/download"
# The nftables tables before the first `up`: what kube-proxy adds is removed on delete.


@dataclass(frozen=True)
class MirrorContent:
    """What the gateway's mirror serves: file names under bin/ and images/ (image archives)."""

    binaries: tuple[str, ...]
    images: tuple[str, ...]
    registry: str | None = None  # the registry's storage as one archive under registry/, if built


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def package_base(k8s: KubernetesPlan) -> str:
    return f"{k8s.package_repository}/v{minor(k8s.version)}/deb/"


def containerd_config_version(runtime: ContainerdPlan) -> int:
    """containerd 2.0-2.2 read config version 3; 2.3 added version 4, which only moves the server
    addresses (not set here) and warns when it migrates a version 3 file: the runtime's own version."""
    major, minor = (int(p) for p in runtime.version.split(".")[:2])
    return 4 if (major, minor) >= (2, 3) else 3


def containerd_config(k8s: KubernetesPlan) -> RenderedFile:
    """containerd 2's CRI plugins (`io.containerd.cri.v1.*`), the same in config versions 3 and 4."""
    images = 'plugins."io.containerd.cri.v1.images"'
    runtime = 'plugins."io.containerd.cri.v1.runtime"'
    systemd_cgroup = "true" if k8s.kubelet.cgroup_driver == "systemd" else "false"
    restrict = "\n  restrict_oom_score_adj = true" if k8s.containerd.restrict_oom_score_adj else ""
    return RenderedFile(
        CONTAINERD_CONFIG_PATH,
        f"""# kube-v6: containerd {k8s.containerd.version} for kubeadm ({k8s.kubelet.cgroup_driver} cgroups, runc \
{k8s.containerd.runc_version}, CNI from /opt/cni/bin)
version = {containerd_config_version(k8s.containerd)}
[{images}]
  [{images}.pinned_images]
    sandbox = "{k8s.image_repository}/pause:{PAUSE_IMAGE_TAG}"
  [{images}.registry]
    config_path = "{CONTAINERD_CERTS_DIR}"
[{runtime}]{restrict}
  [{runtime}.containerd]
    default_runtime_name = "runc"
    [{runtime}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{runtime}.containerd.runtimes.runc.options]
        BinaryName = "{RUNC_PATH}"
        SystemdCgroup = {systemd_cgroup}
  [{runtime}.cni]
    bin_dirs = ["{CNI_PLUGIN_DIR}"]
    conf_dir = "{CNI_CONFLIST_DIR}"
""",
    )


def registry_hosts(source: MirrorPlan) -> list[RenderedFile]:
    """containerd pulls registry.k8s.io and docker.io images from the gateway's registry, which holds
    each under a path named after the registry it stands in for (`override_path`)."""
    return [
        RenderedFile(
            f"{CONTAINERD_CERTS_DIR}/{name}/hosts.toml",
            f"""# kube-v6: {name} through the gateway's registry (air-gapped mirror)
server = "{upstream}"

[host."{source.registry_url}/v2/{name}"]
  capabilities = ["pull", "resolve"]
  override_path = true
""",
        )
        for name, upstream in MIRRORED_REGISTRIES.items()
    ]


def containerd_unit() -> RenderedFile:
    """containerd's own unit (its repository's containerd.service), for the binaries in /usr/local/bin."""
    return unit_file(
        CONTAINERD_UNIT_PATH,
        "containerd container runtime (kube-v6)",
        {
            "ExecStartPre": "-/sbin/modprobe overlay",
            "ExecStart": f"{MIRROR_BIN_DIR}/containerd --config {CONTAINERD_CONFIG_PATH}",
            "Type": "notify",
            "Delegate": "yes",
            "KillMode": "process",
            "Restart": "always",
            "RestartSec": "5",
            "LimitNPROC": "infinity",
            "LimitCORE": "infinity",
            "TasksMax": "infinity",
            "OOMScoreAdjust": "-999",
        },
        after="network.target local-fs.target",
    )


def kubelet_defaults(node: HostPlan) -> RenderedFile:
    return RenderedFile(KUBELET_DEFAULTS_PATH, f"KUBELET_EXTRA_ARGS=--node-ip={node.address}\n")


def kubelet_run_script() -> RenderedFile:
    """Runs the kubelet exactly as kubeadm's systemd drop-in (10-kubeadm.conf) does."""
    return RenderedFile(
        KUBELET_RUN_PATH,
        """#!/bin/sh
# kube-v6: the kubelet as kubeadm's 10-kubeadm.conf runs it (flags from kubeadm and /etc/default).
KUBELET_KUBEADM_ARGS=""
KUBELET_EXTRA_ARGS=""
# kubeadm writes config.yaml and kubeadm-flags.env, then restarts the kubelet through systemd. A
# supervisor loop restarts it on its own: never start between the two writes (join writes the config
# first), or the kubelet runs without kubeadm's flags (seen: a node's pods outside its cgroup root).
# Nor before either is written: a kubelet started then reads config.yaml some 20 ms later, when it
# may be there, but never the flags (seen: started 10 ms before kubeadm-flags.env was written).
# Until then it waits as kubeadm's kubelet does, in a crashloop.
if [ ! -f /var/lib/kubelet/config.yaml ] || ! grep -qs '^KUBELET_KUBEADM_ARGS=".*"$' /var/lib/kubelet/kubeadm-flags.env
then exit 1; fi
[ ! -f /var/lib/kubelet/kubeadm-flags.env ] || . /var/lib/kubelet/kubeadm-flags.env
[ ! -f /etc/default/kubelet ] || . /etc/default/kubelet
exec kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \\
  --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml \\
  $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
""",
        "0755",
    )


def supervise_script() -> RenderedFile:
    """Without systemd: keep a daemon running (Restart=always), one instance per name, with a pidfile."""
    pid = '"$pidfile"'
    start = [
        "running && exit 0",
        f"mkdir -p {RUN_DIR} {LOG_DIR}",
        f"""PATH={MIRROR_BIN_DIR}:{ETC_DIR}:$PATH setsid sh -c 'while :; do "$@"; sleep 2; done' "$name" "$@" \\""",
        f"  >>{LOG_DIR}/$name.log 2>&1 </dev/null &",
        f"echo $! > {pid}",
    ]
    return daemons.daemon_script(
        SUPERVISE_PATH,
        [
            "kube-v6: `supervise.sh start NAME CMD...` restarts CMD whenever it exits, as systemd's",
            "Restart=always would; `supervise.sh stop NAME` stops the loop and CMD (its process group).",
        ],
        [("start", start), ("stop", daemons.stop_group(pid))],
        preamble=["action=$1 name=$2", "shift 2", f"pidfile={RUN_DIR}/$name.pid", daemons.running_function(pid)],
        selector="$action",
        usage="start|stop NAME [CMD...]",
    )


def kubelet_unit() -> RenderedFile:
    """Mirror mode has no Debian package to ship the kubelet unit: the project's runs kubelet.sh."""
    return unit_file(
        KUBELET_UNIT_PATH,
        "kubelet (kube-v6, as kubeadm's drop-in)",
        {"ExecStart": KUBELET_RUN_PATH, "Restart": "always", "RestartSec": "2", "StartLimitIntervalSec": "0"},
        after="containerd.service",
    )


def apt_source(k8s: KubernetesPlan) -> RenderedFile:
    return RenderedFile(APT_SOURCES_PATH, f"deb [signed-by={APT_KEYRING_PATH}] {package_base(k8s)} /\n")


def _online_kubernetes(k8s: KubernetesPlan) -> list[str]:
    version = k8s.version
    pkgs = " ".join(f"{p}={version}-*" for p in MIRROR_BINARIES)
    return [
        f'if [ "$(kubeadm version -o short 2>/dev/null)" != "v{version}" ]; then',
        "  mkdir -p /etc/apt/keyrings",
        f"  curl -fsSL {package_base(k8s)}Release.key | gpg --dearmor --yes -o {APT_KEYRING_PATH}",
        "  apt-get update -q",
        f"  apt-get install -y -q --allow-change-held-packages {pkgs}",
        "  apt-mark hold kubelet kubeadm kubectl",
        "fi",
    ]


def runtime_current(runtime: ContainerdPlan) -> str:
    """True (exit 0) when /usr/local/bin holds exactly the pinned containerd and runc; one compound
    command, so that `!` negates all of it."""
    return (
        f'{{ [ "$({MIRROR_BIN_DIR}/containerd --version 2>/dev/null | cut -d" " -f3)" = "v{runtime.version}" ] && '
        f'[ "$({RUNC_PATH} --version 2>/dev/null | head -1)" = "runc version {runtime.runc_version}" ]; }}'
    )


def _fetch(url: str, binary: str) -> str:
    dest = f"{MIRROR_BIN_DIR}/{binary}"
    return (
        f"  curl -fsS --retry 5 --retry-connrefused -o {dest}.part {url}/bin/{binary} && "
        f"chmod 0755 {dest}.part && mv {dest}.part {dest}"
    )


def _mirror_kubernetes(k8s: KubernetesPlan, url: str, content: MirrorContent) -> list[str]:
    kube = [_fetch(url, b) for b in content.binaries if b in KUBERNETES_BINARIES]
    runtime = [_fetch(url, b) for b in content.binaries if b in RUNTIME_BINARIES]
    return [
        f"mkdir -p {MIRROR_BIN_DIR}",
        f'if [ "$({MIRROR_BIN_DIR}/kubeadm version -o short 2>/dev/null)" != "v{k8s.version}" ]; then',
        *kube,
        "fi",
        f"if ! {runtime_current(k8s.containerd)}; then",
        *runtime,
        "  runtime_changed=1",
        "fi",
    ]


def _online_runtime(runtime: ContainerdPlan) -> list[str]:
    """containerd's and runc's release binaries, each checked against the sum published beside it."""
    tarball = f"containerd-{runtime.version}-linux-amd64.tar.gz"
    base = f"{CONTAINERD_RELEASES}/v{runtime.version}"
    runc = f"{RUNC_RELEASES}/v{runtime.runc_version}"
    return [
        f"mkdir -p {MIRROR_BIN_DIR}",
        f"if ! {runtime_current(runtime)}; then",
        "  tmp=$(mktemp -d)",
        f"  curl -fsSL --retry 5 -o $tmp/{tarball} {base}/{tarball}",
        f"  curl -fsSL --retry 5 -o $tmp/{tarball}.sha256sum {base}/{tarball}.sha256sum",
        f"  curl -fsSL --retry 5 -o $tmp/runc.amd64 {runc}/runc.amd64",
        f"  curl -fsSL --retry 5 -o $tmp/runc.sha256sum {runc}/runc.sha256sum",
        f"  (cd $tmp && sha256sum -c {tarball}.sha256sum && grep ' runc.amd64$' runc.sha256sum | sha256sum -c)",
        f"  tar -C $tmp -xzf $tmp/{tarball} bin/containerd bin/containerd-shim-runc-v2 bin/ctr",
        f"  install -m 0755 $tmp/bin/containerd $tmp/bin/containerd-shim-runc-v2 $tmp/bin/ctr {MIRROR_BIN_DIR}/",
        f"  install -m 0755 $tmp/runc.amd64 {RUNC_PATH}",
        '  rm -rf "$tmp"',
        "  runtime_changed=1",
        "fi",
    ]


def _import_images(url: str, content: MirrorContent) -> list[str]:
    return [
        f"for i in $(seq 100); do [ -S {CONTAINERD_SOCKET} ] && ctr version >/dev/null 2>&1 && break; sleep 0.2; done",
        *(
            f"curl -fsS --retry 5 {url}/images/{i} | ctr -n k8s.io images import --platform linux/amd64 - >/dev/null"
            for i in content.images
        ),
    ]


def install_commands(k8s: KubernetesPlan, source: MirrorPlan, content: MirrorContent | None = None) -> list[str]:
    """Idempotent: binaries are fetched only when the pinned kubeadm is missing; `source`: the
    gateway's mirror, used with kubernetes.artifacts: mirror."""
    mirror = k8s.artifacts == "mirror"
    if mirror and content is None:
        raise ValueError("kubernetes.artifacts is mirror: the mirror's content is needed")
    packages = debian_packages(DEBIAN_PACKAGES, air_gapped=mirror, extra_online="gpg")
    lines = ["export DEBIAN_FRONTEND=noninteractive", "runtime_changed=", *packages]
    # A runtime that never ran before (no containerd metadata yet): its state is ours to remove on delete.
    lines += [
        f"[ -e {RUNTIME_FRESH} ] || [ -e /var/lib/containerd/io.containerd.metadata.v1.bolt ] || "
        f"{{ mkdir -p {ETC_DIR} && touch {RUNTIME_FRESH}; }}",
        f"[ -e {NFT_TABLES_BEFORE} ] || ! command -v nft >/dev/null || nft list tables > {NFT_TABLES_BEFORE}",
    ]
    if mirror and content:
        lines += _mirror_kubernetes(k8s, source.url, content)
    else:
        lines += [*_online_runtime(k8s.containerd), *_online_kubernetes(k8s)]
    lines += [
        # kubelet refuses to run with swap on; touch swap and fstab only where there is any.
        'if [ -n "$(tail -n +2 /proc/swaps)" ]; then swapoff -a; fi',
        "if grep -qE '^[^#].*\\sswap\\s' /etc/fstab 2>/dev/null; then sed -i '/\\sswap\\s/ s/^[^#]/#&/' /etc/fstab; fi",
        # A supervised containerd keeps running its old binary unless stopped first.
        systemd_or(
            "systemctl daemon-reload && systemctl enable containerd && systemctl restart containerd",
            f'{{ [ -z "$runtime_changed" ] || {SUPERVISE_PATH} stop containerd; }} && '
            f"{SUPERVISE_PATH} start containerd {MIRROR_BIN_DIR}/containerd --config {CONTAINERD_CONFIG_PATH}",
        ),
    ]
    if mirror and content:
        lines += _import_images(source.url, content)
    direct = f"{SUPERVISE_PATH} start kubelet kubelet.sh"
    # A joined node's kubelet is restarted by its rollout (rendering/upgrade.py), in kubeadm's order:
    # new binaries in place must not start a kubelet newer than the control plane.
    joined = KUBELET_CONF
    lines.append(systemd_or(f"systemctl enable kubelet && {{ [ -f {joined} ] || systemctl restart kubelet; }}", direct))
    return lines


def install_files(k8s: KubernetesPlan, node: HostPlan, source: MirrorPlan | None = None) -> list[RenderedFile]:
    """`source`: the gateway's mirror, whose registry containerd pulls through (artifacts: mirror)."""
    files = [containerd_config(k8s), containerd_unit(), kubelet_defaults(node)]
    files += [kubelet_run_script(), supervise_script()]
    if k8s.artifacts == "mirror":
        files.append(kubelet_unit())
        if source is not None:
            files += registry_hosts(source)
    else:
        files.insert(0, apt_source(k8s))
    return files


def uninstall_commands(k8s: KubernetesPlan, content: MirrorContent | None = None) -> list[str]:
    """Stop what the step started, remove what it installed (the machine's Debian packages stay)."""
    mirror = k8s.artifacts == "mirror" and content is not None
    stop = [systemd_or("systemctl disable --now kubelet", f"{SUPERVISE_PATH} stop kubelet")]
    if mirror:
        # The imported images, while containerd still runs; then the binaries.
        stop.append("ctr -n k8s.io images ls -q | grep -v '^sha256:' | xargs -r ctr -n k8s.io images rm >/dev/null")
    stop.append(systemd_or("systemctl disable --now containerd", f"{SUPERVISE_PATH} stop containerd"))
    if mirror and content is not None:
        stop += [f"rm -f {MIRROR_BIN_DIR}/{b}" for b in content.binaries]
    else:
        stop += ["apt-mark unhold kubelet kubeadm kubectl", "apt-get purge -y -q kubelet kubeadm kubectl"]
        stop += [f"rm -f {' '.join(f'{MIRROR_BIN_DIR}/{b}' for b in RUNTIME_BINARIES)}"]
    return [
        *stop,
        # The runtime's and kubelet's state, where this step started them on a fresh machine.
        f"if [ -e {RUNTIME_FRESH} ]; then rm -rf {' '.join(f'{d}/*' for d in RUNTIME_STATE_DIRS)}; fi",
        f"rm -f {RUNTIME_FRESH} {NFT_TABLES_BEFORE} {LOG_DIR}/containerd.log {LOG_DIR}/kubelet.log",
        f"rmdir {LOG_DIR} 2>/dev/null",
        cni.remove_conf_dirs_command(),  # containerd may have made them (and is gone now)
    ]
