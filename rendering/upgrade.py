"""Day 2 on a live cluster: a new Kubernetes version or changed settings converge in kubeadm's order.

kubeadm's order (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/):
the new binaries on every node (the packages step puts them in place and leaves a joined node's
kubelet running), `kubeadm upgrade apply` on the master (control plane, etcd, CoreDNS, kube-proxy,
certificates renewed), then each node in turn: drained (on the master), `kubeadm upgrade node` on
a minion, its kubelet restarted on the new binary, uncordoned.

The same scripts carry settings that a live cluster takes in place (reconfiguring a kubeadm
cluster, https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure/): the
master re-uploads kubeadm's and the kubelet's config and regenerates what depends on them (the
control plane's manifests, kube-proxy's config); each node fetches the kubelet config and restarts
its kubelet when it changed. Every script names the version and the kubelet config it converges to
(so a change of either re-runs it) and checks first, so a re-run changes nothing and a run after
a failure resumes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from planning.plan import HostPlan, KubeadmPlan
from planning.settings import KubernetesPlan
from rendering import kubeadm, layout
from rendering.files import install_script
from rendering.systemd import systemd_or

# The init config the control plane was last converged to (kubeadm init, or this module's converge).
# Set on a Node while this program has it drained for its upgrade: only those are uncordoned.
DRAINED_ANNOTATION = "kubev6.dev/drained-for"
_READY = '{.status.conditions[?(@.type=="Ready")].status}'
_PATH = f"PATH={layout.MIRROR_BIN_DIR}:$PATH; export PATH"
_K = f"kubectl --kubeconfig {layout.ADMIN_CONF}"
# The API server restarts while the master's kubelet takes its new version (its static pods are made
# again): a rollout step that talks to it first waits, up to 5 minutes, until it answers.
_API_ANSWERS = (
    f'i=0; until {_K} get --raw /readyz >/dev/null 2>&1; do i=$((i + 1)); [ "$i" -lt 150 ] || '
    "{ echo 'kube-v6: the API server does not answer /readyz within 5 minutes' >&2; exit 1; }; sleep 2; done"
)


def kubelet_config_hash(plan: KubeadmPlan, master: HostPlan) -> str:
    """The KubeletConfiguration the nodes run (from the first master's init config), as a short hash
    (a change re-runs each node's rollout)."""
    doc = next(d for d in kubeadm.init_documents(plan, master, "") if d["kind"] == "KubeletConfiguration")
    return hashlib.sha256(kubeadm.dump([doc]).encode()).hexdigest()[:16]


def _log_tail(what: str, log: str) -> str:
    return f'{{ echo "kube-v6: {what} failed; the end of {log}:" >&2; tail -n 30 {log} >&2; exit 1; }}'


def _server_version(kubectl: str = _K) -> str:
    pick = 'sed -n \'s/.*"gitVersion": *"\\(v[^"]*\\)".*/\\1/p\' | tail -n 1'
    return f'"$({kubectl} version -o json 2>/dev/null | {pick})"'


def _kubelet_version(node: str, kubectl: str = _K) -> str:
    """What the running kubelet of `node` reports to the API server (not the binary on disk)."""
    return f"\"$({kubectl} get node {node} -o jsonpath='{{.status.nodeInfo.kubeletVersion}}')\""


def _ignore_preflight(k8s: KubernetesPlan) -> str:
    checks = k8s.ignore_preflight_errors
    return f" --ignore-preflight-errors={','.join(checks)}" if checks else ""


def control_plane_converge(k8s: KubernetesPlan, master: HostPlan) -> tuple[str, ...]:
    """On the initialised (first) master, once the rendered init config differs from the one last
    applied: `kubeadm upgrade apply` when the API server runs another version, then the config
    uploaded and the control plane's manifests, kube-proxy and the master's taint made to match it."""
    target = f"v{k8s.version}"
    init = layout.KUBEADM_INIT_PATH
    ignore = _ignore_preflight(k8s)
    name = master.name
    taint = "node-role.kubernetes.io/control-plane:NoSchedule"
    set_taint = (
        f"{_K} taint node {name} {taint}- >/dev/null 2>&1 || true"
        if k8s.schedule_on_master
        else f"{_K} taint node {name} {taint} --overwrite >/dev/null"
    )
    proxy_now = f"\"$({_K} -n kube-system get configmap kube-proxy -o jsonpath='{{.data}}' | sha256sum)\""
    proxy_config = f"proxy_before={proxy_now}"
    return (
        f"server={_server_version()}",
        '[ -n "$server" ] || { echo "kube-v6: the API server does not answer on the master" >&2; exit 1; }',
        f'if [ "$server" != "{target}" ]; then',
        f'  [ "$(kubeadm version -o short)" = "{target}" ] || '
        "{ echo 'kube-v6: the packages step has not installed the new kubeadm' >&2; exit 1; }",
        f"  kubeadm upgrade apply {target} --yes --certificate-renewal=true{ignore} >{layout.CONVERGE_LOG} 2>&1 || "
        f"{_log_tail(f'kubeadm upgrade apply {target}', layout.CONVERGE_LOG)}",
        f'  echo "kube-v6: control plane upgraded from $server to {target}"',
        "fi",
        proxy_config,
        f"{{ kubeadm init phase upload-config all --config {init} && "
        f"kubeadm init phase control-plane all --config {init} && "
        f"kubeadm init phase addon kube-proxy --config {init}; }} >>{layout.CONVERGE_LOG} 2>&1 || "
        f"{_log_tail('applying the changed kubeadm config', layout.CONVERGE_LOG)}",
        # A changed kube-proxy config reaches the pods only when they start again.
        f'if [ "$proxy_before" != {proxy_now} ]; then',
        f"  {_K} -n kube-system rollout restart daemonset/kube-proxy >/dev/null",
        f"  {_K} -n kube-system rollout status daemonset/kube-proxy "
        f"--timeout={k8s.timeouts.kubelet_health_check} >/dev/null",
        "  echo 'kube-v6: kube-proxy restarted with its changed config'",
        "fi",
        set_taint,
        f'echo "kube-v6: control plane converged to {target} and the config of this run"',
    )


@dataclass(frozen=True)
class NodeRollout:
    """One node's turn, in order: `drain` and `uncordon` run on the master, `kubelet` on the node
    (on the master itself all three run there)."""

    drain: str
    kubelet: str
    uncordon: str


def node_rollout(plan: KubeadmPlan, master: HostPlan, node: HostPlan) -> NodeRollout:
    """`node`'s turn; `master` is the first master (its `kubeadm upgrade apply` did its node part)."""
    k8s = plan.kubernetes
    target = f"v{k8s.version}"
    n = node.name
    config = kubelet_config_hash(plan, master)
    # What each script acts on: the drain and the uncordon on a version change only, the kubelet on
    # either (so a kubelet setting re-runs the kubelet's script alone).
    stamp = f"# kube-v6: {n} converges to kubelet {target}"
    kubelet_stamp = f"{stamp}, kubelet config {config}"
    log = f"/var/log/kubev6-rollout-{n}.log"
    own = f"kubectl --kubeconfig {layout.KUBELET_CONF}"
    drain = install_script(
        (),
        (
            stamp,
            _PATH,
            _API_ANSWERS,
            f'[ {_kubelet_version(n)} != "{target}" ] || exit 0  # upgraded already: no drain',
            f"{_K} annotate node {n} --overwrite {DRAINED_ANNOTATION}={target} >/dev/null",
            f"{_K} drain {n} --ignore-daemonsets --delete-emptydir-data --timeout={k8s.drain_timeout} >{log} 2>&1 || "
            f"{{ echo 'kube-v6: drain of {n} for its upgrade did not finish within {k8s.drain_timeout} "
            f"(kubev6:kubernetes.drainTimeout); it stays cordoned, on its old kubelet' >&2; "
            f"tail -n 20 {log} >&2; exit 1; }}",
            f"echo 'kube-v6: {n} drained for its upgrade to {target}'",
        ),
    )
    ignore = _ignore_preflight(k8s)
    upgrade_node = (
        ()
        if node == master  # `kubeadm upgrade apply` did the first master's part
        else (f"kubeadm upgrade node{ignore} >{log} 2>&1 || {_log_tail('kubeadm upgrade node', log)}",)
    )
    restart = systemd_or(
        "systemctl restart kubelet",
        f"{layout.SUPERVISE_PATH} stop kubelet; {layout.SUPERVISE_PATH} start kubelet kubelet.sh",
    )
    kubelet = install_script(
        (),
        (
            kubelet_stamp,
            _PATH,
            "restart=",
            f'if [ {_kubelet_version(n, own)} != "{target}" ]; then',
            f'  [ "$(kubelet --version)" = "Kubernetes {target}" ] || '
            "{ echo 'kube-v6: the packages step has not installed the new kubelet' >&2; exit 1; }",
            *(f"  {line}" for line in upgrade_node),
            "  restart=1",
            # `kubeadm upgrade node` (`upgrade apply` on the master) wrote the kubelet config already;
            # its phase run again within the same second fails on its timestamped backup folder.
            "else",
            # The kubelet config the master uploaded (kubeadm's kubelet-config ConfigMap).
            f'  before="$(sha256sum {layout.KUBELET_CONFIG})"',
            f"  kubeadm upgrade node phase kubelet-config >>{log} 2>&1 || "
            f"{_log_tail('kubeadm upgrade node phase kubelet-config', log)}",
            f'  [ "$before" = "$(sha256sum {layout.KUBELET_CONFIG})" ] || restart=1',
            "fi",
            # This node's supervisor only (never a process name: several kubelets may share a host).
            f'[ -z "$restart" ] || {{ {restart}; }}',
            "i=0",
            f'until [ {_kubelet_version(n, own)} = "{target}" ] && '
            f"[ \"$({own} get node {n} -o jsonpath='{_READY}')\" = True ]; do "
            f'i=$((i + 1)); [ "$i" -lt 150 ] || {{ echo "kube-v6: the kubelet of {n} is not Ready at {target} '
            f'within 5 minutes" >&2; exit 1; }}; sleep 2; done',
            f"rm -f {log}",
            f'if [ -n "$restart" ]; then echo "kube-v6: {n} runs kubelet {target} with the new config"; '
            f'else echo "kube-v6: {n} runs kubelet {target}"; fi',
        ),
    )
    uncordon = install_script(
        (),
        (
            stamp,
            _PATH,
            _API_ANSWERS,
            f"drained=\"$({_K} get node {n} -o jsonpath='{{.metadata.annotations.kubev6\\.dev/drained-for}}')\"",
            '[ -n "$drained" ] || exit 0  # not drained by an upgrade: left as it is',
            f"{_K} uncordon {n} >/dev/null",
            f"{_K} annotate node {n} {DRAINED_ANNOTATION}- >/dev/null",
            f"echo 'kube-v6: {n} uncordoned after its upgrade'",
        ),
    )
    return NodeRollout(drain, kubelet, uncordon)


CERT_EXPIRY_COMMAND_TEMPLATE = (
    "# kube-v6: read after the control plane converged to {target} (an upgrade renews certificates)\n"
    f"{_PATH}\n"
    "kubeadm certs check-expiration -o jsonpath="
    '\'{{range .certificates[*]}}{{.name}} {{.expirationDate}}{{"\\n"}}{{end}}'
    '{{range .certificateAuthorities[*]}}{{.name}} {{.expirationDate}}{{"\\n"}}{{end}}\'\n'
)


def cert_expiry_command(k8s: KubernetesPlan) -> str:
    """Each certificate and CA kubeadm manages on the master, with its expiry: `<name> <RFC 3339>` lines."""
    return CERT_EXPIRY_COMMAND_TEMPLATE.format(target=f"v{k8s.version}")


def parse_cert_expiry(stdout: str) -> dict[str, str]:
    """`<name> <date>` lines; anything else (a warning kubeadm printed) is not a certificate."""
    pairs = (line.split() for line in stdout.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}
