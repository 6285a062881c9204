"""The in-place Kubernetes upgrade in kubeadm's order, rendered (not yet wired into the program:
a version change is still refused at preview, planning/live_settings.py).

kubeadm's order (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/):
the new kubeadm on the master, `kubeadm upgrade apply` (control plane, certificates renewed), the
master's kubelet drained, upgraded and uncordoned; then one minion at a time: the new kubeadm,
`kubeadm upgrade node`, drain (on the master), the new kubelet, uncordon. Each script is
idempotent: it checks the version it would produce first, so a re-run after a failure resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning.live_settings import version_change_problem
from planning.plan import ClusterPlan, HostPlan
from rendering.files import install_script
from rendering.node_install import MIRROR_BIN_DIR, SUPERVISE_PATH
from rendering.systemd import systemd_or

ADMIN = "/etc/kubernetes/admin.conf"
_PATH = f"PATH={MIRROR_BIN_DIR}:$PATH; export PATH"
_K = f"kubectl --kubeconfig {ADMIN}"


@dataclass(frozen=True)
class UpgradeStep:
    host: str  # where it runs (the master for drain/uncordon)
    name: str  # e.g. "kube-minion-1-upgrade-node"
    script: str


def _kubelet_version(node: str, kubectl: str = _K) -> str:
    """What the running kubelet of `node` reports (not the binary on disk)."""
    return f"$({kubectl} get node {node} -o jsonpath='{{.status.nodeInfo.kubeletVersion}}')"


def _drain(node: str, version: str, timeout: str) -> str:
    return install_script(
        (),
        (
            _PATH,
            f'[ "{_kubelet_version(node)}" != "v{version}" ] || exit 0  # upgraded already: no drain',
            f"{_K} drain {node} --ignore-daemonsets --delete-emptydir-data --timeout={timeout}",
        ),
    )


def _uncordon(node: str) -> str:
    return install_script((), (_PATH, f"{_K} uncordon {node}"))


def _new_kubelet(version: str) -> str:
    # The packages step of `version` has put the new binaries in place; the supervisor (or
    # systemd) runs the kubelet again with them.
    return install_script(
        (),
        (
            _PATH,
            f'[ "$(kubelet --version)" = "Kubernetes v{version}" ] || '
            "{ echo 'kube-v6: the packages step has not installed the new kubelet' >&2; exit 1; }",
            # This node's supervisor only (never a process name: several kubelets may share a host).
            systemd_or(
                "systemctl restart kubelet", f"{SUPERVISE_PATH} stop kubelet; {SUPERVISE_PATH} start kubelet kubelet.sh"
            ),
        ),
    )


def upgrade_sequence(plan: ClusterPlan, deployed: str) -> list[UpgradeStep]:
    """The steps from `deployed` to the plan's version, in order; ValueError for a change kubeadm
    refuses (down, or a skipped minor)."""
    wanted = plan.kubeadm.kubernetes.version
    if deployed == wanted:
        return []
    problem = version_change_problem(deployed, wanted)
    if problem is not None and "not implemented" not in problem:
        raise ValueError(problem)
    timeout = plan.kubeadm.kubernetes.drain_timeout
    master = plan.master.name
    target = f"v{wanted}"
    apply = install_script(
        (),
        (
            _PATH,
            f'[ "$(kubeadm version -o short)" = "{target}" ] || '
            "{ echo 'kube-v6: the packages step has not installed the new kubeadm' >&2; exit 1; }",
            f'server="$({_K} version -o json | sed -n \'s/.*"gitVersion": *"\\(v[^"]*\\)".*/\\1/p\' | tail -n 1)"',
            f'[ "$server" = "{target}" ] || kubeadm upgrade apply {target} --yes --certificate-renewal=true',
        ),
    )
    out = [UpgradeStep(master, f"{master}-upgrade-apply", apply)]
    out += _kubelet_steps(plan.master, master, wanted, timeout)
    for node in plan.minions:
        # On the minion, with its own credentials (a node may read its Node).
        own = _kubelet_version(node.name, "kubectl --kubeconfig /etc/kubernetes/kubelet.conf")
        upgrade_node = install_script((), (_PATH, f'[ "{own}" = "{target}" ] || kubeadm upgrade node'))
        out.append(UpgradeStep(node.name, f"{node.name}-upgrade-node", upgrade_node))
        out += _kubelet_steps(node, master, wanted, timeout)
    return out


def _kubelet_steps(node: HostPlan, master: str, version: str, timeout: str) -> list[UpgradeStep]:
    return [
        UpgradeStep(master, f"{node.name}-drain", _drain(node.name, version, timeout)),
        UpgradeStep(node.name, f"{node.name}-kubelet", _new_kubelet(version)),
        UpgradeStep(master, f"{node.name}-uncordon", _uncordon(node.name)),
    ]
