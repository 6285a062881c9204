"""The IPv4-only "internet": an authoritative DNS server for a test name and an HTTP server.

`web.kubev6.test` has an A record only (203.0.113.80): a pod can only reach it through DNS64
(a synthesized AAAA inside the NAT64 prefix) and NAT64.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import netaddr

from harness.commons import webserver
from harness.commons.shell import HostExec
from harness.netlab.state import LabState
from harness.netlab.topology import INTERNET_DNS, INTERNET_WEB

TEST_NAME = "web.kubev6.test"
TEST_ZONE = "kubev6.test"
WEB_PORT = 80


def page_token(prefix: str) -> str:
    return f"kv6lab-ipv4-only-page-{prefix}"


@dataclass(frozen=True)
class InternetServices:
    internet: HostExec
    state: LabState

    @property
    def token(self) -> str:
        return page_token(self.state.prefix)

    def start(self) -> None:
        www = self.state.path("www", "inet")
        www.mkdir(parents=True, exist_ok=True)
        (www / "index.html").write_text(f"<html><body>{self.token}</body></html>\n")
        dns = self.internet.popen(
            [
                "dnsmasq",
                "--keep-in-foreground",
                "--log-facility=-",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                f"--listen-address={INTERNET_DNS}",
                "--pid-file=",
                f"--local=/{TEST_ZONE}/",
                f"--host-record={TEST_NAME},{INTERNET_WEB}",
            ],
            self.state.log_path("inet-dnsmasq"),
        )
        self.state.record_pid("inet-dnsmasq", dns)
        web = self.internet.popen(
            webserver.argv(INTERNET_WEB, WEB_PORT, www / "index.html"),
            self.state.log_path("inet-http"),
        )
        self.state.record_pid("inet-http", web)

    def wait_ready(self, timeout: float = 10) -> None:
        wait_listening(self.internet, "udp", INTERNET_DNS, 53, timeout)
        wait_listening(self.internet, "tcp", INTERNET_WEB, WEB_PORT, timeout)


def wait_listening(host: HostExec, proto: str, address: netaddr.IPAddress | str, port: int, timeout: float) -> None:
    """Poll `ss` in the namespace until something listens on address:port."""
    flag = "-Hlnt" if proto == "tcp" else "-Hlnu"
    addr = str(address)
    wanted = {f"{addr}:{port}", f"[{addr}]:{port}", f"*:{port}", f"[::]:{port}", f"0.0.0.0:{port}"}
    deadline = time.monotonic() + timeout
    while True:
        out = host.run(["ss", flag], check=False).stdout
        # Local address column, without any %interface scope (e.g. 203.0.113.53%lo:53).
        local = {re.sub(r"%[^\]:]+", "", line.split()[3]) for line in out.splitlines() if len(line.split()) >= 4}
        if local & wanted:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {proto} {addr}:{port} in {host.namespace} after {timeout}s: {out}")
        time.sleep(0.05)
