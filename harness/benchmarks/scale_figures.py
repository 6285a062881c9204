"""Scale figures: the whole program (`__main__.py`) evaluated under Pulumi mocks for a stack of
N minions, each N in a fresh process.

    .venv/bin/python benchmarks/scale_figures.py [--minions 100 500 1000] [--template large] [--routing bgp]

The stack is the template's (`Pulumi.<template>.yaml`) with its nodes replaced by its master and N
minions numbered upwards in its node prefix (pod /64s derived from the supernet). Prints per N: the
evaluation's wall time and the process's peak RSS, the resources declared against 7N+28, the time
split (config load and validation / planning / rendering / the rest: resource declaration and the
mocks), and the bytes rendered per host (every remote command's create and delete script, max and
mean over the hosts) with the routes per host and the bytes per route, so linear growth shows.

`--routing bgp` sets `network.routing: bgp` (and `kubernetes.artifacts: mirror`, which it needs; the
artifacts must be built): no host then renders a pod route, and a node's bytes (`node max`) stay the
same whatever N; the gateway's still grow with its /etc/hosts (every machine).

Targets (issue 13): 500 minions under 8 s and 300 MB, 1000 minions under 20 s; per-host bytes
linear in N. A script that prints them, not a timed test: on 2 shared cores the times move with the
machine's load.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import inspect
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Modules whose public functions are rendering (pure: plan -> text).
RENDERING_MODULES = (
    "rendering.cloud_init",
    "rendering.cni",
    "rendering.files",
    "rendering.gateway",
    "rendering.host_network",
    "rendering.kubeadm",
    "rendering.mirror",
    "rendering.node_install",
    "rendering.packages",
    "rendering.steps",
    "rendering.systemd",
)
# Issue 13's targets: minions -> (seconds, MB); None: no target.
TARGETS: dict[int, tuple[float, float | None]] = {500: (8.0, 300.0), 1000: (20.0, None)}


def resources_expected(minions: int) -> int:
    """What the program declares with every stage on (issue 13 measured it): 7 per minion
    (node, network, packages, CNI component and command, kubeadm join component and command)."""
    return 7 * minions + 28


# --- the stack ---------------------------------------------------------------------------------


def scaled_overrides(template: str, minions: int, routing: str = "static") -> dict[str, Any]:
    """The template's config with its master and `minions` minions at consecutive free host
    parts of its node prefix (pod subnets left to the derivation)."""
    import netaddr
    import yaml

    config = yaml.safe_load((ROOT / f"Pulumi.{template}.yaml").read_text())["config"]
    prefix = netaddr.IPNetwork(config["kubev6:network"]["nodePrefix"])
    master = next(n for n in config["kubev6:nodes"] if n["role"] == "master")
    taken = {
        int(netaddr.IPAddress(master["address"])),
        int(netaddr.IPAddress(config["kubev6:gateway"]["address"])),
        int(prefix[1]),  # a libvirt host's bridge
        int(prefix[-2]),  # TAYGA's own address with the well-known prefix
    }
    nodes = [{"name": master["name"], "role": "master", "address": master["address"]}]
    host = int(netaddr.IPAddress(master["address"])) + 1
    while len(nodes) <= minions:
        if host not in taken:
            nodes.append({"name": f"minion-{len(nodes)}", "role": "minion", "address": str(netaddr.IPAddress(host, 6))})
        host += 1
    overrides: dict[str, Any] = {"kubev6:nodes": nodes}
    if routing == "bgp":
        overrides["kubev6:network"] = {**config["kubev6:network"], "routing": "bgp"}
        overrides["kubev6:kubernetes"] = {**config.get("kubev6:kubernetes", {}), "artifacts": "mirror"}
    return overrides


# --- one evaluation (in the child process) -----------------------------------------------------


class Timers:
    """Wall time spent in named phases, counting only the outermost call (renderers call each other)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._depth = 0

    def time_gc(self) -> None:
        """Also the cyclic garbage collector's passes (they happen inside any phase: shown apart)."""
        started: list[float] = []

        def callback(event: str, _info: dict[str, int]) -> None:
            if event == "start":
                started.append(time.perf_counter())
            elif started:
                self.gc_seconds += time.perf_counter() - started.pop()

        self.gc_seconds = 0.0
        gc.callbacks.append(callback)

    def wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start
                self._depth -= 1

        return timed


