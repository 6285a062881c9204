"""The gateway's NAT64 (Jool or TAYGA), DNS64 (Unbound or BIND9) and relay guard."""

from __future__ import annotations

from planning.plan import Dns64Plan, Nat64Plan
from rendering import daemons
from rendering.files import RenderedFile
from rendering.layout import (
    DNS64_LOG_PATH,
    DNS64_PIDFILE,
    DNS64_SCRIPT_PATH,
    DNS64_UNIT_PATH,
    NAMED_CONF_PATH,
    NAMED_DIRECTORY,
    NAMED_PIDFILE,
    NAT64_NFT_PATH,
    NAT64_SCRIPT_PATH,
    NAT64_UNIT_PATH,
    RUN_DIR,
    TAYGA_CONF_PATH,
    TAYGA_DATA_DIR,
    TAYGA_PIDFILE,
    UNBOUND_CONF_PATH,
    UNBOUND_PIDFILE,
)
from rendering.systemd import oneshot_unit, shared_runtime_directory, unit_file

TAYGA_DEVICE = "nat64"
JOOL_INSTANCE = "kubev6"
NFT_GUARD_TABLE = "kubev6_nat64"
NFT_NAT44_TABLE = "kubev6_nat44"


def tayga_conf(nat64: Nat64Plan) -> RenderedFile:
    lines = [
        f"tun-device {TAYGA_DEVICE}",
        f"ipv4-addr {nat64.tayga_ipv4}",
        f"prefix {nat64.prefix}",
        f"dynamic-pool {nat64.ipv4_pool}",
        f"data-dir {TAYGA_DATA_DIR}",
    ]
    if nat64.tayga_ipv6 is not None:
        # TAYGA cannot map its own IPv4 into the well-known prefix; give it an address of
        # the node network that no host uses (the network's last-but-one address).
        lines.append(f"ipv6-addr {nat64.tayga_ipv6}")
    return RenderedFile(TAYGA_CONF_PATH, "# kube-v6 NAT64 (TAYGA)\n" + "\n".join(lines) + "\n")


def guard_ruleset(nat64: Nat64Plan) -> RenderedFile:
    """nftables: only the cluster's prefixes may use the translator (no open relay);
    with TAYGA, its IPv4 pool is masqueraded behind the uplink."""
    allowed = ", ".join(str(p) for p in nat64.sources)
    uplink = nat64.uplink_interface
    text = f"""# kube-v6 NAT64 guard, rendered from the cluster plan
table inet {NFT_GUARD_TABLE}
delete table inet {NFT_GUARD_TABLE}
table inet {NFT_GUARD_TABLE} {{
  set cluster6 {{
    type ipv6_addr
    flags interval
    elements = {{ {allowed} }}
  }}
  chain guard {{
    # before conntrack and before Jool's netfilter hook
    type filter hook prerouting priority -300; policy accept;
    ip6 daddr {nat64.prefix} ip6 saddr != @cluster6 counter drop comment "not a cluster source"
  }}
}}
"""
    if nat64.engine == "tayga":
        text += f"""table ip {NFT_NAT44_TABLE}
delete table ip {NFT_NAT44_TABLE}
table ip {NFT_NAT44_TABLE} {{
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    ip saddr {nat64.ipv4_pool} oifname "{uplink}" masquerade
  }}
}}
"""
    return RenderedFile(NAT64_NFT_PATH, text)


def nat64_script(nat64: Nat64Plan) -> RenderedFile:
    """`nat64.sh up|down`: start or stop the translator and its guard, idempotently."""
    if nat64.engine == "tayga":
        pool = nat64.ipv4_pool
        up = f"""    mkdir -p {TAYGA_DATA_DIR} {RUN_DIR}
    if ! ip link show {TAYGA_DEVICE} >/dev/null 2>&1; then
      tayga --config {TAYGA_CONF_PATH} --mktun
    fi
    ip link set {TAYGA_DEVICE} up
    ip route replace {pool} dev {TAYGA_DEVICE}
    ip -6 route replace {nat64.prefix} dev {TAYGA_DEVICE}
    if [ -f {TAYGA_PIDFILE} ] && kill -0 "$(cat {TAYGA_PIDFILE})" 2>/dev/null; then :; else
      tayga --config {TAYGA_CONF_PATH} --pidfile {TAYGA_PIDFILE}
    fi"""
        down = f"""    if [ -f {TAYGA_PIDFILE} ]; then
      kill "$(cat {TAYGA_PIDFILE})" 2>/dev/null || true
      rm -f {TAYGA_PIDFILE}
    fi
    ip link del {TAYGA_DEVICE} 2>/dev/null || true
    nft delete table ip {NFT_NAT44_TABLE} 2>/dev/null || true"""
    else:
        up = f"""    modprobe jool
    if ! jool instance display 2>/dev/null | grep -qw {JOOL_INSTANCE}; then
      jool instance add {JOOL_INSTANCE} --netfilter --pool6 {nat64.prefix}
    fi"""
        down = f"""    jool instance remove {JOOL_INSTANCE} 2>/dev/null || true"""
    text = f"""#!/bin/sh
# kube-v6 NAT64 ({nat64.engine}) on {nat64.gateway_name}, rendered from the cluster plan.
set -eu
case "${{1:-up}}" in
  up)
{up}
    nft -f {NAT64_NFT_PATH}
    ;;
  down)
{down}
    nft delete table inet {NFT_GUARD_TABLE} 2>/dev/null || true
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
"""
    return RenderedFile(NAT64_SCRIPT_PATH, text, "0755")


