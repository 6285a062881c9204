"""The remote steps (one per host per concern): files to write and the commands around them.

A `Step` is a structured value; its `create` and `delete` properties are the one shell script
each that components send over SSH (`remote.Command`). The namespace lab (`lab.node_config`)
runs the very same `create` text inside each host's namespace for the steps `host_steps` names,
and their `delete` texts in reverse order when it goes down. Every create script is idempotent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config_schemas.derive import api_endpoint
from config_schemas.strings import duration_seconds
from planning.plan import ApiLoadBalancerPlan, ClusterPlan, Dns64Plan, HostPlan, KubeadmPlan, MirrorPlan, Nat64Plan
from planning.settings import KubernetesPlan
from rendering import cni, gateway, haproxy, host_network, layout, node_install, upgrade

# Aliased: the builders' parameters are named as the plan's fields (`mirror`, `kubeadm`).
from rendering import kubeadm as kubeadm_render
from rendering import mirror as mirror_render
from rendering.files import RenderedFile, install_script, remove_script
from rendering.packages import debian_packages
from rendering.systemd import systemd_or


@dataclass(frozen=True)
class Step:
    """One remote step. `create`: `prepare`, write `files`, `activate`; `delete`: `deactivate`,
    remove `removes`, `cleanup` (each command of `delete` may fail: the thing may be gone)."""

    files: tuple[RenderedFile, ...] = ()
    prepare: tuple[str, ...] = ()  # before the files are written
    activate: tuple[str, ...] = ()  # after
    deactivate: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    cleanup: tuple[str, ...] = ()
    # Directories outside /etc that hold this machine's state and that the step's scripts write
    # (the namespace lab makes exactly these private per host). The Kubernetes steps (packages,
    # init/join) write a whole machine's runtime state: lab.k8s_machine lists that.
    state_dirs: tuple[str, ...] = ()

    @property
    def create(self) -> str:
        return install_script(self.files, self.activate, first=self.prepare)

    @property
    def delete(self) -> str:
        return remove_script(self.removes, first=self.deactivate, last=self.cleanup)

    @property
    def undoes_anything(self) -> bool:
        """False for an install-only step (e.g. Debian packages that stay): it needs no delete at all."""
        return bool(self.deactivate or self.removes or self.cleanup)


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
_REPLACED = (layout.RESOLV_PATH, layout.HOSTS_PATH)


def _save_before_first_up(sysctl_keys: list[str]) -> list[str]:
    """Keep the sysctl values and files the step replaces, once: a re-run must not save its own values."""
    saved_sysctl = f"{layout.SAVED_DIR}/sysctl.conf"
    reads = "; ".join(f'v="$(sysctl -n {k} 2>/dev/null)" && echo "{k} = $v"' for k in sysctl_keys)
    lines = [
        f"mkdir -p {layout.SAVED_DIR}",
        f"[ -e {saved_sysctl} ] || {{ {{ {reads}; }} > {saved_sysctl}.new; mv {saved_sysctl}.new {saved_sysctl}; }}",
    ]
    for path in _REPLACED:
        saved = f"{layout.SAVED_DIR}/{path.rsplit('/', 1)[1]}"
        lines.append(
            f"[ -e {saved} ] || [ -e {saved}.absent ] || "
            f"{{ if [ -e {path} ]; then cp -p {path} {saved}; else : > {saved}.absent; fi; }}"
        )
    return lines


def _restore_saved() -> list[str]:
    lines = [f"[ ! -f {layout.SAVED_DIR}/sysctl.conf ] || sysctl -q -p {layout.SAVED_DIR}/sysctl.conf"]
    for path in _REPLACED:
        saved = f"{layout.SAVED_DIR}/{path.rsplit('/', 1)[1]}"
        # Written through, not moved: the file may be a bind mount (a namespace's resolv.conf).
        lines.append(f"if [ -f {saved} ]; then cat {saved} > {path}; elif [ -e {saved}.absent ]; then rm -f {path}; fi")
    return [*lines, f"rm -rf {layout.SAVED_DIR}"]


# The whole plan, not sub-plans: /etc/hosts lists other hosts (every host, on the gateway), and the
# step reads the stages, the NAT64 engine, the node interface and the gateway's name and address too.
def network_step(plan: ClusterPlan, host: HostPlan) -> Step:
    """Sysctls, modules, static routes (persisted), resolver and /etc/hosts; delete restores what was there."""
    keys = list(host_network.sysctls(host))
    if host.role != "gateway" and plan.stages.kubeadm:
        keys += KUBE_PROXY_SYSCTLS  # kube-proxy changes them; the network step's delete restores them
    return Step(
        files=(
            host_network.sysctl_file(host),
            host_network.modules_file(host, plan.nat64.engine),
            host_network.routes_script(host, plan.cluster_interface),
            host_network.routes_unit(),
            host_network.resolv_conf(plan.nameserver(host), plan.gateway.name),
            host_network.hosts_file(plan.known_hosts(host)),
        ),
        prepare=tuple(_save_before_first_up(keys)),
        activate=(
            *_load_modules(host_network.modules(host, plan.nat64.engine)),
            f"sysctl -q -p {layout.SYSCTL_PATH}",
            _systemd_or("kubev6-routes.service", f"{layout.ROUTES_PATH} up"),
        ),
        deactivate=(
            "systemctl disable kubev6-routes.service 2>/dev/null",
            f"{layout.ROUTES_PATH} down",
            *_restore_saved(),
        ),
        removes=(layout.SYSCTL_PATH, layout.MODULES_PATH, layout.ROUTES_UNIT_PATH, layout.ROUTES_PATH),
        cleanup=(f"rmdir {layout.ETC_DIR} 2>/dev/null",),
    )


def packages_step(
    kubernetes: KubernetesPlan, mirror: MirrorPlan, node: HostPlan, content: node_install.MirrorContent | None = None
) -> Step:
    """containerd, kubeadm/kubelet/kubectl and the runtime started; `content`: what the mirror serves."""
    files = tuple(node_install.install_files(kubernetes, node, mirror))
    return Step(
        files=files,
        activate=tuple(node_install.install_commands(kubernetes, mirror, content)),
        deactivate=tuple(node_install.uninstall_commands(kubernetes, content)),
        removes=tuple(f.path for f in files),
        cleanup=_remove_made_dirs(files, layout.CONTAINERD_CERTS_DIR),
    )


def _remove_made_dirs(files: tuple[RenderedFile, ...], under: str) -> tuple[str, ...]:
    """The (then empty) folders under `under` the files went into, and `under` itself: the
    registries' hosts.toml folders stayed behind a removed node before."""
    dirs = sorted({f.path.rsplit("/", 1)[0] for f in files if f.path.startswith(f"{under}/")}, reverse=True)
    return (f"rmdir {' '.join([*dirs, under])} 2>/dev/null",) if dirs else ()


