"""The BGP speaker of `network.routing: bgp` on one machine: its config, its start/stop script and
unit, and the step that installs and runs it (kubev6-bgp, artifacts/bgp: GoBGP as a library that
writes the best paths into the kernel with `proto 77`).

The binary comes from the gateway's mirror (the gateway copies it from its own mirror folder, a node
fetches it over HTTP). The step's create waits until the speaker's sessions are established, so the
routes exist when later steps run; its delete stops the speaker (which closes its sessions: the
reflector withdraws the node's pod /64 at once) and removes every route of its protocol."""

from __future__ import annotations

import json

from planning.bgp import BgpPlan, BgpSpeaker
from planning.plan import ClusterPlan, HostPlan, MirrorPlan
from rendering import daemons
from rendering.files import RenderedFile
from rendering.host_network import ROUTES_PROTO
from rendering.layout import (
    BGP_CONFIG_PATH,
    BGP_LOG_PATH,
    BGP_PIDFILE,
    BGP_SCRIPT_PATH,
    BGP_STATUS_PATH,
    BGP_UNIT_PATH,
    ETC_DIR,
    IPVS_PROBE,
    KUBEV6_BIN_DIR,
    MIRROR_DIR,
    RUN_DIR,
    STATE_DIR,
)
from rendering.steps import Step
from rendering.systemd import shared_runtime_directory, systemd_or, unit_file

BINARY = "kubev6-bgp"  # under bin/ of the artifacts and the mirror
BINARY_PATH = f"{KUBEV6_BIN_DIR}/{BINARY}"
ROUTE_PROTO = ROUTES_PROTO + 1  # 77: the speaker's routes, apart from routes.sh's static ones
ROUTE_METRIC = 1024
SESSION_WAIT_SECONDS = 60


def speaker_of(plan: BgpPlan, host: HostPlan) -> BgpSpeaker:
    return plan.speaker(host.name, host.role, host.address, host.pod_subnet)


def config_file(plan: BgpPlan, speaker: BgpSpeaker) -> RenderedFile:
    doc = {
        "asn": plan.asn,
        "routerId": speaker.router_id,
        "address": str(speaker.address),
        "listenPort": speaker.listen_port,
        "announce": [str(p) for p in speaker.announce],
        "peers": [str(p) for p in speaker.peers],
        "dynamicNeighbors": "" if speaker.dynamic_neighbors is None else str(speaker.dynamic_neighbors),
        "device": plan.interface,
        "routeProtocol": ROUTE_PROTO,
        "metric": ROUTE_METRIC,
        "holdTime": plan.hold_time,
        "statusFile": BGP_STATUS_PATH,
    }
    return RenderedFile(BGP_CONFIG_PATH, json.dumps(doc, indent=2) + "\n")


def _command() -> str:
    return f"{BINARY_PATH} -config {BGP_CONFIG_PATH}"


def script_file(speaker: BgpSpeaker) -> RenderedFile:
    """`bgp.sh up|down|status` for machines without systemd: the speaker in a restart loop
    (Restart=always), its process group stopped with SIGTERM so it closes its sessions."""
    up = [
        "running && exit 0",
        f"mkdir -p {RUN_DIR}",
        f"setsid sh -c 'while :; do {_command()}; sleep 2; done' >>{BGP_LOG_PATH} 2>&1 </dev/null &",
        f"echo $! > {BGP_PIDFILE}",
    ]
    return daemons.daemon_script(
        BGP_SCRIPT_PATH,
        [f"kube-v6 BGP speaker of {speaker.host} ({speaker.role}, router ID {speaker.router_id})"],
        [("up", up), ("down", daemons.stop_group(BGP_PIDFILE)), ("status", f"cat {BGP_STATUS_PATH}")],
        preamble=[daemons.running_function(BGP_PIDFILE)],
    )


def unit() -> RenderedFile:
    service = {**shared_runtime_directory(RUN_DIR), "ExecStart": _command(), "Restart": "always", "RestartSec": "2"}
    return unit_file(BGP_UNIT_PATH, "kube-v6 BGP speaker (pod /64 routes)", service)