def unbound_conf(dns64: Dns64Plan) -> RenderedFile:
    lines = [
        "# kube-v6 DNS64 (Unbound), rendered from the cluster plan",
        "server:",
        "    verbosity: 1",
        f"    interface: {dns64.listen}",
        "    interface: ::1",
        "    port: 53",
        "    do-ip4: yes",
        "    do-ip6: yes",
        '    chroot: ""',
        f'    pidfile: "{UNBOUND_PIDFILE}"',
        "    use-syslog: no",
        '    logfile: ""',
        # Only the cluster may ask: not an open resolver.
        "    access-control: 0.0.0.0/0 refuse",
        "    access-control: ::/0 refuse",
        *(f"    access-control: {c} allow" for c in dns64.clients),
        '    module-config: "dns64 iterator"',
        f"    dns64-prefix: {dns64.prefix}",
        *(f'    local-zone: "{z}" nodefault' for z in dns64.local_zones),
        *(f'    domain-insecure: "{z}"' for z in dns64.local_zones),
        "forward-zone:",
        '    name: "."',
        *(f"    forward-addr: {u}" for u in dns64.upstream),
    ]
    return RenderedFile(UNBOUND_CONF_PATH, "\n".join(lines) + "\n")


def named_conf(dns64: Dns64Plan) -> RenderedFile:
    clients = "; ".join(dns64.clients)
    upstream = "; ".join(str(u) for u in dns64.upstream)
    text = f"""// kube-v6 DNS64 (BIND9), rendered from the cluster plan
options {{
    directory "{NAMED_DIRECTORY}";
    pid-file "{NAMED_PIDFILE}";
    listen-on-v6 {{ {dns64.listen}; ::1; }};
    listen-on {{ none; }};
    // Only the cluster may ask: not an open resolver.
    allow-query {{ {clients}; }};
    allow-recursion {{ {clients}; }};
    recursion yes;
    forward only;
    forwarders {{ {upstream}; }};
    dnssec-validation no;
    dns64 {dns64.prefix} {{
        clients {{ {clients}; }};
    }};
}};
"""
    return RenderedFile(NAMED_CONF_PATH, text)


def dns64_conf(dns64: Dns64Plan) -> RenderedFile:
    return unbound_conf(dns64) if dns64.engine == "unbound" else named_conf(dns64)


def dns64_command(engine: str) -> list[str]:
    """The resolver in the foreground (systemd or the lab supervise it)."""
    if engine == "unbound":
        return ["unbound", "-d", "-p", "-c", UNBOUND_CONF_PATH]
    return ["named", "-f", "-c", NAMED_CONF_PATH]


def dns64_check_command(engine: str) -> list[str]:
    if engine == "unbound":
        return ["unbound-checkconf", UNBOUND_CONF_PATH]
    return ["named-checkconf", NAMED_CONF_PATH]


def dns64_script(dns64: Dns64Plan) -> RenderedFile:
    """`dns64.sh up|down` for hosts without systemd: start or stop the resolver in the background."""
    pid = '"$PIDFILE"'
    up = [
        f"mkdir -p {RUN_DIR}",
        " ".join(dns64_check_command(dns64.engine)),
        f"if {daemons.alive(pid)}; then exit 0; fi",
        *daemons.background(" ".join(dns64_command(dns64.engine)), pid, DNS64_LOG_PATH),
    ]
    return daemons.daemon_script(
        DNS64_SCRIPT_PATH,
        [f"kube-v6 DNS64 ({dns64.engine}) on {dns64.gateway_name}"],
        [("up", up), ("down", [daemons.kill_pidfile(pid)])],
        preamble=[f"PIDFILE={DNS64_PIDFILE}"],
    )


def nat64_unit() -> RenderedFile:
    return oneshot_unit(
        NAT64_UNIT_PATH,
        "kube-v6 NAT64 translator and relay guard",
        NAT64_SCRIPT_PATH,
        after="network-online.target kubev6-routes.service",
        extra=shared_runtime_directory(RUN_DIR),  # TAYGA's pidfile
    )


def dns64_unit(engine: str) -> RenderedFile:
    service = {
        # The resolvers' pidfiles are in RUN_DIR, and unbound-checkconf refuses a config whose
        # pidfile directory is missing: under systemd nothing else creates it on a fresh boot.
        **shared_runtime_directory(RUN_DIR),
        "ExecStartPre": " ".join(dns64_check_command(engine)),
        "ExecStart": " ".join(dns64_command(engine)),
        "Restart": "on-failure",
    }
    return unit_file(DNS64_UNIT_PATH, f"kube-v6 DNS64 resolver ({engine})", service)