def mirror_step(mirror: MirrorPlan, *, registry: bool = False) -> Step:
    """The gateway serves the artifacts (copied to layout.MIRROR_DIR before this step runs), and with
    `registry` (the build made its storage) the OCI registry the nodes' containerd pulls through."""
    files = [mirror_render.mirror_script(mirror, registry=registry), mirror_render.mirror_unit(mirror)]
    activate = [_systemd_or("kubev6-mirror.service", f"{layout.MIRROR_SCRIPT_PATH} up")]
    deactivate = ["systemctl disable --now kubev6-mirror.service 2>/dev/null", f"{layout.MIRROR_SCRIPT_PATH} down"]
    cleanup = [f"rm -rf {layout.MIRROR_DIR}"]
    state_dirs = [layout.STATE_DIR, layout.RUN_DIR]  # the served files; the pidfiles
    if registry:
        files += [mirror_render.registry_config(mirror), mirror_render.registry_unit()]
        pid = layout.REGISTRY_PIDFILE
        # A new storage needs a new registry process (the old one keeps its open files).
        stop_old = f'[ -z "$restart_registry" ] || [ ! -f {pid} ] || {{ kill "$(cat {pid})"; rm -f {pid}; }}'
        activate = [
            "restart_registry=",
            mirror_render.unpack_registry(),
            _systemd_or("kubev6-registry.service", stop_old),
            *activate,
        ]
        deactivate.insert(0, "systemctl disable --now kubev6-registry.service 2>/dev/null")
        cleanup.insert(0, f"rm -rf {layout.REGISTRY_ROOT}")
    activate.append(mirror_render.wait_serving(mirror, registry=registry))
    served_from = layout.STATE_DIR
    return Step(
        files=tuple(files),
        activate=tuple(activate),
        deactivate=tuple(deactivate),
        removes=tuple(f.path for f in files),
        cleanup=(*cleanup, f"rmdir {served_from} 2>/dev/null"),
        state_dirs=tuple(state_dirs),
    )


