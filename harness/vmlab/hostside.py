"""This machine's part of the VM lab, around what `pulumi up` declares.

- An IPv4-only test server on the uplink's host address (the first address of
  `platform.uplinkPrefix`, which libvirt puts on the uplink bridge): HTTP (`harness/commons/webserver.py`) and a
  dnsmasq answering `web.kubev6.test` with that IPv4 address only (the gateway's DNS64 upstream).
  libvirt's own resolver is off on that network (`platform.uplinkDns: false`).
- A stranger: a network namespace with one leg on the cluster bridge and an address outside every
  cluster prefix, to prove the NAT64 guard drops it.
- State under `.state/vmlab/started.json`: the pids started (libvirtd too), so `down` in another
  process stops exactly those (after checking that each pid is still the program it started).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from config_schemas.derive import bridge_host_address
from harness.commons import webserver
from planning.plan import ClusterPlan
from planning.settings import LibvirtPlan

TEST_NAME = "web.kubev6.test"
TEST_ZONE = "test"
WEB_PORT = 80
STRANGER_NS = "kubev6vm-stranger"  # not kv6*: the network lab's cleanup owns those names
STRANGER_LINK = "kv6vmst0"
STRANGER_ADDRESS = "fd5e:7a11:9e12::5"


class State:
    """`started.json` in the lab's state folder: what this lab started, by name."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.file = directory / "started.json"

    def load(self) -> dict[str, Any]:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return json.loads(self.file.read_text())
        return {}

    def update(self, **values: Any) -> None:
        data = self.load()
        for k, v in values.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        self.dir.mkdir(parents=True, exist_ok=True)
        self.file.write_text(json.dumps(data, indent=2) + "\n")


def _libvirt(plan: ClusterPlan) -> LibvirtPlan:
    assert plan.libvirt is not None, "the VM lab runs libvirt stacks only"
    return plan.libvirt


def uplink_host_address(plan: ClusterPlan) -> str:
    return str(bridge_host_address(_libvirt(plan).uplink_prefix))


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {res.returncode}: {res.stderr.strip()}")
    return res


def _listening(proto: str, address: str, port: int) -> bool:
    flag = "-Hlnt" if proto == "tcp" else "-Hlnu"
    out = _run(["ss", flag, "src", address], check=False).stdout
    return f"{address}:{port} " in out


def _wait_listening(proto: str, address: str, port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not _listening(proto, address, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {proto} {address}:{port} after {timeout}s")
        time.sleep(0.2)


def _spawn(argv: list[str], log: Path) -> int:
    """A daemon that outlives this process (`down` runs in another one)."""
    with open(log, "ab") as f:
        proc = subprocess.Popen(
            argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    return proc.pid


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


def kill_recorded(pid: int, marker: str) -> bool:
    """SIGTERM `pid` if its command line still holds `marker` (a reused pid is left alone)."""
    if marker not in _cmdline(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


class TestServer:
    def __init__(self, plan: ClusterPlan, state: State) -> None:
        self.plan = plan
        self.state = state
        self.address = uplink_host_address(plan)

    @property
    def page(self) -> Path:
        return self.state.dir / "www" / "index.html"

    def token(self) -> str:
        return self.page.read_text().split("<body>", 1)[1].split("</body>", 1)[0] if self.page.is_file() else ""

    def start(self) -> None:
        started = self.state.load()
        if "web" in started and webserver.__file__ in _cmdline(started["web"]):
            return
        self.page.parent.mkdir(parents=True, exist_ok=True)
        self.page.write_text(f"<html><body>kube-v6 vmlab {secrets.token_hex(8)}</body></html>\n")
        logs = self.state.dir / "logs"
        logs.mkdir(exist_ok=True)
        dns = _spawn(
            [
                "dnsmasq", "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--no-poll", "--bind-interfaces", f"--listen-address={self.address}", "--pid-file=",
                f"--local=/{TEST_ZONE}/", f"--host-record={TEST_NAME},{self.address}", "--log-queries",
            ],
            logs / "dnsmasq.log",
        )  # fmt: skip
        web = _spawn(webserver.argv(self.address, WEB_PORT, self.page), logs / "web.log")
        self.state.update(dnsmasq=dns, web=web)
        _wait_listening("udp", self.address, 53)
        _wait_listening("tcp", self.address, WEB_PORT)

    def stop(self) -> list[str]:
        started = self.state.load()
        errors = []
        for name, marker in (("web", webserver.__file__), ("dnsmasq", "dnsmasq")):
            pid = started.get(name)
            if pid is not None and not kill_recorded(pid, marker):
                errors.append(f"{name} (pid {pid}) was no longer running")
            self.state.update(**{name: None})
        return errors


class Stranger:
    """A namespace on the cluster bridge, outside every cluster prefix, routing the NAT64 prefix to the gateway."""

    def __init__(self, plan: ClusterPlan) -> None:
        self.plan = plan

    def exists(self) -> bool:
        return STRANGER_NS in _run(["ip", "netns", "list"]).stdout.split()

    def start(self) -> None:
        if self.exists():
            return
        bridge = _libvirt(self.plan).cluster_bridge
        gw = str(self.plan.gateway.address)
        ns = ["ip", "-n", STRANGER_NS]
        _run(["ip", "netns", "add", STRANGER_NS])
        try:
            _run(["ip", "link", "add", STRANGER_LINK, "type", "veth", "peer", "name", "eth0", "netns", STRANGER_NS])
            _run(["ip", "link", "set", STRANGER_LINK, "master", bridge, "up"])
            _run([*ns, "link", "set", "lo", "up"])
            _run([*ns, "link", "set", "eth0", "up"])
            _run([*ns, "addr", "add", f"{STRANGER_ADDRESS}/64", "dev", "eth0", "nodad"])
            _run([*ns, "-6", "route", "add", f"{gw}/128", "dev", "eth0"])
            _run([*ns, "-6", "route", "add", str(self.plan.nat64_prefix), "via", gw, "dev", "eth0"])
        except BaseException:
            self.stop()
            raise

    def run(self, argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", STRANGER_NS, *argv], capture_output=True, text=True, check=False, timeout=timeout
        )

    def stop(self) -> list[str]:
        if not self.exists():
            return []
        _run(["ip", "link", "del", STRANGER_LINK], check=False)
        res = _run(["ip", "netns", "del", STRANGER_NS], check=False)
        return [f"ip netns del {STRANGER_NS}: {res.stderr.strip()}"] if res.returncode else []