def instrument(timers: Timers) -> dict[str, Any]:
    """Time config loading, planning and every renderer; before the program imports them, so
    `from rendering.x import f` binds the timed function too. Returns a holder for the plan."""
    import config_schemas.pulumi_config as pulumi_config
    import planning
    import planning.plan

    captured: dict[str, Any] = {}
    pulumi_config.load_stack_config = timers.wrap("config", pulumi_config.load_stack_config)

    def make_plan(*args: Any, **kwargs: Any) -> Any:
        captured["plan"] = planning.plan.make_plan(*args, **kwargs)
        return captured["plan"]

    timed_plan = timers.wrap("planning", make_plan)
    planning.make_plan = timed_plan  # type: ignore[attr-defined]
    for name in RENDERING_MODULES:
        module = importlib.import_module(name)
        for attr, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == name and not attr.startswith("__"):
                setattr(module, attr, timers.wrap("rendering", value))
    return captured


def _unwrap(value: Any) -> Any:
    """A secret input (the join script holds the token) arrives as {<signature>: ..., "value": ...}."""
    return value.get("value") if isinstance(value, dict) else value


def per_host_bytes(recorder: Any, plan: Any) -> dict[str, int]:
    """Bytes of every remote command's scripts, by the host it runs on (its SSH host)."""
    by_ssh_host = {h.ssh_host: h.name for h in plan.hosts}
    sizes: dict[str, int] = dict.fromkeys(by_ssh_host.values(), 0)
    for r in recorder.of_type("command:remote:Command"):
        connection = r.inputs["connection"]
        host = by_ssh_host[connection.get("value", connection)["host"]]  # wrapped: it holds the private key
        sizes[host] += sum(len(_unwrap(r.inputs.get(k)) or "") for k in ("create", "update", "delete"))
    return sizes


def evaluate(template: str, minions: int, routing: str = "static") -> dict[str, Any]:
    from rendering import host_network

    timers = Timers()
    timers.time_gc()
    captured = instrument(timers)
    from harness.commons.program_mocks import run_program

    overrides = scaled_overrides(template, minions, routing)
    start = time.perf_counter()
    # What __main__.py imports (the provider SDKs take most of it), timed apart from the rest.
    for module in ("components", "components.mirror", "program.outputs"):
        importlib.import_module(module)
    timers.seconds["imports"] = time.perf_counter() - start
    recorder, _ = run_program(template, overrides)
    seconds = time.perf_counter() - start
    phases = dict(timers.seconds)  # before the figures below render again
    plan = captured["plan"]
    sizes = per_host_bytes(recorder, plan)
    routes = {h.name: len(h.routes) for h in plan.hosts}
    route_bytes = {h.name: len(host_network.routes_script(h, plan.cluster_interface).content) for h in plan.hosts}
    node_names = [h.name for h in plan.nodes]
    return {
        "minions": minions,
        "seconds": seconds,
        "phases": phases,
        "gc_seconds": timers.gc_seconds,
        "resources": len(recorder.resources),
        "bytes_max": max(sizes.values()),
        "node_bytes_max": max(sizes[n] for n in node_names),
        "bytes_mean": sum(sizes.values()) / len(sizes),
        "bytes_total": sum(sizes.values()),
        "routes_max": max(routes.values()),
        "routes_sh_max": max(route_bytes[n] for n in node_names),
        "bytes_per_route": sum(route_bytes[n] for n in node_names) / max(1, sum(routes[n] for n in node_names)),
    }