def gateway_packages_step(
    nat64: Nat64Plan, dns64: Dns64Plan, kubernetes: KubernetesPlan, api_lb: ApiLoadBalancerPlan | None
) -> Step:
    """The translator and resolver packages (Debian names) and nftables; HAProxy with `api_lb`."""
    translator = {"jool": "jool-dkms jool-tools", "tayga": "tayga"}[nat64.engine]
    resolver = {"unbound": "unbound", "bind9": "bind9"}[dns64.engine]
    mirror = kubernetes.artifacts == "mirror"
    # Air-gapped, the mirror's server is python3.
    packages = ["nftables", *translator.split(), resolver, *(["python3", "curl"] if mirror else [])]
    if api_lb is not None:
        packages.append("haproxy")
    # Nothing to undo (the packages stay installed): the command gets no delete.
    return Step(
        activate=(
            "export DEBIAN_FRONTEND=noninteractive",
            *debian_packages(packages, air_gapped=mirror),
            # The project runs its own resolver instance (kubev6-dns64.service).
            f"systemctl disable --now {'unbound' if resolver == 'unbound' else 'named'} 2>/dev/null || true",
            *(["systemctl disable --now haproxy 2>/dev/null || true"] if api_lb is not None else []),
        )
    )


def api_lb_step(lb: ApiLoadBalancerPlan) -> Step:
    """HAProxy on the gateway in front of every master's API server (`plan.api_lb`, with
    controlPlaneEndpoint.mode: gateway-haproxy), supervised as the resolver is: systemd's unit, else
    a pidfile."""
    files = (haproxy.haproxy_conf(lb), haproxy.haproxy_script(lb), haproxy.haproxy_unit())
    return Step(
        files=files,
        activate=(_systemd_or("kubev6-haproxy.service", f"{layout.HAPROXY_SCRIPT_PATH} up"),),
        deactivate=("systemctl disable --now kubev6-haproxy.service 2>/dev/null", f"{layout.HAPROXY_SCRIPT_PATH} down"),
        removes=(*(f.path for f in files), layout.HAPROXY_LOG_PATH),
        cleanup=(f"rmdir {layout.RUN_DIR} 2>/dev/null",),
        state_dirs=(layout.RUN_DIR,),
    )


def cni_step(node: HostPlan) -> Step:
    """The node's CNI conflist (its pod /64) and the plugin links: nothing else of the plan."""
    return Step(
        files=(cni.conflist_file(node),),
        activate=tuple(cni.link_plugins_commands()),
        deactivate=tuple(cni.remove_network_commands()),
        removes=(layout.CNI_CONFLIST_PATH,),
        cleanup=(cni.remove_conf_dirs_command(), *cni.unlink_plugins_commands()),
        # The plugins' leases and result cache; the plugin links where containerd looks.
        state_dirs=(layout.CNI_STATE_DIR, layout.CNI_PLUGIN_DIR),
    )


