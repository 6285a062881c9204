"""The VM lab's pure parts: the libvirt program's direct kernel boot and DNS-off networks, and the
figures' critical path."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import config_schemas.pulumi_config as pulumi_config
from components.libvirt_infra import NO_DNS_XSLT, kernel_cmdline
from config_schemas.stack_files import load_stack_file
from harness.commons.program_mocks import run_program
from harness.vmlab.figures import critical_path


@pytest.fixture(autouse=True)
def _no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi_config, "read_host_routes", lambda: [])


def test_kernel_cmdline_becomes_one_map_per_word() -> None:
    platform = load_stack_file("vmlab").cluster.platform
    # The form the provider reads back (found by the VM lab: any other form replaced every domain on
    # every `up`): keyed words in one map, a repeated key starting the next, then the bare words.
    assert kernel_cmdline(platform) == [  # type: ignore[arg-type]
        {"console": "ttyS0", "net.ifnames": "0", "root": "LABEL=kv6root"},
        {"_": "ro"},
    ]
    repeated = platform.model_copy(update={"kernel_cmdline": ["quiet", "console=tty0", "ro", "console=ttyS0"]})  # type: ignore[union-attr]
    assert kernel_cmdline(repeated) == [{"console": "tty0"}, {"console": "ttyS0"}, {"_": "quiet ro"}]


def test_vmlab_domains_boot_the_kernel_and_networks_say_no_dns() -> None:
    rec, _ = run_program("vmlab")
    platform = load_stack_file("vmlab").cluster.platform
    domains = rec.of_type("libvirt:index/domain:Domain")
    assert len(domains) == 4
    for d in domains:
        assert d.inputs["kernel"] == platform.kernel  # type: ignore[union-attr]
        assert d.inputs["initrd"] == platform.initrd  # type: ignore[union-attr]
        assert d.inputs["type"] == "qemu" and d.inputs["vcpu"] == 1
    networks = {n.name: n for n in rec.of_type("libvirt:index/network:Network")}
    # uplinkDns: false in this stack: both networks get the stylesheet
    assert networks["libvirt-cluster"].inputs["xml"]["xslt"] == NO_DNS_XSLT
    assert networks["libvirt-uplink"].inputs["xml"]["xslt"] == NO_DNS_XSLT


def test_dev_keeps_libvirts_resolver_on_the_uplink_and_boots_from_the_image() -> None:
    rec, _ = run_program("dev")
    networks = {n.name: n for n in rec.of_type("libvirt:index/network:Network")}
    assert not networks["libvirt-uplink"].inputs.get("xml")
    assert networks["libvirt-cluster"].inputs["xml"]["xslt"] == NO_DNS_XSLT
    for d in rec.of_type("libvirt:index/domain:Domain"):
        assert not d.inputs.get("kernel")


@pytest.mark.skipif(shutil.which("xsltproc") is None, reason="xsltproc (the provider runs it) not installed")
def test_no_dns_stylesheet_disables_dns_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "no-dns.xsl").write_text(NO_DNS_XSLT)
    (tmp_path / "net.xml").write_text(
        "<network><name>n</name><dns><host ip='1.2.3.4'/></dns>"
        "<ip family='ipv6' address='fd00::1' prefix='64'/></network>"
    )
    out = subprocess.run(
        ["xsltproc", str(tmp_path / "no-dns.xsl"), str(tmp_path / "net.xml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("<dns") == 1 and '<dns enable="no"/>' in out
    assert "<name>n</name>" in out and 'address="fd00::1"' in out


def _export(resources: list[dict[str, object]]) -> dict[str, object]:
    return {"deployment": {"resources": resources}}


def test_critical_path_follows_dependencies_through_components() -> None:
    u = "urn:pulumi:s::p::{}::{}".format
    pool, disk, dom, comp, net, cni = (
        u("libvirt:index/pool:Pool", "pool"),
        u("libvirt:index/volume:Volume", "disk"),
        u("libvirt:index/domain:Domain", "dom"),
        u("kubev6:index:KubeNode", "node"),
        u("command:remote:Command", "node-network"),
        u("command:remote:Command", "node-cni"),
    )
    resources = [
        {"urn": pool, "custom": True},
        {"urn": disk, "custom": True, "dependencies": [pool]},
        {"urn": comp, "custom": False},
        {"urn": dom, "custom": True, "parent": comp, "dependencies": [disk]},
        {"urn": net, "custom": True, "parent": comp, "dependencies": [dom]},
        # depends on the component: on everything under it
        {"urn": cni, "custom": True, "dependencies": [comp]},
    ]
    times = {pool: (0.0, 1.0), disk: (1.0, 3.0), dom: (3.0, 4.0), net: (4.0, 10.0), cni: (10.0, 12.0)}
    length, chain, busy = critical_path(times, json.loads(json.dumps(_export(resources))))
    assert length == pytest.approx(12.0)
    assert [n for n, _ in chain] == ["pool", "disk", "dom", "node-network", "node-cni"]
    assert busy == pytest.approx(12.0)
