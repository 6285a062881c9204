"""kubeadm v1beta4 configs for IPv6 single-stack: init (the first master) and join (minions, and the
other masters' joins of the control plane)."""

from __future__ import annotations

import yaml

from planning.plan import HostPlan, KubeadmPlan
from rendering.files import RenderedFile
from rendering.layout import KUBEADM_INIT_PATH, KUBEADM_JOIN_PATH

KUBEADM_API = "kubeadm.k8s.io/v1beta4"
CRI_SOCKET = "unix:///run/containerd/containerd.sock"


def _args(**values: str) -> list[dict[str, str]]:
    """v1beta4 extraArgs are lists of {name, value}."""
    return [{"name": k.replace("_", "-"), "value": v} for k, v in values.items()]


def _registration(plan: KubeadmPlan, node: HostPlan) -> dict[str, object]:
    k8s = plan.kubernetes
    # Explicit IPv6 node IP: never let the kubelet pick an address (kubernetes#61319).
    kubelet_args = _args(node_ip=str(node.address))
    cgroup_root = plan.cgroup_root(node.name)
    if cgroup_root:
        kubelet_args += _args(cgroup_root=cgroup_root)
    registration: dict[str, object] = {"name": node.name, "criSocket": CRI_SOCKET, "kubeletExtraArgs": kubelet_args}
    if k8s.ignore_preflight_errors:
        registration["ignorePreflightErrors"] = list(k8s.ignore_preflight_errors)
    if node.role == "master" and k8s.schedule_on_master:
        registration["taints"] = []
    return registration


def _timeouts(plan: KubeadmPlan) -> dict[str, str]:
    t = plan.kubernetes.timeouts
    return {
        "controlPlaneComponentHealthCheck": t.control_plane_component_health_check,
        "kubeletHealthCheck": t.kubelet_health_check,
        "kubernetesAPICall": t.kubernetes_api_call,
        "discovery": t.discovery,
        "tlsBootstrap": t.tls_bootstrap,
    }


def init_documents(
    plan: KubeadmPlan, master: HostPlan, token: str, certificate_key: str = ""
) -> list[dict[str, object]]:
    """The init config of the first master. With `plan.upload_certs` (several masters can join) it
    holds the certificate key that encrypts the control plane's certificates kubeadm uploads."""
    k8s = plan.kubernetes
    init: dict[str, object] = {
        "apiVersion": KUBEADM_API,
        "kind": "InitConfiguration",
        "bootstrapTokens": [
            {
                "token": token,
                "ttl": k8s.token_ttl,
                "groups": ["system:bootstrappers:kubeadm:default-node-token"],
                "usages": ["signing", "authentication"],
            }
        ],
        "localAPIEndpoint": {"advertiseAddress": str(master.address), "bindPort": 6443},
        "nodeRegistration": _registration(plan, master),
        "timeouts": _timeouts(plan),
    }
    if plan.upload_certs:
        init["certificateKey"] = certificate_key
    cluster = {
        "apiVersion": KUBEADM_API,
        "kind": "ClusterConfiguration",
        "clusterName": k8s.cluster_name,
        "kubernetesVersion": f"v{k8s.version}",
        "controlPlaneEndpoint": plan.api_endpoint,
        "imageRepository": k8s.image_repository,
        "networking": {
            "serviceSubnet": str(plan.service_subnet),
            "podSubnet": str(plan.pod_supernet),
            "dnsDomain": plan.dns_domain,
        },
        "apiServer": {
            "certSANs": [str(master.address), master.name],
            "extraArgs": _args(bind_address="::"),
        },
        # Node /64s are static (CNI bridge + host-local), so the controller manager must not
        # allocate node CIDRs (that also lifts kubeadm's 16-bit pod/node mask rule).
        "controllerManager": {"extraArgs": _args(allocate_node_cidrs="false", bind_address="::")},
        "scheduler": {"extraArgs": _args(bind_address="::")},
    }
    kubelet: dict[str, object] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": k8s.kubelet.cgroup_driver,
        "address": "::",
        "healthzBindAddress": "::1",
        "clusterDNS": [str(plan.dns_service_ip)],
        "clusterDomain": plan.dns_domain,
    }
    if not k8s.kubelet.fail_cgroup_v1:
        kubelet["failCgroupV1"] = False
    if k8s.kubelet.max_pods is not None:
        kubelet["maxPods"] = k8s.kubelet.max_pods
    proxy: dict[str, object] = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "bindAddress": "::",
        "clusterCIDR": str(plan.pod_supernet),
        "metricsBindAddress": "[::1]:10249",
    }
    if k8s.kube_proxy.mode != "iptables":
        proxy["mode"] = k8s.kube_proxy.mode
    if k8s.kube_proxy.conntrack_max_per_core is not None:
        proxy["conntrack"] = {"maxPerCore": k8s.kube_proxy.conntrack_max_per_core}
    return [init, cluster, kubelet, proxy]


def join_document(
    plan: KubeadmPlan, node: HostPlan, token: str, ca_cert_hash: str, certificate_key: str | None = None
) -> dict[str, object]:
    """A minion's join; with `certificate_key`, a master's join of the control plane (its API server
    on its own address, its etcd member added to the stacked etcd, the certificates downloaded)."""
    join: dict[str, object] = {
        "apiVersion": KUBEADM_API,
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": plan.api_endpoint,
                "token": token,
                "caCertHashes": [ca_cert_hash],
            }
        },
        "nodeRegistration": _registration(plan, node),
        "timeouts": _timeouts(plan),
    }
    if certificate_key is not None:
        join["controlPlane"] = {
            "localAPIEndpoint": {"advertiseAddress": str(node.address), "bindPort": 6443},
            "certificateKey": certificate_key,
        }
    return join


def dump(documents: list[dict[str, object]]) -> str:
    # safe_dump quotes "[fd00::100]:6443" (a bracketed endpoint must be quoted, kubeadm#3101).
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)


def init_file(plan: KubeadmPlan, master: HostPlan, token: str, certificate_key: str = "") -> RenderedFile:
    return RenderedFile(KUBEADM_INIT_PATH, dump(init_documents(plan, master, token, certificate_key)), "0600")


def join_file(
    plan: KubeadmPlan, node: HostPlan, token: str, ca_cert_hash: str, certificate_key: str | None = None
) -> RenderedFile:
    return RenderedFile(
        KUBEADM_JOIN_PATH, dump([join_document(plan, node, token, ca_cert_hash, certificate_key)]), "0600"
    )
