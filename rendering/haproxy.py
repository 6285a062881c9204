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
from rendering import daemons
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
    pid, conf, log = '"$PIDFILE"', HAPROXY_CONF_PATH, HAPROXY_LOG_PATH
    prepare = [f"mkdir -p {RUN_DIR}", add, f"haproxy -c -q -f {conf}"]
    up = [
        '"$0" prepare',
        "if running; then",
        f"  if cmp -s {conf} {HAPROXY_RUNNING_CONF}; then exit 0; fi",
        f'  kill "$(cat {pid})"',
        '  i=0; while running && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
        "fi",
        f"cp {conf} {HAPROXY_RUNNING_CONF}",
        f"nohup haproxy -db -f {conf} >{log} 2>&1 </dev/null &",  # stdin closed, unlike daemons.background
        f"echo $! > {pid}",
        "sleep 1",
        f'running || {{ echo "kube-v6: HAProxy did not start:" >&2; cat {log} >&2; exit 1; }}',
    ]
    down = [daemons.kill_pidfile(pid), f"rm -f {HAPROXY_RUNNING_CONF}", remove]
    return daemons.daemon_script(
        HAPROXY_SCRIPT_PATH,
        [f"kube-v6 API load balancer (HAProxy) on {lb.gateway_name}"],
        [("prepare", prepare), ("up", up), ("down", down)],
        preamble=[f"PIDFILE={HAPROXY_PIDFILE}", daemons.running_function(pid)],
        usage="up|down|prepare",
    )


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
