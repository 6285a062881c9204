"""Packages and runtime config of a Kubernetes node: containerd (SystemdCgroup), kubeadm,
kubelet and kubectl at the pinned version, the kubelet's IPv6 node IP."""

from __future__ import annotations

from config_schemas.versions import PAUSE_VERSION
from planning.plan import ClusterPlan, HostPlan
from rendering.files import RenderedFile

CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml"
KUBELET_DEFAULTS_PATH = "/etc/default/kubelet"
KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
SOURCES_PATH = "/etc/apt/sources.list.d/kubernetes.list"
# The sandbox image kubeadm of artifacts/versions.env expects (else it warns, and offline it is missing).
PAUSE_IMAGE_TAG = PAUSE_VERSION
DEBIAN_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "conntrack", "socat", "ethtool", "curl", "gpg")


def minor(plan: ClusterPlan) -> str:
    return ".".join(plan.config.kubernetes.version.split(".")[:2])


def package_base(plan: ClusterPlan) -> str:
    return f"{plan.config.kubernetes.package_repository}/v{minor(plan)}/deb/"


def containerd_config(plan: ClusterPlan) -> RenderedFile:
    repo = plan.config.kubernetes.image_repository
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return RenderedFile(
        CONTAINERD_CONFIG_PATH,
        f"""# kube-v6: containerd for kubeadm (systemd cgroups, CNI from /opt/cni/bin)
version = 2
[{cri}]
  sandbox_image = "{repo}/pause:{PAUSE_IMAGE_TAG}"
  [{cri}.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [{cri}.containerd.runtimes.runc.options]
      SystemdCgroup = true
  [{cri}.cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
""",
    )


def kubelet_defaults(plan: ClusterPlan, node: HostPlan) -> RenderedFile:
    return RenderedFile(KUBELET_DEFAULTS_PATH, f"KUBELET_EXTRA_ARGS=--node-ip={node.address}\n")


def apt_source(plan: ClusterPlan) -> RenderedFile:
    return RenderedFile(SOURCES_PATH, f"deb [signed-by={KEYRING}] {package_base(plan)} /\n")


def install_commands(plan: ClusterPlan, node: HostPlan) -> list[str]:
    """Idempotent: packages are installed only when the pinned kubeadm is missing."""
    version = plan.config.kubernetes.version
    base = package_base(plan)
    pkgs = " ".join(f"{p}={version}-*" for p in ("kubelet", "kubeadm", "kubectl"))
    return [
        "export DEBIAN_FRONTEND=noninteractive",
        f'if [ "$(kubeadm version -o short 2>/dev/null)" != "v{version}" ]; then',
        "  apt-get update -q",
        f"  apt-get install -y -q {' '.join(DEBIAN_PACKAGES)}",
        "  mkdir -p /etc/apt/keyrings",
        f"  curl -fsSL {base}Release.key | gpg --dearmor --yes -o {KEYRING}",
        "  apt-get update -q",
        f"  apt-get install -y -q --allow-change-held-packages {pkgs}",
        "  apt-mark hold kubelet kubeadm kubectl",
        "fi",
        # kubelet refuses to run with swap on.
        "swapoff -a",
        "sed -i '/\\sswap\\s/ s/^[^#]/#&/' /etc/fstab",
        "systemctl daemon-reload",
        "systemctl enable containerd kubelet",
        "systemctl restart containerd",
    ]


def install_files(plan: ClusterPlan, node: HostPlan) -> list[RenderedFile]:
    return [apt_source(plan), containerd_config(plan), kubelet_defaults(plan, node)]


def uninstall_commands() -> list[str]:
    return ["apt-mark unhold kubelet kubeadm kubectl", "apt-get purge -y -q kubelet kubeadm kubectl"]
