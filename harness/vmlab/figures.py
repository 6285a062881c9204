"""Where the time of a `pulumi up` of the VM lab goes: libvirt resources, guest boot, configuration,
and the critical path (the slowest chain of dependent resources) against the wall time.

Inputs: the engine's step timeline (`OpResult.timeline`: when each resource started and finished),
when each guest first accepted a TCP connection on port 22 (`SshWatcher`), and the stack's state
export (each resource's dependencies, parent and provider).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.commons.engine import OpResult
from planning.plan import ClusterPlan


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def urn_type(urn: str) -> str:
    return urn.split("::")[2].rsplit("$", 1)[-1]


@dataclass
class HostTimes:
    domain_started: float | None  # the libvirt Domain resource finished (defined and started)
    ssh_seen: float | None  # first TCP accept on port 22
    configured: float | None  # its last remote command finished

    @property
    def boot(self) -> float | None:
        if self.domain_started is None or self.ssh_seen is None:
            return None
        return self.ssh_seen - self.domain_started

    @property
    def configuration(self) -> float | None:
        if self.ssh_seen is None or self.configured is None:
            return None
        return self.configured - self.ssh_seen


@dataclass
class UpFigures:
    total: float
    infra: float  # until the last domain was started (pool, image upload, volumes, networks, domains)
    booted: float  # until the last guest answered SSH
    configured: float  # until the last remote command finished
    hosts: dict[str, HostTimes]
    critical_path: float
    critical_chain: list[tuple[str, float]]
    busy: float  # sum of every resource's own time
    durations: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name, h in self.hosts.items():
            d["hosts"][name].update(boot=h.boot, configuration=h.configuration)
        return d

    def report(self) -> str:
        lines = [
            f"up {self.total:.1f}s: libvirt resources until the last domain started {self.infra:.1f}s, "
            f"boot until the last guest answered SSH +{self.booted - self.infra:.1f}s, "
            f"configuration until the last command +{self.configured - self.booted:.1f}s, "
            f"engine wrap-up +{self.total - self.configured:.1f}s",
        ]
        for name, h in self.hosts.items():
            lines.append(
                f"  {name:<18} domain started {_f(h.domain_started)}  SSH {_f(h.ssh_seen)} (boot {_f(h.boot)})  "
                f"configured {_f(h.configured)} (configuration {_f(h.configuration)})"
            )
        chain = " -> ".join(f"{n} {s:.1f}s" for n, s in self.critical_chain)
        lines.append(
            f"critical path {self.critical_path:.1f}s = {self.critical_path / self.total:.2f} of the wall time; "
            f"resources' own times add up to {self.busy:.1f}s = {self.busy / self.total:.2f}x the wall time"
        )
        lines.append(f"  chain: {chain}")
        return "\n".join(lines)


def _f(v: float | None) -> str:
    return "  n/a " if v is None else f"{v:6.1f}s"


def step_times(result: OpResult) -> dict[str, tuple[float, float]]:
    """URN -> (start, end) of every resource step that finished."""
    start: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for t, kind, _op, urn in result.timeline:
        if kind == "start":
            start[urn] = t
        elif kind == "done" and urn in start:
            out[urn] = (start[urn], t)
    return out


def critical_path(
    times: dict[str, tuple[float, float]], export: dict[str, Any]
) -> tuple[float, list[tuple[str, float]], float]:
    """The longest chain of dependent resources by their own times (start to end of each step).
    A dependency on a component means on everything under it; a resource also waits for its provider."""
    resources = export.get("deployment", {}).get("resources", [])
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        if r.get("parent"):
            children.setdefault(r["parent"], []).append(r["urn"])

    def expand(urn: str) -> list[str]:
        r = by_urn.get(urn)
        if r is None:
            return []
        if r.get("custom", False):
            return [urn]
        return [d for c in children.get(urn, []) for d in expand(c)]

    def deps(urn: str) -> set[str]:
        r = by_urn[urn]
        out = {d for dep in r.get("dependencies", []) or [] for d in expand(dep)}
        if r.get("provider"):
            out.add(r["provider"].rsplit("::", 1)[0])
        return out - {urn}

    def own(urn: str) -> float:
        s, e = times.get(urn, (0.0, 0.0))
        return e - s

    finish: dict[str, tuple[float, str | None]] = {}

    def ef(urn: str) -> float:
        if urn not in finish:
            best, via = 0.0, None
            for d in deps(urn):
                if d in by_urn and ef(d) > best:
                    best, via = ef(d), d
            finish[urn] = (best + own(urn), via)
        return finish[urn][0]

    customs = [r["urn"] for r in resources if r.get("custom", False)]
    if not customs:
        return 0.0, [], 0.0
    end = max(customs, key=ef)
    chain: list[tuple[str, float]] = []
    cur: str | None = end
    while cur is not None:
        chain.append((urn_name(cur), own(cur)))
        cur = finish[cur][1]
    busy = sum(own(u) for u in customs)
    return ef(end), list(reversed(chain)), busy


def up_figures(
    plan: ClusterPlan, stack: str, result: OpResult, ssh_seen: dict[str, float], export_text: str
) -> UpFigures:
    times = step_times(result)
    hosts: dict[str, HostTimes] = {}
    for h in plan.hosts:
        domain = [e for u, (_, e) in times.items() if urn_type(u) == "libvirt:index/domain:Domain"
                  and urn_name(u) == f"{h.name}-domain"]  # fmt: skip
        commands = [e for u, (_, e) in times.items() if urn_type(u) == "command:remote:Command"
                    and urn_name(u).startswith(f"{h.name}-")]  # fmt: skip
        hosts[h.name] = HostTimes(
            domain[0] if domain else None, ssh_seen.get(h.name), max(commands) if commands else None
        )
    infra = max((t.domain_started or 0.0) for t in hosts.values())
    booted = max((t.ssh_seen or 0.0) for t in hosts.values())
    configured = max((t.configured or 0.0) for t in hosts.values())
    cp, chain, busy = critical_path(times, json.loads(export_text))
    durations = {urn_name(u): round(e - s, 2) for u, (s, e) in times.items()}
    return UpFigures(result.seconds, infra, booted, configured, hosts, cp, chain, busy, durations)
