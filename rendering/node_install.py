"""Packages and runtime of a Kubernetes node: containerd, kubeadm, kubelet and kubectl at the
pinned version, the kubelet's IPv6 node IP, and the runtime started (systemd, or a supervisor
loop on machines without it).

Two sources (`kubernetes.artifacts`):
- online: Debian's containerd, and the kubeadm/kubelet/kubectl packages of pkgs.k8s.io;
- mirror (air-gapped): the binaries and image archives built by scripts/build-artifacts.sh,
  fetched over IPv6 from the gateway's mirror; images imported into containerd.
"""

from __future__ import annotations

from dataclasses import dataclass

from config_schemas.model import KubernetesConfig
from config_schemas.versions import PAUSE_VERSION
from planning.plan import HostPlan, MirrorPlan
from rendering import gateway
from rendering.files import RenderedFile
from rendering.packages import debian_packages
from rendering.systemd import systemd_or, unit_file

CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml"
KUBELET_DEFAULTS_PATH = "/etc/default/kubelet"
KUBELET_RUN_PATH = "/etc/kubev6/kubelet.sh"
SUPERVISE_PATH = "/etc/kubev6/supervise.sh"
KUBELET_UNIT_PATH = "/etc/systemd/system/kubelet.service"
KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
SOURCES_PATH = "/etc/apt/sources.list.d/kubernetes.list"
PAUSE_IMAGE_TAG = PAUSE_VERSION
DEBIAN_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "conntrack", "socat", "ethtool", "curl")
MIRROR_BINARIES = ("kubeadm", "kubelet", "kubectl")
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
MIRROR_BIN_DIR = "/usr/local/bin"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
RUN_DIR = gateway.RUN_DIR
RUNTIME_FRESH = "/etc/kubev6/runtime-fresh"
LOG_DIR = "/var/log/kubev6"  # the supervised daemons' logs
# The nftables tables before the first `up`: what kube-proxy adds is removed on delete.
NFT_TABLES_BEFORE = "/etc/kubev6/nft-tables-before"
RUNTIME_STATE_DIRS = (
    "/etc/kubernetes",
    "/var/lib/etcd",
    "/var/lib/containerd",
    "/run/containerd",
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
)


@dataclass(frozen=True)
class MirrorContent:
    """What the gateway's mirror serves: file names under bin/ and images/ (image archives)."""

    binaries: tuple[str, ...]
    images: tuple[str, ...]


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def package_base(k8s: KubernetesConfig) -> str:
    return f"{k8s.package_repository}/v{minor(k8s.version)}/deb/"


