"""A host's file layout: every well-known path the renderers write, read or remove on a machine.

One module, like kubeadm's constants.go: a renderer imports its paths from here and defines none,
so what a host holds, and what `pulumi destroy` must take away again, reads in one place. Plain
constants; it imports nothing. Names are unique across the layout (a renderer's `CONF_PATH` is
`HAPROXY_CONF_PATH` here).
"""

from __future__ import annotations

# --- kube-v6's own folders, on every machine ----------------------------------------------------
ETC_DIR = "/etc/kubev6"  # rendered configs and scripts
STATE_DIR = "/var/lib/kubev6"  # what the stack copies in: binaries, the mirror, the registry
RUN_DIR = "/run/kubev6"  # pidfiles, logs and status of the supervised daemons (gone at reboot)
LOG_DIR = "/var/log/kubev6"  # the supervised node daemons' logs
UNIT_DIR = "/etc/systemd/system"
# The project's own binaries, not /usr/local/bin: on the gateway nothing else installs binaries,
# and the namespace lab keeps /var/lib/kubev6 and /run/kubev6 private to every machine.
KUBEV6_BIN_DIR = f"{STATE_DIR}/bin"

# --- the network step (every machine) -----------------------------------------------------------
SYSCTL_PATH = "/etc/sysctl.d/90-kubev6.conf"
MODULES_PATH = "/etc/modules-load.d/kubev6.conf"
ROUTES_PATH = f"{ETC_DIR}/routes.sh"
ROUTES_UNIT_PATH = f"{UNIT_DIR}/kubev6-routes.service"
RESOLV_PATH = "/etc/resolv.conf"
HOSTS_PATH = "/etc/hosts"
SAVED_DIR = f"{ETC_DIR}/saved"  # what the network step replaced, as it was before the first `up`
MACHINE_ID_PATH = f"{ETC_DIR}/machine-id"  # the stack's token for an existing host

# --- the gateway: NAT64 and DNS64 ---------------------------------------------------------------
NAT64_SCRIPT_PATH = f"{ETC_DIR}/nat64.sh"
NAT64_NFT_PATH = f"{ETC_DIR}/nat64.nft"
NAT64_UNIT_PATH = f"{UNIT_DIR}/kubev6-nat64.service"
TAYGA_CONF_PATH = f"{ETC_DIR}/tayga.conf"
TAYGA_DATA_DIR = "/var/lib/tayga-kubev6"
TAYGA_PIDFILE = f"{RUN_DIR}/tayga.pid"
DNS64_SCRIPT_PATH = f"{ETC_DIR}/dns64.sh"
DNS64_UNIT_PATH = f"{UNIT_DIR}/kubev6-dns64.service"
DNS64_PIDFILE = f"{RUN_DIR}/dns64.pid"
DNS64_LOG_PATH = f"{RUN_DIR}/dns64.log"
UNBOUND_CONF_PATH = f"{ETC_DIR}/unbound.conf"
UNBOUND_PIDFILE = f"{RUN_DIR}/unbound.pid"
NAMED_CONF_PATH = f"{ETC_DIR}/named.conf"
NAMED_DIRECTORY = "/var/cache/bind"  # BIND9's working directory
NAMED_PIDFILE = f"{RUN_DIR}/named.pid"

# --- the gateway: the artifact mirror and its registry (kubernetes.artifacts: mirror) -----------
MIRROR_DIR = f"{STATE_DIR}/mirror"
MIRROR_SCRIPT_PATH = f"{ETC_DIR}/mirror.sh"
MIRROR_UNIT_PATH = f"{UNIT_DIR}/kubev6-mirror.service"
MIRROR_PIDFILE = f"{RUN_DIR}/mirror.pid"
MIRROR_REGISTRY_ARCHIVE = f"{MIRROR_DIR}/registry/registry.tar"
MIRROR_REGISTRY_BINARY = f"{MIRROR_DIR}/bin/registry"
REGISTRY_ROOT = f"{STATE_DIR}/registry"
REGISTRY_STAMP = f"{REGISTRY_ROOT}/.archive-sha256"  # which archive the storage was unpacked from
REGISTRY_CONFIG_PATH = f"{ETC_DIR}/registry.yml"
REGISTRY_UNIT_PATH = f"{UNIT_DIR}/kubev6-registry.service"
REGISTRY_PIDFILE = f"{RUN_DIR}/registry.pid"

