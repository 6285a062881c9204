"""lab.cni_runtime follows the CNI spec: order, injected fields, prevResult chaining, env, DEL on failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.commons.shell import HostExec, run
from harness.netlab.cni_runtime import Attachment, CniError, CniRuntime
from harness.netlab.instance import current_instance
from harness.netlab.state import delete_namespace

pytestmark = pytest.mark.lab
NS = f"kv6{current_instance()}x-cni"  # this test run's own name (tests/conftest.py)

# A fake plugin: logs what it was given, answers ADD with a result naming itself.
PLUGIN = """#!/bin/sh
set -eu
log="$(dirname "$0")/log"
conf="$(cat)"
n=$(ls "$log" | wc -l)
printf '%s' "$conf" > "$log/$n-$CNI_COMMAND-$(basename "$0")-conf.json"
env | grep '^CNI_' | sort > "$log/$n-$CNI_COMMAND-$(basename "$0")-env"
if [ "$(basename "$0")" = "failing" ] && [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion": "1.0.0", "code": 11, "msg": "refused on purpose", "details": "fake"}'
  exit 1
fi
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion": "1.0.0", "ips": [{"address": "fd6b:ffff::2/64"}], "by": "'"$(basename "$0")"'"}'
fi
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "log").mkdir()
    for name in ("first", "second", "failing"):
        (tmp_path / name).write_text(PLUGIN)
        (tmp_path / name).chmod(0o755)
    run(["ip", "netns", "add", NS])
    try:
        yield tmp_path
    finally:
        delete_namespace(NS)


def calls(plugin_dir: Path) -> list[tuple[str, str, dict[str, object], dict[str, str]]]:
    out = []
    for conf in sorted((plugin_dir / "log").glob("*-conf.json"), key=lambda p: int(p.name.split("-")[0])):
        _, command, plugin, _ = conf.name.split("-", 3)
        env_file = conf.with_name(conf.name.replace("-conf.json", "-env"))
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        out.append((command, plugin, json.loads(conf.read_text()), env))
    return out


def runtime(plugin_dir: Path, types: list[str]) -> CniRuntime:
    conflist = {"cniVersion": "1.0.0", "name": "testnet", "plugins": [{"type": t, "opt": t} for t in types]}
    return CniRuntime(conflist, HostExec(NS), plugin_dir / "cache", str(plugin_dir))


def test_add_del_follow_the_spec(plugin_dir: Path) -> None:
    rt = runtime(plugin_dir, ["first", "second"])
    att = Attachment("cid-1", f"/run/netns/{NS}", "eth0")
    result = rt.add(att)
    assert result["by"] == "second"
    rt.delete(att)
    seen = calls(plugin_dir)
    assert [(c, p) for c, p, _, _ in seen] == [("ADD", "first"), ("ADD", "second"), ("DEL", "second"), ("DEL", "first")]
    (_, _, c1, env1), (_, _, c2, _), (_, _, d2, _), (_, _, d1, _) = seen
    assert c1["name"] == "testnet" and c1["cniVersion"] == "1.0.0" and c1["opt"] == "first"
    assert "prevResult" not in c1
    assert c2["prevResult"]["by"] == "first"  # type: ignore[index]
    assert d2["prevResult"]["by"] == "second" and d1["prevResult"]["by"] == "second"  # type: ignore[index]
    assert env1 == {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "cid-1",
        "CNI_IFNAME": "eth0",
        "CNI_NETNS": f"/run/netns/{NS}",
        "CNI_PATH": str(plugin_dir),
    }
    assert not list((plugin_dir / "cache").iterdir())


def test_capabilities_become_runtime_config(plugin_dir: Path) -> None:
    rt = runtime(plugin_dir, ["first"])
    conflist = dict(rt.conflist)
    conflist["plugins"] = [{"type": "first", "capabilities": {"portMappings": True}}]
    rt = CniRuntime(conflist, rt.host, rt.cache_dir, rt.plugin_dir)
    maps = [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    rt.add(Attachment("cid-2", f"/run/netns/{NS}", capability_args={"portMappings": maps, "bandwidth": {}}))
    [(_, _, conf, _)] = calls(plugin_dir)
    assert conf["runtimeConfig"] == {"portMappings": maps}


def test_failed_add_reports_the_plugin_error_and_cleans_up(plugin_dir: Path) -> None:
    rt = runtime(plugin_dir, ["first", "failing", "second"])
    with pytest.raises(CniError, match="refused on purpose") as err:
        rt.add(Attachment("cid-3", f"/run/netns/{NS}"))
    assert err.value.plugin == "failing" and err.value.error["code"] == 11
    assert [(c, p) for c, p, _, _ in calls(plugin_dir)] == [
        ("ADD", "first"),
        ("ADD", "failing"),
        ("DEL", "second"),
        ("DEL", "failing"),
        ("DEL", "first"),
    ]
