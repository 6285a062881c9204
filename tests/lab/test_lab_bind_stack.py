"""The `lab-bind` stack: the same data plane with BIND9 as the DNS64 resolver."""

from __future__ import annotations

import pytest

from harness.netlab.checks import ALL_CHECKS
from harness.netlab.session import Lab

pytestmark = pytest.mark.lab


def test_bind9_is_the_resolver(lab_bind_stack: Lab) -> None:
    assert lab_bind_stack.plan.dns64.engine == "bind9"
    gw = lab_bind_stack.execs[lab_bind_stack.plan.gateway.name]
    assert "named" in gw.run(["sh", "-c", 'cat /proc/"$(cat /run/kubev6/dns64.pid)"/comm']).stdout


@pytest.mark.parametrize("name", list(ALL_CHECKS))
def test_check(lab_bind_stack: Lab, name: str) -> None:
    [result] = lab_bind_stack.check([name])
    assert result.ok, result.report()
