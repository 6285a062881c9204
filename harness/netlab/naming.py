"""Names of the lab's namespaces and interfaces: everything starts with `kv6` (see cleanup_stale)."""

from __future__ import annotations

from dataclasses import dataclass

from planning.plan import ClusterPlan, HostPlan

PREFIX = "kv6"
IFNAMSIZ = 15
SWITCH_BRIDGE = "switch0"
INTERNET_IF = "eth0"
SERVICES_IF = "srv0"
POD_IF = "eth0"


def stack_tag(stack: str) -> str:
    """A short tag per stack: the initials of its dash-separated words (lab -> l, lab-bind -> lb)."""
    tag = "".join(part[0] for part in stack.lower().split("-") if part and part[0].isalnum())
    if not tag:
        raise ValueError(f"cannot derive a namespace tag from stack {stack!r}")
    return tag


def _check_ifname(name: str) -> str:
    if len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
    return name


@dataclass(frozen=True)
class LabNames:
    stack: str
    tag: str
    host_short: dict[str, str]  # plan host name -> short name (gw, master, m1, ...)

    @classmethod
    def for_plan(cls, stack: str, plan: ClusterPlan) -> LabNames:
        short = {plan.gateway.name: "gw"}
        masters = [n for n in plan.nodes if n.role == "master"]
        for i, node in enumerate(masters):
            short[node.name] = "master" if len(masters) == 1 else f"ma{i + 1}"
        for i, node in enumerate(plan.minions):
            short[node.name] = f"m{i + 1}"
        return cls(stack, stack_tag(stack), short)

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.tag}"

    def host_ns(self, host: HostPlan | str) -> str:
        name = host if isinstance(host, str) else host.name
        return f"{self.prefix}-{self.host_short[name]}"

    def pod_ns(self, node: HostPlan, index: int) -> str:
        return f"{self.host_ns(node)}-p{index}"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}-sw"

    @property
    def internet_ns(self) -> str:
        return f"{self.prefix}-inet"

    @property
    def stranger_ns(self) -> str:
        return f"{self.prefix}-stranger"

    def switch_port(self, short: str) -> str:
        """The switch-side end of a host's veth."""
        return _check_ifname(f"p-{short}")

    @property
    def state_subdir(self) -> str:
        return self.prefix