# --- the gateway: HAProxy in front of the masters (controlPlaneEndpoint.mode: gateway-haproxy) --
HAPROXY_BINARY = "/usr/sbin/haproxy"  # Debian's
HAPROXY_CONF_PATH = f"{ETC_DIR}/haproxy.cfg"
HAPROXY_SCRIPT_PATH = f"{ETC_DIR}/haproxy.sh"
HAPROXY_UNIT_PATH = f"{UNIT_DIR}/kubev6-haproxy.service"
HAPROXY_PIDFILE = f"{RUN_DIR}/haproxy.pid"
HAPROXY_RUNNING_CONF = f"{RUN_DIR}/haproxy.running.cfg"  # the config the running HAProxy was started with
HAPROXY_LOG_PATH = f"{RUN_DIR}/haproxy.log"

# --- the BGP speaker (network.routing: bgp) and kube-proxy's IPVS probe --------------------------
BGP_CONFIG_PATH = f"{ETC_DIR}/bgp.json"
BGP_SCRIPT_PATH = f"{ETC_DIR}/bgp.sh"
BGP_UNIT_PATH = f"{UNIT_DIR}/kubev6-bgp.service"
BGP_STATUS_PATH = f"{RUN_DIR}/bgp-status.json"
BGP_PIDFILE = f"{RUN_DIR}/bgp.pid"
BGP_LOG_PATH = f"{RUN_DIR}/bgp.log"
IPVS_PROBE = "/proc/net/ip_vs"

# --- CNI (a node) ---------------------------------------------------------------------------------
CNI_ROOT = "/etc/cni"
CNI_CONFLIST_DIR = f"{CNI_ROOT}/net.d"
CNI_CONFLIST_PATH = f"{CNI_CONFLIST_DIR}/10-kubev6.conflist"
CNI_DEBIAN_PLUGIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
CNI_PLUGIN_DIR = "/opt/cni/bin"  # where containerd looks for them
CNI_STATE_DIR = "/var/lib/cni"  # the plugins' own state: host-local's leases, libcni's result cache

# --- the node runtime: containerd, runc, the kubelet, the packages ---------------------------------
MIRROR_BIN_DIR = "/usr/local/bin"  # a node's binaries from the mirror (or the releases online)
RUNC_PATH = f"{MIRROR_BIN_DIR}/runc"
CONTAINERD_PATH = f"{MIRROR_BIN_DIR}/containerd"
CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml"
CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d"  # one hosts.toml per mirrored registry
CONTAINERD_UNIT_PATH = f"{UNIT_DIR}/containerd.service"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
KUBELET_DEFAULTS_PATH = "/etc/default/kubelet"
KUBELET_RUN_PATH = f"{ETC_DIR}/kubelet.sh"
KUBELET_UNIT_PATH = f"{UNIT_DIR}/kubelet.service"
SUPERVISE_PATH = f"{ETC_DIR}/supervise.sh"  # the supervisor loop of machines without systemd
RUNTIME_FRESH = f"{ETC_DIR}/runtime-fresh"
NFT_TABLES_BEFORE = f"{ETC_DIR}/nft-tables-before"  # the nftables tables before the first `up`
APT_KEYRING_PATH = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
APT_SOURCES_PATH = "/etc/apt/sources.list.d/kubernetes.list"

# --- kubeadm and what it leaves on a node --------------------------------------------------------
KUBERNETES_DIR = "/etc/kubernetes"
ADMIN_CONF = f"{KUBERNETES_DIR}/admin.conf"
KUBELET_CONF = f"{KUBERNETES_DIR}/kubelet.conf"
CA_CERT = f"{KUBERNETES_DIR}/pki/ca.crt"
ETCD_PKI = f"{KUBERNETES_DIR}/pki/etcd"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBEADM_INIT_PATH = f"{ETC_DIR}/kubeadm-init.yaml"
KUBEADM_JOIN_PATH = f"{ETC_DIR}/kubeadm-join.yaml"
# The init config the control plane was last converged to (kubeadm init, or rendering/upgrade.py).
KUBEADM_APPLIED_PATH = f"{ETC_DIR}/kubeadm-applied.yaml"
KUBEADM_INIT_LOG = "/var/log/kubev6-init.log"
KUBEADM_JOIN_LOG = "/var/log/kubev6-join.log"
UPLOAD_CERTS_LOG = "/var/log/kubev6-upload-certs.log"
CONVERGE_LOG = "/var/log/kubev6-converge.log"
# The runtime's and the kubelet's state on a node, emptied on delete where the packages step found a
# fresh machine (RUNTIME_FRESH).
RUNTIME_STATE_DIRS = (
    KUBERNETES_DIR,
    "/var/lib/etcd",
    "/var/lib/containerd",
    "/run/containerd",
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
)
