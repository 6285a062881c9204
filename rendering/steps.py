"""The remote steps (one per host per concern) as create/delete shell scripts.

Components send exactly these scripts over SSH; the network lab runs the same scripts
inside namespaces. Every create script is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning.plan import ClusterPlan, HostPlan
from rendering import cni, gateway, host_network, kubeadm, mirror, node_install
from rendering.files import install_script, remove_script
from rendering.host_network import ROUTES_PATH, ROUTES_UNIT_PATH, SYSCTL_PATH
from rendering.packages import debian_packages
from rendering.systemd import systemd_or


@dataclass(frozen=True)
class Step:
    create: str
    delete: str


def _systemd_or(unit: str, direct: str) -> str:
    """Enable a unit where systemd runs; elsewhere (the namespace lab) act directly."""
    return systemd_or(f"systemctl daemon-reload; systemctl enable {unit}; systemctl restart {unit}", direct)


def _load_modules(names: list[str]) -> list[str]:
    # A module may be built in (no /lib/modules entry): the strict sysctl apply that
    # follows fails if something the node needs is really missing.
    return [
        f'modprobe -q {m} 2>/dev/null || [ -d /sys/module/{m} ] || echo "kube-v6: module {m} not loadable here" >&2'
        for m in names
    ]


# Sysctls kube-proxy (iptables mode) sets on every node.
KUBE_PROXY_SYSCTLS = ["net.ipv4.conf.all.route_localnet"]
# What the network step replaces, kept as it was before the first `up`, restored by its delete.
SAVED_DIR = "/etc/kubev6/saved"
_REPLACED = (host_network.RESOLV_PATH, host_network.HOSTS_PATH)


def _save_before_first_up(sysctl_keys: list[str]) -> list[str]:
    """Keep the sysctl values and files the step replaces, once: a re-run must not save its own values."""
    saved_sysctl = f"{SAVED_DIR}/sysctl.conf"
    reads = "; ".join(f'v="$(sysctl -n {k} 2>/dev/null)" && echo "{k} = $v"' for k in sysctl_keys)
    lines = [
        f"mkdir -p {SAVED_DIR}",
        f"[ -e {saved_sysctl} ] || {{ {{ {reads}; }} > {saved_sysctl}.new; mv {saved_sysctl}.new {saved_sysctl}; }}",
    ]
    for path in _REPLACED:
        saved = f"{SAVED_DIR}/{path.rsplit('/', 1)[1]}"
        lines.append(
            f"[ -e {saved} ] || [ -e {saved}.absent ] || "
            f"{{ if [ -e {path} ]; then cp -p {path} {saved}; else : > {saved}.absent; fi; }}"
        )
    return lines


def _restore_saved() -> list[str]:
    lines = [f"[ ! -f {SAVED_DIR}/sysctl.conf ] || sysctl -q -p {SAVED_DIR}/sysctl.conf"]
    for path in _REPLACED:
        saved = f"{SAVED_DIR}/{path.rsplit('/', 1)[1]}"
        # Written through, not moved: the file may be a bind mount (a namespace's resolv.conf).
        lines.append(f"if [ -f {saved} ]; then cat {saved} > {path}; elif [ -e {saved}.absent ]; then rm -f {path}; fi")
    return [*lines, f"rm -rf {SAVED_DIR}"]


def network_step(plan: ClusterPlan, host: HostPlan) -> Step:
    """Sysctls, modules, static routes (persisted), resolver and /etc/hosts; delete restores what was there."""
    files = [
        host_network.sysctl_file(host),
        host_network.modules_file(host, plan.nat64.engine),
        host_network.routes_script(host, plan.cluster_interface),
        host_network.routes_unit(),
        host_network.resolv_conf(plan.nameserver(host), plan.gateway.name),
        host_network.hosts_file(plan.hosts),
    ]
    then = [
        *_load_modules(host_network.modules(host, plan.nat64.engine)),
        f"sysctl -q -p {SYSCTL_PATH}",
        _systemd_or("kubev6-routes.service", f"{ROUTES_PATH} up"),
    ]
    delete = remove_script(
        [SYSCTL_PATH, host_network.MODULES_PATH, ROUTES_UNIT_PATH, ROUTES_PATH],
        first=["systemctl disable kubev6-routes.service 2>/dev/null", f"{ROUTES_PATH} down", *_restore_saved()],
        last=["rmdir /etc/kubev6 2>/dev/null"],
    )
    keys = list(host_network.sysctls(host))
    if host.role != "gateway" and plan.stages.kubeadm:
        keys += KUBE_PROXY_SYSCTLS  # kube-proxy changes them; the network step's delete restores them
    first = _save_before_first_up(keys)
    return Step(install_script(files, then, first=first), delete)


def packages_step(plan: ClusterPlan, node: HostPlan, content: node_install.MirrorContent | None = None) -> Step:
    """containerd, kubeadm/kubelet/kubectl and the runtime started; `content`: what the mirror serves."""
    k8s = plan.kubeadm.kubernetes
    files = node_install.install_files(k8s, node)
    delete = remove_script([f.path for f in files], first=node_install.uninstall_commands(k8s, content))
    return Step(install_script(files, node_install.install_commands(k8s, plan.mirror, content)), delete)


def mirror_step(plan: ClusterPlan) -> Step:
    """The gateway serves the artifacts (copied to mirror.MIRROR_DIR before this step runs)."""
    files = [mirror.mirror_script(plan.mirror), mirror.mirror_unit(plan.mirror)]
    create = install_script(
        files,
        [_systemd_or("kubev6-mirror.service", f"{mirror.MIRROR_SCRIPT_PATH} up"), mirror.wait_serving(plan.mirror)],
    )
    delete = remove_script(
        [f.path for f in files],
        first=["systemctl disable --now kubev6-mirror.service 2>/dev/null", f"{mirror.MIRROR_SCRIPT_PATH} down"],
        last=[f"rm -rf {mirror.MIRROR_DIR}", f"rmdir {mirror.MIRROR_DIR.rsplit('/', 1)[0]} 2>/dev/null"],
    )
    return Step(create, delete)


def gateway_packages_step(plan: ClusterPlan) -> Step:
    """The translator and resolver packages (Debian names) and nftables."""
    nat64 = {"jool": "jool-dkms jool-tools", "tayga": "tayga"}[plan.nat64.engine]
    dns64 = {"unbound": "unbound", "bind9": "bind9"}[plan.dns64.engine]
    mirror = plan.kubeadm.kubernetes.artifacts == "mirror"
    # Air-gapped, the mirror's server is python3.
    packages = ["nftables", *nat64.split(), dns64, *(["python3", "curl"] if mirror else [])]
    create = "\n".join(
        [
            "set -eu",
            "export DEBIAN_FRONTEND=noninteractive",
            *debian_packages(packages, air_gapped=mirror),
            # The project runs its own resolver instance (kubev6-dns64.service).
            f"systemctl disable --now {'unbound' if dns64 == 'unbound' else 'named'} 2>/dev/null || true",
            "",
        ]
    )
    return Step(create, "true\n")


def cni_step(plan: ClusterPlan, node: HostPlan) -> Step:
    files = [cni.conflist_file(node)]
    delete = remove_script(
        [cni.CONFLIST_PATH],
        first=cni.remove_network_commands(),
        last=[f"rmdir {cni.CONFLIST_DIR} /etc/cni 2>/dev/null", *cni.unlink_plugins_commands()],
    )
    return Step(install_script(files, cni.link_plugins_commands()), delete)


def nat64_step(plan: ClusterPlan) -> Step:
    files = [gateway.guard_ruleset(plan.nat64), gateway.nat64_script(plan.nat64), gateway.nat64_unit()]
    if plan.nat64.engine == "tayga":
        files.insert(0, gateway.tayga_conf(plan.nat64))
    create = install_script(files, [_systemd_or("kubev6-nat64.service", f"{gateway.NAT64_SCRIPT_PATH} up")])
    delete = remove_script(
        [f.path for f in files],
        first=["systemctl disable --now kubev6-nat64.service 2>/dev/null", f"{gateway.NAT64_SCRIPT_PATH} down"],
        # TAYGA's address map and the run dir (DNS64's delete runs first: it depends on the same network).
        last=[f"rm -rf {gateway.TAYGA_DATA_DIR}", f"rmdir {gateway.RUN_DIR} 2>/dev/null"],
    )
    return Step(create, delete)


def dns64_step(plan: ClusterPlan) -> Step:
    files = [gateway.dns64_conf(plan.dns64), gateway.dns64_script(plan.dns64), gateway.dns64_unit(plan.dns64.engine)]
    create = install_script(files, [_systemd_or("kubev6-dns64.service", f"{gateway.DNS64_SCRIPT_PATH} up")])
    delete = remove_script(
        [*(f.path for f in files), gateway.DNS64_LOG_PATH],
        first=["systemctl disable --now kubev6-dns64.service 2>/dev/null", f"{gateway.DNS64_SCRIPT_PATH} down"],
        last=[f"rmdir {gateway.RUN_DIR} 2>/dev/null"],
    )
    return Step(create, delete)


def kubeadm_init_step(plan: ClusterPlan, token: str) -> Step:
    init = kubeadm.init_file(plan.kubeadm, plan.master, token)
    create = install_script(
        [init],
        [
            # Already initialised: a second `pulumi up` or a replaced config does not re-run init.
            f"[ -f /etc/kubernetes/admin.conf ] || kubeadm init --config {init.path} >/var/log/kubev6-init.log 2>&1",
            "echo initialised",
        ],
    )
    return Step(create, KUBEADM_INIT_DELETE)


def kubeadm_join_step(plan: ClusterPlan, node: HostPlan, token: str, ca_cert_hash: str) -> Step:
    join = kubeadm.join_file(plan.kubeadm, node, token, ca_cert_hash)
    create = install_script(
        [join],
        [
            f"[ -f /etc/kubernetes/kubelet.conf ] || kubeadm join --config {join.path} >/var/log/kubev6-join.log 2>&1",
            "echo joined",
        ],
    )
    return Step(create, KUBEADM_JOIN_DELETE)


def _kube_proxy_cleanup() -> list[str]:
    """What kube-proxy and the kubelet leave in the firewall after `kubeadm reset`: nftables tables
    that did not exist before the first `up` (iptables-nft makes them) go; in tables that did, only
    the KUBE-* chains and the jumps to them go."""
    keep = "grep -v -e '^:KUBE-' -e '^-A KUBE-' -e ' -j KUBE-'"
    save = "$t-save -t $table"
    before = node_install.NFT_TABLES_BEFORE
    return [
        f"if [ -f {before} ] && command -v nft >/dev/null; then nft list tables | while read -r _ family name; do "
        f'grep -qx "table $family $name" {before} || nft delete table "$family" "$name"; done; fi',
        "for t in ip6tables iptables; do for table in filter nat mangle; do "
        f"if {save} 2>/dev/null | grep -q KUBE-; then {save} | {keep} | $t-restore -T $table; fi; done; done",
    ]


# `kubeadm reset` undoes init or join (the kubelet stopped first, or it recreates what reset
# removes); the delete scripts hold no secret.
_RESET = [
    f"PATH={node_install.MIRROR_BIN_DIR}:$PATH; export PATH",
    f"if [ -d /run/systemd/system ]; then systemctl stop kubelet; else {node_install.SUPERVISE_PATH} stop kubelet; fi",
    f"kubeadm reset -f --cri-socket {kubeadm.CRI_SOCKET} >/dev/null 2>&1",
    *_kube_proxy_cleanup(),
]
KUBEADM_INIT_DELETE = remove_script([kubeadm.INIT_PATH], first=_RESET)
KUBEADM_JOIN_DELETE = remove_script([kubeadm.JOIN_PATH], first=_RESET)

# Read back from the master after init (outputs are secrets).
CA_CERT_HASH_COMMAND = (
    "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der "
    "| sha256sum | sed 's/^\\([0-9a-f]*\\).*/sha256:\\1/'"
)
KUBECONFIG_COMMAND = "cat /etc/kubernetes/admin.conf"
