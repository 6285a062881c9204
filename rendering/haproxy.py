"""The API load balancer on the gateway (kubernetes.controlPlaneEndpoint.mode: gateway-haproxy):
Debian's HAProxy in TCP mode in front of every master's kube-apiserver.

TLS passes through untouched (the API servers' certificates name the endpoint: kubeadm adds the
controlPlaneEndpoint's address to each master's serving certificate). Each API server is checked
every 2 s with `GET /readyz` over TLS (unauthenticated: kubeadm's clusters let anyone read the
health endpoints) and taken out after 2 failed checks; a connection that fails is sent to another
server (`option redispatch`), so a lost master costs clients one reconnect.
"""

from __future__ import annotations

from planning.plan import ApiLoadBalancerPlan
from rendering.files import RenderedFile
from rendering.layout import (
    HAPROXY_BINARY,
    HAPROXY_CONF_PATH,
    HAPROXY_LOG_PATH,
    HAPROXY_PIDFILE,
    HAPROXY_RUNNING_CONF,
    HAPROXY_SCRIPT_PATH,
    HAPROXY_UNIT_PATH,
    RUN_DIR,
)
from rendering.systemd import shared_runtime_directory, unit_file

FRONTEND = "kube-apiserver"
# Long-lived API watches stay open through the balancer; the API server ends them well before.
IDLE_TIMEOUT = "15m"


def haproxy_conf(lb: ApiLoadBalancerPlan) -> RenderedFile:
    servers = [
        f"    server {name} [{address}]:{lb.api_server_port} check check-ssl verify none inter 2s fall 2 rise 2"
        for name, address in lb.backends
    ]
    text = "\n".join(
        [
            f"# kube-v6 API load balancer on {lb.gateway_name}, rendered from the cluster plan",
            "global",
            "    maxconn 4000",
            "defaults",
            "    mode tcp",
            "    option dontlognull",
            "    option redispatch",
            "    retries 3",
            "    timeout connect 5s",
            f"    timeout client {IDLE_TIMEOUT}",
            f"    timeout server {IDLE_TIMEOUT}",
            f"frontend {FRONTEND}",
            f"    bind [{lb.listen}]:{lb.port}",
            f"    default_backend {FRONTEND}",
            f"backend {FRONTEND}",
            "    balance roundrobin",
            "    option httpchk GET /readyz",
            "    http-check expect status 200",
            *servers,
        ]
    )
    return RenderedFile(HAPROXY_CONF_PATH, text + "\n")


def _address_commands(lb: ApiLoadBalancerPlan) -> tuple[str, str]:
    """Add and remove the endpoint's own address on the gateway (nothing when it is the gateway's)."""
    if not lb.own_address:
        return ":", ":"
    where = f"{lb.listen}/128 dev {lb.interface}"
    # nodad: HAProxy binds at once, before duplicate address detection would end.
    return f"ip -6 addr replace {where} nodad", f"ip -6 addr del {where} 2>/dev/null || true"


def haproxy_script(lb: ApiLoadBalancerPlan) -> RenderedFile:
    """`haproxy.sh up|down|prepare` for hosts without systemd (systemd runs `prepare` before HAProxy).
    `up` starts HAProxy, or starts it again when its config changed (a master added or removed)."""
    add, remove = _address_commands(lb)
    text = f"""#!/bin/sh
# kube-v6 API load balancer (HAProxy) on {lb.gateway_name}
set -eu
PIDFILE={HAPROXY_PIDFILE}
running() {{ [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }}
case "${{1:-up}}" in
  prepare)
    mkdir -p {RUN_DIR}
    {add}
    haproxy -c -q -f {HAPROXY_CONF_PATH}
    ;;
  up)
    "$0" prepare
    if running; then
      if cmp -s {HAPROXY_CONF_PATH} {HAPROXY_RUNNING_CONF}; then exit 0; fi
      kill "$(cat "$PIDFILE")"
      i=0; while running && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    cp {HAPROXY_CONF_PATH} {HAPROXY_RUNNING_CONF}
    nohup haproxy -db -f {HAPROXY_CONF_PATH} >{HAPROXY_LOG_PATH} 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    sleep 1
    running || {{ echo "kube-v6: HAProxy did not start:" >&2; cat {HAPROXY_LOG_PATH} >&2; exit 1; }}
    ;;
  down)
    if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
    rm -f {HAPROXY_RUNNING_CONF}
    {remove}
    ;;
  *) echo "usage: $0 up|down|prepare" >&2; exit 2 ;;
esac
"""
    return RenderedFile(HAPROXY_SCRIPT_PATH, text, "0755")


def haproxy_unit() -> RenderedFile:
    service = {
        **shared_runtime_directory(RUN_DIR),
        "Type": "notify",
        "ExecStartPre": f"{HAPROXY_SCRIPT_PATH} prepare",
        "ExecStart": f"{HAPROXY_BINARY} -Ws -f {HAPROXY_CONF_PATH} -p {HAPROXY_PIDFILE}",
        "ExecReload": "/bin/kill -USR2 $MAINPID",
        "Restart": "on-failure",
    }
    return unit_file(HAPROXY_UNIT_PATH, "kube-v6 API load balancer (HAProxy)", service)