def nat64_step(nat64: Nat64Plan) -> Step:
    files = (gateway.guard_ruleset(nat64), gateway.nat64_script(nat64), gateway.nat64_unit())
    tayga = nat64.engine == "tayga"
    if tayga:
        files = (gateway.tayga_conf(nat64), *files)
    return Step(
        files=files,
        activate=(_systemd_or("kubev6-nat64.service", f"{layout.NAT64_SCRIPT_PATH} up"),),
        deactivate=("systemctl disable --now kubev6-nat64.service 2>/dev/null", f"{layout.NAT64_SCRIPT_PATH} down"),
        removes=tuple(f.path for f in files),
        # TAYGA's address map and the run dir (DNS64's delete runs first: it depends on the same network).
        cleanup=(f"rm -rf {layout.TAYGA_DATA_DIR}", f"rmdir {layout.RUN_DIR} 2>/dev/null"),
        state_dirs=(layout.RUN_DIR, *([layout.TAYGA_DATA_DIR] if tayga else [])),
    )


def dns64_step(dns64: Dns64Plan) -> Step:
    files = (gateway.dns64_conf(dns64), gateway.dns64_script(dns64), gateway.dns64_unit(dns64.engine))
    bind9 = dns64.engine == "bind9"
    return Step(
        files=files,
        activate=(_systemd_or("kubev6-dns64.service", f"{layout.DNS64_SCRIPT_PATH} up"),),
        deactivate=("systemctl disable --now kubev6-dns64.service 2>/dev/null", f"{layout.DNS64_SCRIPT_PATH} down"),
        removes=(*(f.path for f in files), layout.DNS64_LOG_PATH),
        cleanup=(f"rmdir {layout.RUN_DIR} 2>/dev/null",),
        # Pidfiles and the log; BIND9's working directory.
        state_dirs=(layout.RUN_DIR, *([layout.NAMED_DIRECTORY] if bind9 else [])),
    )


# The join credentials never appear in a script: the config files hold these placeholders, and
# the create script puts the values it reads from its standard input in their place (a failed
# command is printed whole in Pulumi's log; its stdin is not).
TOKEN_PLACEHOLDER = "@KUBEV6_BOOTSTRAP_TOKEN@"
CA_HASH_PLACEHOLDER = "@KUBEV6_CA_CERT_HASH@"
CERT_KEY_PLACEHOLDER = "@KUBEV6_CERTIFICATE_KEY@"  # the control plane's certificates, encrypted in kubeadm-certs


def _fill_from_stdin(path: str, placeholders: tuple[str, ...]) -> tuple[str, ...]:
    """One value per stdin line, in order; the values (a bootstrap token, a sha256: hash) hold no
    character sed or the shell would read."""
    reads = [f"IFS= read -r kubev6_secret_{i}" for i in range(len(placeholders))]
    checks = [
        f'case "$kubev6_secret_{i}" in *[!a-z0-9.:]*|"") echo "kube-v6: bad secret on stdin" >&2; exit 1;; esac'
        for i in range(len(placeholders))
    ]
    subs = " ".join(f'-e "s|{p}|$kubev6_secret_{i}|"' for i, p in enumerate(placeholders))
    return (*reads, *checks, f"sed -i {subs} {path}")


def stdin_secrets(*values: str) -> str:
    """What a step with placeholders reads: one value per line, in the placeholders' order."""
    return "".join(f"{v}\n" for v in values)


# A reset (a rejoin, or init again) stopped the kubelet. systemd starts it again for kubeadm;
# without systemd its supervisor must run before kubeadm waits for it (idempotent).
_KUBELET_SUPERVISED = systemd_or(
    ":", f"[ ! -x {layout.SUPERVISE_PATH} ] || {layout.SUPERVISE_PATH} start kubelet kubelet.sh"
)