# --- the parent ----------------------------------------------------------------------------------


@dataclass
class Figures:
    data: dict[str, Any]
    peak_mb: float
    cpu_seconds: float  # the whole child process (imports too): steadier than wall time on busy cores

    @property
    def minions(self) -> int:
        return int(self.data["minions"])


@contextmanager
def _child(cmd: list[str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()


def measure(template: str, minions: int, routing: str = "static") -> Figures:
    """One evaluation in a fresh interpreter; its peak RSS from wait4 (the child's own rusage)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(minions), "--template", template]
    cmd += ["--routing", routing]
    with _child(cmd) as proc:
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{minions} minions: the evaluation failed (exit {proc.returncode})")
    # ru_maxrss is in KiB on Linux
    return Figures(json.loads(out), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def report(f: Figures) -> list[str]:
    d, n = f.data, f.minions
    expected = resources_expected(n)
    split = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(d["phases"].items()))
    rest = d["seconds"] - sum(d["phases"].values())
    lines = [
        f"{n} minions: evaluation {d['seconds']:.2f}s, peak RSS {f.peak_mb:.0f} MB "
        f"(the process: {f.cpu_seconds:.1f}s CPU, the figures after the evaluation included)",
        f"  resources {d['resources']} ({'=' if d['resources'] == expected else '!='} 7N+28 = {expected})",
        f"  split: {split}, declaration and mocks {rest:.2f}s (garbage collection within these {d['gc_seconds']:.2f}s)",
        f"  rendered per host: max {d['bytes_max'] / 1024:.1f} KiB, node max {d['node_bytes_max'] / 1024:.1f} KiB, "
        f"mean {d['bytes_mean'] / 1024:.1f} KiB, "
        f"all hosts {d['bytes_total'] / 1e6:.1f} MB; routes per host {d['routes_max']}, "
        f"routes.sh max {d['routes_sh_max'] / 1024:.1f} KiB, "
        f"{d['bytes_per_route']:.0f} bytes per route (its fixed part included)",
    ]
    if n in TARGETS:
        seconds, mb = TARGETS[n]
        verdicts = [f"time {'PASS' if d['seconds'] < seconds else 'MISS'} (< {seconds:.0f} s)"]
        if mb is not None:
            verdicts.append(f"memory {'PASS' if f.peak_mb < mb else 'MISS'} (< {mb:.0f} MB)")
        lines.append("  target: " + ", ".join(verdicts))
    return lines


def growth(figures: list[Figures]) -> list[str]:
    """Per-host bytes against N: linear means bytes per minion stays flat from one N to the next."""
    lines = []
    ordered = sorted(figures, key=lambda f: f.minions)
    for a, b in itertools.pairwise(ordered):
        ratio_n = b.minions / a.minions
        ratio_bytes = b.data["bytes_max"] / a.data["bytes_max"]
        slope = (b.data["bytes_max"] - a.data["bytes_max"]) / (b.minions - a.minions)
        node_slope = (b.data["node_bytes_max"] - a.data["node_bytes_max"]) / (b.minions - a.minions)
        lines.append(
            f"{a.minions} -> {b.minions} minions (x{ratio_n:.1f}): max per-host bytes x{ratio_bytes:.2f}, "
            f"{slope:.0f} bytes per added minion; a node's {node_slope:.0f} bytes per added minion"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minions", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--template", default="large", help="the stack file whose config is scaled")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--routing", choices=["static", "bgp"], default="static", help="network.routing")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(evaluate(args.template, args.child, args.routing)))
        return 0
    figures = []
    for n in args.minions:
        f = measure(args.template, n, args.routing)
        figures.append(f)
        print("\n".join(report(f)), flush=True)
    for line in growth(figures):
        print(line)
    if args.json:
        rows = [{**f.data, "peak_mb": f.peak_mb, "cpu_seconds": f.cpu_seconds} for f in figures]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
