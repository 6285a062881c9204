"""Per-host kernel and network files: sysctls, modules, static routes, resolver, hosts."""

from __future__ import annotations

from collections.abc import Sequence

import netaddr

from planning.plan import HostPlan
from rendering.files import RenderedFile
from rendering.layout import HOSTS_PATH, MODULES_PATH, RESOLV_PATH, ROUTES_PATH, ROUTES_UNIT_PATH, SYSCTL_PATH
from rendering.systemd import oneshot_unit

# The routing protocol number routes.sh marks its routes with (unassigned in iproute2's rt_protos):
# `up` can tell the routes it made from everyone else's, and drop those the table no longer has.
ROUTES_PROTO = 76


def sysctls(host: HostPlan) -> dict[str, str]:
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


def modules(host: HostPlan, nat64_engine: str) -> list[str]:
    if host.role == "gateway":
        return ["jool"] if nat64_engine == "jool" else ["tun"]
    return ["overlay", "br_netfilter"]


def sysctl_file(host: HostPlan) -> RenderedFile:
    body = "".join(f"{k} = {v}\n" for k, v in sysctls(host).items())
    return RenderedFile(SYSCTL_PATH, f"# kube-v6: {host.name} ({host.role})\n{body}")


def modules_file(host: HostPlan, nat64_engine: str) -> RenderedFile:
    return RenderedFile(MODULES_PATH, "# kube-v6\n" + "".join(f"{m}\n" for m in modules(host, nat64_engine)))


def routes_script(host: HostPlan, dev: str) -> RenderedFile:
    """`routes.sh up|down|show`: the host's static routes on `dev`, applied with `replace` (idempotent).

    The routes are written once, as a table of `<destination> via <next hop> # <label>` lines that
    `up`, `down` and `show` all read: a host's script grows by one short line per route (it
    repeated every route three times before, the largest part of a big cluster's rendered bytes)."""
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
      ip -6 route replace "$dst" via "$via" dev "$DEV" metric 1024 proto {ROUTES_PROTO}
    done
    # A route an earlier table made that this one lacks (a removed node's pod /64) goes.
    ip -6 route show dev "$DEV" proto {ROUTES_PROTO} | while read -r dst _rest; do
      case "$dst" in default) dst=::/0 ;; */*) ;; *) dst="$dst/128" ;; esac  # as the table writes them
      routes | grep -q "^$dst " || ip -6 route del "$dst" dev "$DEV" proto {ROUTES_PROTO} 2>/dev/null || true
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


def routes_unit() -> RenderedFile:
    """Re-applies the routes at every boot, once the interface is up."""
    return oneshot_unit(ROUTES_UNIT_PATH, "kube-v6 static IPv6 routes", ROUTES_PATH)


def resolv_conf(server: netaddr.IPAddress, gateway_name: str) -> RenderedFile:
    """The resolver the plan names (nodes: the gateway's DNS64; the gateway: itself)."""
    return RenderedFile(RESOLV_PATH, f"# kube-v6: DNS64 on {gateway_name}\nnameserver {server}\noptions edns0\n")


def hosts_file(listed: Sequence[HostPlan]) -> RenderedFile:
    """/etc/hosts with `listed` (the plan's `known_hosts` of the host)."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += [f"{h.address} {h.name}" for h in listed]
    return RenderedFile(HOSTS_PATH, "# kube-v6\n" + "\n".join(lines) + "\n")