def kubeadm_init_step(kubeadm: KubeadmPlan, master: HostPlan) -> Step:
    """On the first master. Reads the bootstrap token from stdin (`stdin_secrets(token)`); with several
    masters possible (`kubeadm.upload_certs`) the certificate key too (`stdin_secrets(token,
    certificate_key)`), and init uploads the control plane's certificates, encrypted with it, for the
    other masters."""
    upload = kubeadm.upload_certs
    if upload:
        init = kubeadm_render.init_file(kubeadm, master, TOKEN_PLACEHOLDER, CERT_KEY_PLACEHOLDER)
        placeholders: tuple[str, ...] = (TOKEN_PLACEHOLDER, CERT_KEY_PLACEHOLDER)
        flags = " --upload-certs --skip-certificate-key-print"
    else:
        init = kubeadm_render.init_file(kubeadm, master, TOKEN_PLACEHOLDER)
        placeholders, flags = (TOKEN_PLACEHOLDER,), ""
    log = layout.KUBEADM_INIT_LOG
    return Step(
        files=(init,),
        activate=(
            *_fill_from_stdin(init.path, placeholders),
            _KUBELET_SUPERVISED,
            # Initialised already: a changed config (a new version, changed settings) converges the
            # live control plane instead (rendering/upgrade.py); an unchanged one does nothing.
            f"if [ ! -f {layout.ADMIN_CONF} ]; then",
            f"  kubeadm init --config {init.path}{flags} >{log} 2>&1 || {_log_tail(log)}",
            "  echo initialised",
            f"elif ! cmp -s {init.path} {layout.KUBEADM_APPLIED_PATH}; then",
            *(f"  {line}" for line in upgrade.control_plane_converge(kubeadm.kubernetes, master)),
            "else",
            "  echo 'initialised; the control plane runs this config'",
            "fi",
            f"cp -p {init.path} {layout.KUBEADM_APPLIED_PATH}",
        ),
        deactivate=_RESET,
        removes=(layout.KUBEADM_INIT_PATH, layout.KUBEADM_APPLIED_PATH),
    )


def _log_tail(log: str) -> str:
    """A failed kubeadm says why on the step's stderr (its log holds no credential: kubeadm prints
    the join command only on success), with the kubelet's last words where a supervisor keeps them."""
    daemons = " ".join(f"{layout.LOG_DIR}/{d}.log" for d in ("kubelet", "containerd"))
    return (
        f'{{ echo "kubeadm failed; the end of {log}:"; tail -n 30 {log}; for d in {daemons}; do '
        f'[ ! -f $d ] || {{ echo "the last errors of $d:"; grep -E "level=error|^E[0-9]" $d | tail -n 12; }}; done; '
        "exit 1; } >&2"
    )


def _token_hint(node: HostPlan) -> str:
    """`--replace` of a join alone reuses its token, which lives `kubernetes.joinTokenTtl`."""
    return (
        "! grep -qiE 'token.*(expired|invalid)|(expired|invalid).*token' "
        f"{layout.KUBEADM_JOIN_LOG} || echo 'kube-v6: the join "
        f"token has expired: replace kubeadm-{node.name}-token (pulumi up --replace <its URN>), which makes a "
        "new one and replaces the join after it' >&2"
    )


def kubeadm_join_step(kubeadm: KubeadmPlan, master: HostPlan, node: HostPlan) -> Step:
    """Reads the bootstrap token and the CA hash from stdin (`stdin_secrets(token, ca_cert_hash)`);
    a master's join of the control plane (any master but `master`, the first) also the certificate
    key (`stdin_secrets(token, ca_cert_hash, certificate_key)`)."""
    if node.role == "master" and node != master:
        join = kubeadm_render.join_file(kubeadm, node, TOKEN_PLACEHOLDER, CA_HASH_PLACEHOLDER, CERT_KEY_PLACEHOLDER)
        placeholders: tuple[str, ...] = (TOKEN_PLACEHOLDER, CA_HASH_PLACEHOLDER, CERT_KEY_PLACEHOLDER)
    else:
        join = kubeadm_render.join_file(kubeadm, node, TOKEN_PLACEHOLDER, CA_HASH_PLACEHOLDER)
        placeholders = (TOKEN_PLACEHOLDER, CA_HASH_PLACEHOLDER)
    return Step(
        files=(join,),
        activate=(
            *_fill_from_stdin(join.path, placeholders),
            _KUBELET_SUPERVISED,
            f"[ -f /etc/kubernetes/kubelet.conf ] || kubeadm join --config {join.path} >{layout.KUBEADM_JOIN_LOG} 2>&1 "
            f"|| {{ {_token_hint(node)}; {_log_tail(layout.KUBEADM_JOIN_LOG)}; }}",
            "echo joined",
        ),
        deactivate=_RESET,
        removes=(layout.KUBEADM_JOIN_PATH,),
    )


