"""The gateway's artifact mirror (kubernetes.artifacts: mirror): an HTTP server on the gateway's
IPv6 address serving the binaries and image archives the nodes install."""

from __future__ import annotations

from planning.plan import MirrorPlan
from rendering.files import RenderedFile
from rendering.gateway import RUN_DIR
from rendering.systemd import shared_runtime_directory, unit_file

MIRROR_DIR = "/var/lib/kubev6/mirror"
MIRROR_SCRIPT_PATH = "/etc/kubev6/mirror.sh"
MIRROR_UNIT_PATH = "/etc/systemd/system/kubev6-mirror.service"
PIDFILE = f"{RUN_DIR}/mirror.pid"


def server_command(mirror: MirrorPlan) -> list[str]:
    return ["python3", "-m", "http.server", str(mirror.port), "--bind", str(mirror.address), "--directory", MIRROR_DIR]


def mirror_script(mirror: MirrorPlan) -> RenderedFile:
    """`mirror.sh up|down` for hosts without systemd."""
    return RenderedFile(
        MIRROR_SCRIPT_PATH,
        f"""#!/bin/sh
# kube-v6 artifact mirror on {mirror.gateway_name}
set -eu
case "${{1:-up}}" in
  up)
    mkdir -p {RUN_DIR}
    if [ -f {PIDFILE} ] && kill -0 "$(cat {PIDFILE})" 2>/dev/null; then exit 0; fi
    nohup {" ".join(server_command(mirror))} >/dev/null 2>&1 &
    echo $! > {PIDFILE}
    ;;
  down)
    if [ -f {PIDFILE} ]; then kill "$(cat {PIDFILE})" 2>/dev/null || true; rm -f {PIDFILE}; fi
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
""",
        "0755",
    )


def mirror_unit(mirror: MirrorPlan) -> RenderedFile:
    service = {**shared_runtime_directory(RUN_DIR), "ExecStart": " ".join(server_command(mirror)), "Restart": "always"}
    return unit_file(MIRROR_UNIT_PATH, "kube-v6 artifact mirror (HTTP over IPv6)", service)


def wait_serving(mirror: MirrorPlan) -> str:
    """The step ends once the mirror answers, so nodes never race its start."""
    url = f"{mirror.url}/"
    probe = f"curl -fsS -o /dev/null {url}"
    return f"for i in $(seq 100); do {probe} && break; sleep 0.1; done; {probe}"