def containerd_config(k8s: KubernetesConfig) -> RenderedFile:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    systemd_cgroup = "true" if k8s.kubelet.cgroup_driver == "systemd" else "false"
    restrict = "\n  restrict_oom_score_adj = true" if k8s.containerd.restrict_oom_score_adj else ""
    return RenderedFile(
        CONTAINERD_CONFIG_PATH,
        f"""# kube-v6: containerd for kubeadm ({k8s.kubelet.cgroup_driver} cgroups, CNI from /opt/cni/bin)
version = 2
[{cri}]
  sandbox_image = "{k8s.image_repository}/pause:{PAUSE_IMAGE_TAG}"{restrict}
  [{cri}.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [{cri}.containerd.runtimes.runc.options]
      SystemdCgroup = {systemd_cgroup}
  [{cri}.cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
""",
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
if [ -f /var/lib/kubelet/config.yaml ] && [ ! -f /var/lib/kubelet/kubeadm-flags.env ]; then exit 1; fi
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
    return RenderedFile(
        SUPERVISE_PATH,
        f"""#!/bin/sh
# kube-v6: `supervise.sh start NAME CMD...` restarts CMD whenever it exits, as systemd's
# Restart=always would; `supervise.sh stop NAME` stops the loop and CMD (its process group).
set -eu
action=$1 name=$2
shift 2
pidfile={RUN_DIR}/$name.pid
running() {{ [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }}
case $action in
  start)
    running && exit 0
    mkdir -p {RUN_DIR} {LOG_DIR}
    PATH={MIRROR_BIN_DIR}:/etc/kubev6:$PATH setsid sh -c 'while :; do "$@"; sleep 2; done' "$name" "$@" \\
      >>{LOG_DIR}/$name.log 2>&1 </dev/null &
    echo $! > "$pidfile"
    ;;
  stop)
    if running; then
      pgid=$(cat "$pidfile")
      kill -TERM "-$pgid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "-$pgid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "-$pgid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ;;
  *) echo "usage: $0 start|stop NAME [CMD...]" >&2; exit 2 ;;
esac
""",
        "0755",
    )


def kubelet_unit() -> RenderedFile:
    """Mirror mode has no Debian package to ship the kubelet unit: the project's runs kubelet.sh."""
    return unit_file(
        KUBELET_UNIT_PATH,
        "kubelet (kube-v6, as kubeadm's drop-in)",
        {"ExecStart": KUBELET_RUN_PATH, "Restart": "always", "RestartSec": "2", "StartLimitIntervalSec": "0"},
        after="containerd.service",
    )


def apt_source(k8s: KubernetesConfig) -> RenderedFile:
    return RenderedFile(SOURCES_PATH, f"deb [signed-by={KEYRING}] {package_base(k8s)} /\n")


def _online_kubernetes(k8s: KubernetesConfig) -> list[str]:
    version = k8s.version
    pkgs = " ".join(f"{p}={version}-*" for p in MIRROR_BINARIES)
    return [
        f'if [ "$(kubeadm version -o short 2>/dev/null)" != "v{version}" ]; then',
        "  mkdir -p /etc/apt/keyrings",
        f"  curl -fsSL {package_base(k8s)}Release.key | gpg --dearmor --yes -o {KEYRING}",
        "  apt-get update -q",
        f"  apt-get install -y -q --allow-change-held-packages {pkgs}",
        "  apt-mark hold kubelet kubeadm kubectl",
        "fi",
    ]


def _mirror_kubernetes(version: str, url: str, content: MirrorContent) -> list[str]:
    fetch = [
        f"  curl -fsS --retry 5 --retry-connrefused -o {MIRROR_BIN_DIR}/{b}.part {url}/bin/{b} && "
        f"chmod 0755 {MIRROR_BIN_DIR}/{b}.part && mv {MIRROR_BIN_DIR}/{b}.part {MIRROR_BIN_DIR}/{b}"
        for b in content.binaries
    ]
    return [
        f"mkdir -p {MIRROR_BIN_DIR}",
        f'if [ "$({MIRROR_BIN_DIR}/kubeadm version -o short 2>/dev/null)" != "v{version}" ]; then',
        *fetch,
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


def install_commands(k8s: KubernetesConfig, source: MirrorPlan, content: MirrorContent | None = None) -> list[str]:
    """Idempotent: binaries are fetched only when the pinned kubeadm is missing; `source`: the
    gateway's mirror, used with kubernetes.artifacts: mirror."""
    mirror = k8s.artifacts == "mirror"
    if mirror and content is None:
        raise ValueError("kubernetes.artifacts is mirror: the mirror's content is needed")
    packages = debian_packages(DEBIAN_PACKAGES, air_gapped=mirror, extra_online="gpg")
    lines = ["export DEBIAN_FRONTEND=noninteractive", *packages]
    # A runtime that never ran before (no containerd metadata yet): its state is ours to remove on delete.
    lines += [
        f"[ -e {RUNTIME_FRESH} ] || [ -e /var/lib/containerd/io.containerd.metadata.v1.bolt ] || "
        f"{{ mkdir -p /etc/kubev6 && touch {RUNTIME_FRESH}; }}",
        f"[ -e {NFT_TABLES_BEFORE} ] || ! command -v nft >/dev/null || nft list tables > {NFT_TABLES_BEFORE}",
    ]
    lines += _mirror_kubernetes(k8s.version, source.url, content) if mirror and content else _online_kubernetes(k8s)
    lines += [
        # kubelet refuses to run with swap on; touch swap and fstab only where there is any.
        'if [ -n "$(tail -n +2 /proc/swaps)" ]; then swapoff -a; fi',
        "if grep -qE '^[^#].*\\sswap\\s' /etc/fstab 2>/dev/null; then sed -i '/\\sswap\\s/ s/^[^#]/#&/' /etc/fstab; fi",
        systemd_or(
            "systemctl daemon-reload && systemctl enable containerd && systemctl restart containerd",
            f"{SUPERVISE_PATH} start containerd containerd --config {CONTAINERD_CONFIG_PATH}",
        ),
    ]
    if mirror and content:
        lines += _import_images(source.url, content)
    direct = f"{SUPERVISE_PATH} start kubelet kubelet.sh"
    lines.append(systemd_or("systemctl enable kubelet && systemctl restart kubelet", direct))
    return lines


def install_files(k8s: KubernetesConfig, node: HostPlan) -> list[RenderedFile]:
    files = [containerd_config(k8s), kubelet_defaults(node), kubelet_run_script(), supervise_script()]
    if k8s.artifacts == "mirror":
        files.append(kubelet_unit())
    else:
        files.insert(0, apt_source(k8s))
    return files


def uninstall_commands(k8s: KubernetesConfig, content: MirrorContent | None = None) -> list[str]:
    """Stop what the step started, remove what it installed (the machine's Debian packages stay)."""
    mirror = k8s.artifacts == "mirror" and content is not None
    stop = [systemd_or("systemctl disable --now kubelet", f"{SUPERVISE_PATH} stop kubelet")]
    if mirror:
        # The imported images, while containerd still runs; then the binaries.
        stop.append("ctr -n k8s.io images ls -q | grep -v '^sha256:' | xargs -r ctr -n k8s.io images rm >/dev/null")
    stop.append(systemd_or("systemctl restart containerd", f"{SUPERVISE_PATH} stop containerd"))
    if mirror and content is not None:
        stop += [f"rm -f {MIRROR_BIN_DIR}/{b}" for b in content.binaries]
    else:
        stop += ["apt-mark unhold kubelet kubeadm kubectl", "apt-get purge -y -q kubelet kubeadm kubectl"]
    return [
        *stop,
        # The runtime's and kubelet's state, where this step started them on a fresh machine.
        f"if [ -e {RUNTIME_FRESH} ]; then rm -rf {' '.join(f'{d}/*' for d in RUNTIME_STATE_DIRS)}; fi",
        f"rm -f {RUNTIME_FRESH} {NFT_TABLES_BEFORE} {LOG_DIR}/containerd.log {LOG_DIR}/kubelet.log",
        f"rmdir {LOG_DIR} 2>/dev/null",
    ]