def host_steps(plan: ClusterPlan, host: HostPlan) -> list[tuple[str, Step]]:
    """The network stage on `host`: its steps in the order they run, each named as its remote command
    is named after the host (`<host>-network`, `<host>-cni-conflist`, ...). The namespace lab runs
    exactly these. The install and kubeadm stages need the engine (the mirror's files copied to the
    gateway first, the join token read back from the master), so only the engine labs run them."""
    if host.role == "gateway":
        return [
            ("network", network_step(plan, host)),
            ("nat64", nat64_step(plan.nat64)),
            ("dns64", dns64_step(plan.dns64)),
        ]
    return [("network", network_step(plan, host)), ("cni-conflist", cni_step(host))]


def _kube_proxy_cleanup() -> list[str]:
    """What kube-proxy and the kubelet leave in the firewall after `kubeadm reset`: nftables tables
    that did not exist before the first `up` (iptables-nft makes them) go; in tables that did, only
    the KUBE-* chains and the jumps to them go."""
    keep = "grep -v -e '^:KUBE-' -e '^-A KUBE-' -e ' -j KUBE-'"
    save = "$t-save -t $table"
    before = layout.NFT_TABLES_BEFORE
    return [
        f"if [ -f {before} ] && command -v nft >/dev/null; then nft list tables | while read -r _ family name; do "
        f'grep -qx "table $family $name" {before} || nft delete table "$family" "$name"; done; fi',
        "for t in ip6tables iptables; do for table in filter nat mangle; do "
        f"if {save} 2>/dev/null | grep -q KUBE-; then {save} | {keep} | $t-restore -T $table; fi; done; done",
    ]


# `kubeadm reset` undoes init or join (the kubelet stopped first, or it recreates what reset
# removes); the delete scripts hold no secret.
_RESET = (
    f"PATH={layout.MIRROR_BIN_DIR}:$PATH; export PATH",
    f"if [ -d /run/systemd/system ]; then systemctl stop kubelet; else {layout.SUPERVISE_PATH} stop kubelet; fi",
    f"kubeadm reset -f --cri-socket {kubeadm_render.CRI_SOCKET} >/dev/null 2>&1",
    *_kube_proxy_cleanup(),
)
# The deletes hold no token: components declare them before the token is known.
KUBEADM_INIT_DELETE = Step(deactivate=_RESET, removes=(layout.KUBEADM_INIT_PATH, layout.KUBEADM_APPLIED_PATH)).delete
KUBEADM_JOIN_DELETE = Step(deactivate=_RESET, removes=(layout.KUBEADM_JOIN_PATH,)).delete
# A master's join is undone by the same reset: its etcd member was removed before, with its Node
# (node_membership_scripts); kubeadm reset's own remove-etcd-member phase then finds nothing to do.
KUBEADM_CONTROL_PLANE_JOIN_DELETE = KUBEADM_JOIN_DELETE

# Read back from the master after init (outputs are secrets).
CA_CERT_HASH_COMMAND = (
    f"openssl x509 -pubkey -noout -in {layout.CA_CERT} | openssl pkey -pubin -outform der "
    "| sha256sum | sed 's/^\\([0-9a-f]*\\).*/sha256:\\1/'"
)
KUBECONFIG_COMMAND = f"cat {layout.ADMIN_CONF}"


# --- a minion's membership, run on the master (where admin.conf is) ---------------------------


@dataclass(frozen=True)
class MasterScripts:
    """Scripts run on the master for one minion; unlike a `Step`'s, the delete stops at a failure
    (a drain that did not finish must not go on to reset the host)."""

    create: str
    delete: str


