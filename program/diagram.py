"""The topology diagram, drawn from the plan: `python -m program.diagram --stack dev -o docs/topology.svg`.

`topology_dot` is a pure function of the plan (Graphviz DOT text); `render_svg` runs Graphviz's `dot`
(Debian's `graphviz`, which scripts/install-deps.sh installs). The resource graph is Pulumi's own:
`pulumi stack graph graph.dot` after an `up`.
"""

from __future__ import annotations

import argparse
import html
import subprocess
import sys
from pathlib import Path

from config_schemas.stack_files import load_stack_file
from planning.plan import ClusterPlan, HostPlan, make_plan

_FONT = "Helvetica"
_ROLE_COLOUR = {"gateway": "#fde2b8", "master": "#c9e4ff", "minion": "#d9f2d0"}


def _label(title: str, lines: list[str]) -> str:
    """A Graphviz HTML label: a bold title, then one line each (escaped: addresses hold ':')."""
    rows = [f"<B>{html.escape(title)}</B>", *(html.escape(line) for line in lines)]
    return "<" + "<BR/>".join(rows) + ">"


def _node(key: str, title: str, lines: list[str], colour: str, shape: str = "box") -> str:
    return f'  "{key}" [shape={shape}, style="rounded,filled", fillcolor="{colour}", label={_label(title, lines)}];'


def _gateway_lines(plan: ClusterPlan) -> list[str]:
    nat64, dns64 = plan.nat64, plan.dns64
    lines = [
        f"{plan.gateway.address}",
        f"NAT64 ({nat64.engine}) {nat64.prefix}",
        f"DNS64 ({dns64.engine}) on {dns64.listen}",
        "routes every pod /64 to its node",
    ]
    if nat64.engine == "tayga":
        lines.insert(2, f"TAYGA pool {nat64.ipv4_pool} (NAT44 behind the uplink)")
    return lines


def _uplink_label(plan: ClusterPlan) -> str:
    interface = plan.nat64.uplink_interface
    if plan.uplink is not None:
        return f"uplink {interface} {plan.uplink.address} via {plan.uplink.next_hop}"
    return f"uplink {interface} (IPv4, as the host has it)"


def _kube_node_lines(node: HostPlan) -> list[str]:
    return [f"{node.role} {node.address}", f"pods {node.pod_subnet}"]


def topology_dot(plan: ClusterPlan, title: str = "kube-v6") -> str:
    """The plan's topology as DOT: IPv4 internet, the gateway, the IPv6-only node network, every
    node with its address and pod /64, and the cluster's service subnet and DNS address."""
    k = plan.kubeadm
    out = [
        "graph topology {",
        f'  graph [rankdir=TB, fontname="{_FONT}", label={_label(title, [])}, labelloc=t, nodesep=0.35];',
        f'  node [fontname="{_FONT}", fontsize=11];',
        f'  edge [fontname="{_FONT}", fontsize=10];',
        _node("internet", "IPv4 internet", [], "#eeeeee", shape="ellipse"),
        _node("gateway", plan.gateway.name, _gateway_lines(plan), _ROLE_COLOUR["gateway"]),
        _node(
            "network",
            "IPv6-only node network",
            [f"{plan.node_prefix} (no IPv4 at all)", f"pod supernet {plan.pod_supernet}"],
            "#ffffff",
            shape="box",
        ),
        f'  internet -- gateway [label="{html.escape(_uplink_label(plan))}"];',
        f'  gateway -- network [label="{html.escape(plan.cluster_interface)}"];',
        "  subgraph cluster_kubernetes {",
        f"    label={_label('Kubernetes', [f'services {k.service_subnet}, cluster DNS {k.dns_service_ip}'])};",
        '    style="rounded,dashed"; color="#888888";',
    ]
    for node in plan.nodes:
        out.append("  " + _node(node.name, node.name, _kube_node_lines(node), _ROLE_COLOUR[node.role]))
    out.append("  }")
    out += [f'  network -- "{node.name}";' for node in plan.nodes]
    out.append("}")
    return "\n".join(out) + "\n"


def render_svg(dot: str) -> str:
    """SVG from DOT with Graphviz's `dot`."""
    try:
        res = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SystemExit("Graphviz's `dot` is missing: apt-get install graphviz (scripts/install-deps.sh)") from None
    if res.returncode != 0:
        raise RuntimeError(f"dot -Tsvg failed: {res.stderr.strip()}")
    return res.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m program.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack file Pulumi.<stack>.yaml (default: dev, the seed)")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--format", choices=("svg", "dot"), default="svg")
    args = parser.parse_args(argv)
    plan = make_plan(load_stack_file(args.stack).cluster)
    dot = topology_dot(plan, f"kube-v6: stack {args.stack}")
    text = dot if args.format == "dot" else render_svg(dot)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
