"""Per-host kernel and network files: sysctls, modules, static routes, resolver, hosts."""

from __future__ import annotations

from planning.plan import ClusterPlan, HostPlan
from rendering.files import RenderedFile
from rendering.systemd import oneshot_unit

SYSCTL_PATH = "/etc/sysctl.d/90-kubev6.conf"
MODULES_PATH = "/etc/modules-load.d/kubev6.conf"
ROUTES_PATH = "/etc/kubev6/routes.sh"
ROUTES_UNIT_PATH = "/etc/systemd/system/kubev6-routes.service"
RESOLV_PATH = "/etc/resolv.conf"
HOSTS_PATH = "/etc/hosts"


def sysctls(plan: ClusterPlan, host: HostPlan) -> dict[str, str]:
    values = {
        # Nodes route between pod /64s; the gateway routes to the translator.
        "net.ipv6.conf.all.forwarding": "1",
        # Static addressing: with forwarding on, RAs would need accept_ra=2; refuse them instead.
        "net.ipv6.conf.all.accept_ra": "0",
        "net.ipv6.conf.default.accept_ra": "0",
    }
    if host.role == "gateway":
        values["net.ipv4.ip_forward"] = "1"  # TAYGA's IPv4 side leaves through the uplink
    else:
        values["net.bridge.bridge-nf-call-ip6tables"] = "1"  # kube-proxy sees bridged pod traffic
    return values


def modules(plan: ClusterPlan, host: HostPlan) -> list[str]:
    if host.role == "gateway":
        return ["jool"] if plan.config.gateway.nat64.engine == "jool" else ["tun"]
    return ["overlay", "br_netfilter"]


def sysctl_file(plan: ClusterPlan, host: HostPlan) -> RenderedFile:
    body = "".join(f"{k} = {v}\n" for k, v in sysctls(plan, host).items())
    return RenderedFile(SYSCTL_PATH, f"# kube-v6: {host.name} ({host.role})\n{body}")


def modules_file(plan: ClusterPlan, host: HostPlan) -> RenderedFile:
    return RenderedFile(MODULES_PATH, "# kube-v6\n" + "".join(f"{m}\n" for m in modules(plan, host)))


def routes_script(plan: ClusterPlan, host: HostPlan) -> RenderedFile:
    """`routes.sh up|down|show`: the host's static routes, applied with `replace` (idempotent).

    The routes are written once, as a table of `<destination> via <next hop> # <label>` lines that
    `up`, `down` and `show` all read: a host's script grows by one short line per route (it
    repeated every route three times before, the largest part of a big cluster's rendered bytes)."""
    dev = plan.config.network.cluster_interface
    table = "".join(f"{r.text} # {r.why}\n" for r in host.routes)
    text = f"""#!/bin/sh
# kube-v6 static routes of {host.name} ({host.role}), rendered from the cluster plan.
set -eu
DEV="${{KUBEV6_DEV:-{dev}}}"
routes() {{
  cat <<'ROUTES'
{table}ROUTES
}}
case "${{1:-up}}" in
  up)
    routes | while read -r dst _via via _label; do
      ip -6 route replace "$dst" via "$via" dev "$DEV" metric 1024
    done
    ;;
  down)
    routes | while read -r dst _via via _label; do
      ip -6 route del "$dst" via "$via" dev "$DEV" 2>/dev/null || true
    done
    ;;
  show)
    routes | while read -r dst _via via _label; do
      printf '%s via %s\n' "$dst" "$via"
    done
    ;;
  *) echo "usage: $0 up|down|show" >&2; exit 2 ;;
esac
"""
    return RenderedFile(ROUTES_PATH, text, "0755")


def routes_unit(plan: ClusterPlan) -> RenderedFile:
    """Re-applies the routes at every boot, once the interface is up."""
    return oneshot_unit(ROUTES_UNIT_PATH, "kube-v6 static IPv6 routes", ROUTES_PATH)


def resolv_conf(plan: ClusterPlan, host: HostPlan) -> RenderedFile:
    """Nodes ask the gateway's DNS64; the gateway asks itself."""
    server = "::1" if host.role == "gateway" else str(plan.gateway.address)
    return RenderedFile(RESOLV_PATH, f"# kube-v6: DNS64 on {plan.gateway.name}\nnameserver {server}\noptions edns0\n")


def hosts_file(plan: ClusterPlan, host: HostPlan) -> RenderedFile:
    """The gateway lists every host (one file, linear in N: an operator's jump host). A node lists
    itself, the master and the gateway only, so a node's file stays the same size however many
    nodes there are (every host listing every host is N^2 bytes in all): nothing on a node
    resolves another node's name. The kubelet registers with an explicit --node-ip, and kubeadm
    makes the API server reach kubelets by InternalIP first (--kubelet-preferred-address-types);
    kubeadm's preflight looks up only the node's own name; join discovery uses the API endpoint's
    address. The master's name is kept for operators on the nodes."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    if host.role == "gateway":
        listed = plan.hosts
    else:
        listed = (plan.gateway, plan.master) if host.role == "master" else (plan.gateway, plan.master, host)
    lines += [f"{h.address} {h.name}" for h in listed]
    return RenderedFile(HOSTS_PATH, "# kube-v6\n" + "\n".join(lines) + "\n")