_ON_MASTER = (
    f"PATH={layout.MIRROR_BIN_DIR}:$PATH; export PATH",
    f"K='kubectl --kubeconfig {layout.ADMIN_CONF}'",
)


def _on_first_master(master: HostPlan) -> tuple[str, ...]:
    """kubectl against the first master's own API server, not the control-plane endpoint: behind the
    gateway's balancer a request may reach a leaving master whose etcd member was just removed, and
    hang there until the balancer's checks take it out (a destroy timed out so)."""
    server = f"https://{api_endpoint(master.address)}"
    return (_ON_MASTER[0], f"K='kubectl --kubeconfig {layout.ADMIN_CONF} --server {server}'")


# Without admin.conf the cluster is gone already (reset by hand, or the master recreated):
# nothing of this minion is left in it to clean.
_CLUSTER_GONE = (
    f"[ -f {layout.ADMIN_CONF} ] || {{ echo 'kube-v6: no cluster on the master, nothing to clean'; exit 0; }}"
)


def join_token_description(node: HostPlan) -> str:
    return f"kube-v6 join of {node.name}"


def join_token_scripts(kubernetes: KubernetesPlan, master: HostPlan, node: HostPlan) -> MasterScripts:
    """A bootstrap token made for this minion's join, when it joins (its stdout, a secret): it
    lives `kubernetes.joinTokenTtl`. The delete removes every token of this minion by its
    description, and prints none (it lists Secret names, which hold only the token's public id).
    Both run on `master`, the first master."""
    description = join_token_description(node)
    create = (
        f"kubeadm token create --kubeconfig {layout.ADMIN_CONF} --ttl {kubernetes.join_token_ttl} "
        f'--description "{description}" '
        "--usages signing,authentication --groups system:bootstrappers:kubeadm:default-node-token"
    )
    delete = (
        _CLUSTER_GONE,
        f"want=\"$(printf '%s' '{description}' | base64 | tr -d '\\n')\"",
        "$K -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token "
        "-o jsonpath='{range .items[*]}{.metadata.name} {.data.description}{\"\\n\"}{end}' | "
        'while read -r name got; do [ "$got" != "$want" ] || $K -n kube-system delete secret "$name" >/dev/null; done',
    )
    return MasterScripts(
        install_script((), (_ON_MASTER[0], create)),
        install_script((), (*_on_first_master(master), *delete)),
    )


def upload_certs_script(node: HostPlan) -> str:
    """On the first master, right before `node` joins the control plane: the control plane's
    certificates uploaded again (kubeadm deletes the uploaded copy 2 hours after an upload), encrypted
    with the certificate key the init config holds. Prints nothing secret."""
    return install_script(
        (),
        (
            f"# kube-v6: the control plane's certificates for the join of {node.name}",
            _ON_MASTER[0],
            "kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print "
            f"--config {layout.KUBEADM_INIT_PATH} "
            f">{layout.UPLOAD_CERTS_LOG} 2>&1 || {_log_tail(layout.UPLOAD_CERTS_LOG)}",
            f"rm -f {layout.UPLOAD_CERTS_LOG}",
            f"echo 'kube-v6: certificates uploaded for {node.name}'",
        ),
    )


DRAIN_SLICE = "10s"  # a drain is retried in slices this long, checking between them that the node lives


