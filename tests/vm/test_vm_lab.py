"""The VM lab end to end (marker `vm`: about 20 minutes here, not for every CI run).

`pulumi up --stack vmlab` declares the pool, volumes, networks, cloud-init disks and domains, the
remote commands configure the booted guests; then every check inside the guests, a reboot of a
minion and of the gateway, a second `up` that changes nothing, and `destroy` leaving nothing.

    sudo .venv/bin/python -m pytest -m vm tests/vm -q
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.commons import libvirtd
from harness.commons.engine import OpResult
from harness.vmlab import checks
from harness.vmlab.session import VmLab

pytestmark = pytest.mark.vm

# stack, SSH key pair (2); libvirt: component, provider, pool, base image, two networks (6);
# per machine: component, disk, cloud-init disk, domain, network command (4 x 5); gateway NAT64 and
# DNS64 (2); per node: CNI component and its command (3 x 2)
RESOURCES = 36


class Running:
    def __init__(self, lab: VmLab, up: OpResult) -> None:
        self.lab = lab
        self.up = up


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    if os.geteuid() != 0:
        pytest.skip("the VM lab needs root")
    lab = VmLab(log=lambda _: None)
    if lab.state.load().get("deployed"):
        pytest.skip("a VM lab is up already (`python -m harness.vmlab down` first)")
    try:
        result, _ = lab.up()
        yield Running(lab, result)
    finally:
        if lab.state.load().get("deployed") or lab.state.load().get("libvirtd"):
            lab.down()


def _ok(result: checks.CheckResult) -> None:
    assert result.ok, result.report()


def test_up_creates_every_resource(running: Running) -> None:
    assert running.up.changes == {"create": RESOURCES}, running.up.output[-3000:]


def test_cluster_network_has_no_ipv4_element(running: Running) -> None:
    _ok(checks.cluster_network_is_ipv6_only(running.lab))


def test_nodes_have_no_global_ipv4(running: Running) -> None:
    _ok(checks.no_global_ipv4_on_nodes(running.lab))


def test_units_are_enabled_and_active(running: Running) -> None:
    _ok(checks.units_active(running.lab))


def test_routes_and_sysctls_are_as_rendered(running: Running) -> None:
    _ok(checks.routes_and_sysctls(running.lab))


def test_nodes_resolve_and_fetch_an_ipv4_only_name(running: Running) -> None:
    _ok(checks.dns64_nat64(running.lab))


def test_nat64_guard_drops_a_stranger(running: Running) -> None:
    _ok(checks.nat64_guard(running.lab))


def test_a_minion_and_the_gateway_survive_a_reboot(running: Running) -> None:
    lab = running.lab
    _ok(checks.reboot_survives(lab, [lab.plan.minions[0].name, lab.plan.gateway.name]))


def test_second_up_changes_nothing(running: Running) -> None:
    _ok(running.lab.up_again())


def test_destroy_leaves_nothing_behind(running: Running) -> None:
    lab = running.lab
    errors = lab.down()
    assert not errors, errors
    with libvirtd.running_libvirtd(lab.uri):
        assert lab.leftovers() == []