def _install_binary(host: HostPlan, mirror: MirrorPlan, mirror_dir: str) -> str:
    if host.role == "gateway":
        source = f"cp {mirror_dir}/bin/{BINARY} {BINARY_PATH}.part"
    else:
        source = f"curl -fsS --retry 5 --retry-connrefused -o {BINARY_PATH}.part {mirror.url}/bin/{BINARY}"
    return (
        f"mkdir -p {KUBEV6_BIN_DIR} && {source} && chmod 0755 {BINARY_PATH}.part && mv {BINARY_PATH}.part {BINARY_PATH}"
    )


def wait_established(speaker: BgpSpeaker) -> str:
    """The create ends once this speaker has a session up (a node: to the reflector; the reflector
    itself: at once, its clients connect to it later)."""
    if speaker.role == "gateway":
        return f"for i in $(seq 100); do [ -s {BGP_STATUS_PATH} ] && break; sleep 0.2; done; [ -s {BGP_STATUS_PATH} ]"
    peers = ", ".join(str(p) for p in speaker.peers)
    return (
        f"i=0; until grep -q '\"established\": true' {BGP_STATUS_PATH} 2>/dev/null; do i=$((i + 1)); "
        f"[ $i -lt {SESSION_WAIT_SECONDS * 2} ] || {{ echo 'kube-v6: the BGP session of {speaker.host} to "
        f"{peers} is not established after {SESSION_WAIT_SECONDS} s; the end of "
        f"{BGP_LOG_PATH}:' >&2; tail -n 20 {BGP_LOG_PATH} >&2; exit 1; }}; sleep 0.5; done"
    )


def activate(plan: ClusterPlan, host: HostPlan, mirror_dir: str) -> list[str]:
    assert plan.bgp is not None
    speaker = speaker_of(plan.bgp, host)
    restart = systemd_or(
        "systemctl daemon-reload; systemctl enable kubev6-bgp.service; systemctl restart kubev6-bgp.service",
        f"{BGP_SCRIPT_PATH} down; rm -f {BGP_STATUS_PATH}; {BGP_SCRIPT_PATH} up",
    )
    return [
        _install_binary(host, plan.mirror, mirror_dir),
        f"{BINARY_PATH} -check -config {BGP_CONFIG_PATH} >/dev/null",
        restart,
        wait_established(speaker),
    ]


def deactivate() -> list[str]:
    return [
        systemd_or("systemctl disable --now kubev6-bgp.service", f"{BGP_SCRIPT_PATH} down"),
        # What a killed speaker could not remove itself.
        f"ip -6 route flush proto {ROUTE_PROTO}",
        f"rm -f {BGP_STATUS_PATH} {BINARY_PATH} {BGP_LOG_PATH}",
    ]


def files(plan: ClusterPlan, host: HostPlan) -> tuple[RenderedFile, ...]:
    assert plan.bgp is not None
    speaker = speaker_of(plan.bgp, host)
    return (config_file(plan.bgp, speaker), script_file(speaker), unit())


def bgp_step(plan: ClusterPlan, host: HostPlan) -> Step:
    """Install and (re)start the speaker, then wait for its session; delete: stop it, flush its routes."""
    rendered = files(plan, host)
    return Step(
        files=rendered,
        activate=tuple(activate(plan, host, MIRROR_DIR)),
        deactivate=tuple(deactivate()),
        removes=tuple(f.path for f in rendered),
        cleanup=(f"rmdir {KUBEV6_BIN_DIR} {STATE_DIR} {ETC_DIR} 2>/dev/null",),
        state_dirs=(RUN_DIR, STATE_DIR),
    )


def ipvs_preflight_step(host: HostPlan) -> Step:
    """kube-proxy's ipvs mode needs the kernel's IPVS: present (built in, or loadable), or this fails
    naming the key before kubeadm runs."""
    return Step(
        activate=(
            f"[ -e {IPVS_PROBE} ] || modprobe -q ip_vs 2>/dev/null || true",
            f"[ -e {IPVS_PROBE} ] || {{ echo \"kubev6:kubernetes.kubeProxy.mode: ipvs needs the kernel's IPVS "
            f"(ip_vs), which {host.name} has neither built in nor loadable ({IPVS_PROBE} is missing, modprobe ip_vs "
            f'failed); use iptables or nftables" >&2; exit 1; }}',
            f"echo 'IPVS present on {host.name}'",
        )
    )