def _remove_etcd_member(first: HostPlan, node: HostPlan) -> tuple[str, ...]:
    """A leaving master's etcd member removed, by etcdctl in the first master's etcd pod, after its
    drain and before its Node is deleted and its host reset. Not left to `kubeadm reset`: its
    remove-etcd-member phase finds the node's API endpoint through the node's kube-apiserver mirror
    pod, gone with the Node, and then only warns, so the member would stay, counted in every quorum
    and never answering. A member that cannot be removed stops the delete before the reset."""
    n, pki = node.name, layout.ETCD_PKI
    etcdctl = (
        f"$K -n kube-system exec etcd-{first.name} -- etcdctl --endpoints=https://[{first.address}]:2379 "
        f"--cacert={pki}/ca.crt --cert={pki}/healthcheck-client.crt --key={pki}/healthcheck-client.key "
        "--command-timeout=30s"
    )
    fail = (
        f"echo 'kube-v6: the etcd member of {n} could not be removed; {n} stays cordoned and joined (etcd would "
        "keep a member that never answers)' >&2; exit 1"
    )
    return (
        f'members="$({etcdctl} member list)" || {{ {fail}; }}',
        f"id=\"$(printf '%s\\n' \"$members\" | awk -F', ' '$3 == \"{n}\" {{print $1}}')\"",
        f'if [ -n "$id" ]; then {etcdctl} member remove "$id" >/dev/null || {{ {fail}; }}; '
        f"echo 'kube-v6: etcd member of {n} removed'; else echo 'kube-v6: {n} has no etcd member'; fi",
    )


def node_membership_scripts(kubernetes: KubernetesPlan, master: HostPlan, node: HostPlan) -> MasterScripts:
    """Create (after the join): the Node is registered and Ready, and schedulable. Delete (before
    the host's `kubeadm reset`): cordon and drain it within `kubernetes.drainTimeout`, respecting
    PodDisruptionBudgets, (a master other than the first) remove its etcd member, then delete the
    Node object; a drain or a member removal that does not finish fails here and leaves the node
    cordoned and joined. All run on `master`, the first master."""
    n, timeout = node.name, kubernetes.drain_timeout
    log = f"/var/log/kubev6-drain-{n}.log"
    create = (
        "i=0",
        f'until $K get node {n} >/dev/null 2>&1; do i=$((i + 1)); [ "$i" -lt 150 ] || '
        f"{{ echo 'kube-v6: node {n} did not register within 5 minutes of its join' >&2; exit 1; }}; sleep 2; done",
        f"$K wait --for=condition=Ready node/{n} --timeout={kubernetes.timeouts.kubelet_health_check} >/dev/null",
        f"$K uncordon {n} >/dev/null",
        f"echo {n}",
    )
    delete = (
        _CLUSTER_GONE,
        f'if ! out="$($K get node {n} -o name 2>&1)"; then case "$out" in '
        f"*NotFound*) echo 'kube-v6: node {n} is not registered'; exit 0;; "
        f'*) echo "kube-v6: cannot read node {n} from the API server: $out" >&2; exit 1;; esac; fi',
        # In slices: a node whose kubelet is gone (its host reset, lost or reinstalled) never finishes
        # its pods' shutdown, and turns NotReady within the node monitor's grace period; then its Node
        # is deleted so the controllers start the pods elsewhere. A live one waits the whole timeout.
        f"deadline=$(($(date +%s) + {math.ceil(duration_seconds(timeout))}))",
        f"until $K drain {n} --ignore-daemonsets --delete-emptydir-data --timeout={DRAIN_SLICE} >{log} 2>&1; do "
        f'ready="$($K get node {n} -o jsonpath=\'{{.status.conditions[?(@.type=="Ready")].status}}\')"; '
        f'if [ "$ready" != True ]; then '
        f"echo 'kube-v6: {n} is not Ready (its kubelet is gone): deleting its Node without a finished drain'; "
        "break; fi; "
        f'if [ "$(date +%s)" -ge "$deadline" ]; then '
        f"echo 'kube-v6: drain of {n} did not finish within {timeout} (kubev6:kubernetes.drainTimeout; "
        f"a PodDisruptionBudget that allows no eviction?); {n} stays cordoned and joined. The end of the drain:' >&2; "
        f"tail -n 20 {log} >&2; exit 1; fi; done",
        *(_remove_etcd_member(master, node) if node.role == "master" and node != master else ()),
        f"$K delete node {n} --wait=true >/dev/null",
        f"rm -f {log}",
        f"echo 'kube-v6: {n} drained and deleted'",
    )
    on_master = _on_first_master(master)
    return MasterScripts(install_script((), (*on_master, *create)), install_script((), (*on_master, *delete)))
