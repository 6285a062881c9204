"""The gateway's artifact mirror (kubernetes.artifacts: mirror), on the gateway's IPv6 address:
- an HTTP server for the binaries and image archives the nodes install;
- an OCI registry (the CNCF distribution registry, read-only) holding every built image, which
  the nodes' containerd uses as its mirror of registry.k8s.io and docker.io, so pulls work
  air-gapped (`imagePullPolicy: Always` too). Its storage is built with the artifacts and copied
  as one archive; the step unpacks it when its digest changes."""

from __future__ import annotations

from planning.plan import MirrorPlan
from rendering import daemons
from rendering.files import RenderedFile
from rendering.layout import (
    MIRROR_DIR,
    MIRROR_PIDFILE,
    MIRROR_REGISTRY_ARCHIVE,
    MIRROR_REGISTRY_BINARY,
    MIRROR_SCRIPT_PATH,
    MIRROR_UNIT_PATH,
    REGISTRY_CONFIG_PATH,
    REGISTRY_PIDFILE,
    REGISTRY_ROOT,
    REGISTRY_STAMP,
    REGISTRY_UNIT_PATH,
    RUN_DIR,
)
from rendering.systemd import shared_runtime_directory, unit_file


def server_command(mirror: MirrorPlan) -> list[str]:
    return ["python3", "-m", "http.server", str(mirror.port), "--bind", str(mirror.address), "--directory", MIRROR_DIR]


def registry_command() -> list[str]:
    return [MIRROR_REGISTRY_BINARY, "serve", REGISTRY_CONFIG_PATH]


def registry_config(mirror: MirrorPlan) -> RenderedFile:
    """Read-only: the storage is what the build pushed; nothing on the cluster writes to it."""
    return RenderedFile(
        REGISTRY_CONFIG_PATH,
        f"""# kube-v6: the gateway's OCI registry on {mirror.gateway_name} (distribution, read-only)
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {REGISTRY_ROOT}
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: true
http:
  addr: "[{mirror.address}]:{mirror.registry_port}"
  headers:
    X-Content-Type-Options: [nosniff]
""",
    )


def _daemon_lines(command: list[str], pidfile: str) -> list[str]:
    started = daemons.background(" ".join(command), pidfile, "/dev/null")
    return [f"if ! {{ {daemons.alive(pidfile)}; }}; then", *(f"  {line}" for line in started), "fi"]


def mirror_script(mirror: MirrorPlan, *, registry: bool) -> RenderedFile:
    """`mirror.sh up|down` for hosts without systemd: the HTTP server, and the registry if built."""
    served = [(server_command(mirror), MIRROR_PIDFILE)]
    if registry:
        served.append((registry_command(), REGISTRY_PIDFILE))
    up = [f"mkdir -p {RUN_DIR}", *(line for command, pid in served for line in _daemon_lines(command, pid))]
    down = [daemons.kill_pidfile(pid) for _, pid in served]
    return daemons.daemon_script(
        MIRROR_SCRIPT_PATH, [f"kube-v6 artifact mirror on {mirror.gateway_name}"], [("up", up), ("down", down)]
    )


def mirror_unit(mirror: MirrorPlan) -> RenderedFile:
    service = {**shared_runtime_directory(RUN_DIR), "ExecStart": " ".join(server_command(mirror)), "Restart": "always"}
    return unit_file(MIRROR_UNIT_PATH, "kube-v6 artifact mirror (HTTP over IPv6)", service)


def registry_unit() -> RenderedFile:
    service = {**shared_runtime_directory(RUN_DIR), "ExecStart": " ".join(registry_command()), "Restart": "always"}
    return unit_file(REGISTRY_UNIT_PATH, "kube-v6 OCI registry (read-only mirror of the built images)", service)


def unpack_registry() -> str:
    """The storage from the copied archive, again only when the archive changed."""
    archive, root = MIRROR_REGISTRY_ARCHIVE, REGISTRY_ROOT
    digest = f"$(sha256sum {archive} | cut -d' ' -f1)"
    return (
        f'if [ "$(cat {REGISTRY_STAMP} 2>/dev/null)" != "{digest}" ]; then '
        f"rm -rf {root} && mkdir -p {root} && tar -C {root} -xf {archive} && "
        f"chmod 0755 {MIRROR_REGISTRY_BINARY} && sha256sum {archive} | cut -d' ' -f1 > {REGISTRY_STAMP}; "
        "restart_registry=1; fi"
    )


def wait_serving(mirror: MirrorPlan, *, registry: bool) -> str:
    """The step ends once the mirror answers, so nodes never race its start."""
    urls = [f"{mirror.url}/", *([f"{mirror.registry_url}/v2/"] if registry else [])]
    probe = " && ".join(f"curl -fsS -o /dev/null {url}" for url in urls)
    return f"for i in $(seq 100); do {probe} && break; sleep 0.1; done; {probe}"
