"""The topology diagram is drawn from the plan: every node's address and pod /64, the gateway, the
NAT64 prefix, the service subnet and the uplink are in the DOT, in the SVG Graphviz makes of it, and
in the README's committed SVG of the seed topology."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from config_schemas.stack_files import load_stack_file, stack_names
from planning.plan import ClusterPlan, make_plan
from program import diagram

ROOT = Path(__file__).resolve().parents[2]
README_SVG = ROOT / "docs" / "topology.svg"


def _plan(stack: str) -> ClusterPlan:
    return make_plan(load_stack_file(stack).cluster)


def _svg_text(svg: str) -> str:
    """The SVG's text as a reader sees it (Graphviz writes `-` as `&#45;`)."""
    return "\n".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def _facts(plan: ClusterPlan) -> list[str]:
    facts = [str(plan.gateway.address), str(plan.nat64_prefix), str(plan.service_subnet), str(plan.node_prefix)]
    facts += [plan.nat64.uplink_interface]
    if plan.uplink is not None:
        facts.append(str(plan.uplink.address))
    for node in plan.nodes:
        facts += [node.name, str(node.address), str(node.pod_subnet)]
    return facts


@pytest.mark.parametrize("stack", stack_names())
def test_the_dot_holds_every_node_address_and_pod_prefix(stack: str) -> None:
    plan = _plan(stack)
    dot = diagram.topology_dot(plan)
    for fact in _facts(plan):
        assert html.escape(fact) in dot, fact
    assert dot.count("pods ") == len(plan.nodes)


def test_graphviz_renders_it_with_every_fact() -> None:
    plan = _plan("lab-k8s")
    svg = diagram.render_svg(diagram.topology_dot(plan))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    text = _svg_text(svg)
    for fact in _facts(plan):
        assert fact in text, fact


def test_the_readme_svg_is_the_seed_topology() -> None:
    text = _svg_text(README_SVG.read_text())
    for fact in _facts(_plan("dev")):
        assert fact in text, f"{fact} missing: python -m program.diagram --stack dev -o docs/topology.svg"
    assert "docs/topology.svg" in (ROOT / "README.md").read_text()


def test_the_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "t.dot"
    assert diagram.main(["--stack", "large", "--format", "dot", "-o", str(out)]) == 0
    assert "minion-6" in out.read_text() and "fd10:6:100:16::/64" in out.read_text()
