"""Commands inside the lab's guests over SSH (the stack's key; this machine is on the node network)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.commons.shell import CommandResult


@dataclass(frozen=True)
class Guest:
    name: str
    address: str
    key: Path
    user: str = "root"

    def argv(self, command: str) -> list[str]:
        return [
            "ssh", "-i", str(self.key),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            f"{self.user}@{self.address}", command,
        ]  # fmt: skip

    def run(self, command: str, *, check: bool = False, timeout: float = 60) -> CommandResult:
        start = time.monotonic()
        try:
            res = subprocess.run(self.argv(command), capture_output=True, text=True, timeout=timeout, check=False)
            code, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = 124, _text(exc.stdout), _text(exc.stderr) + f"\n(timed out after {timeout}s)"
        result = CommandResult(f"{self.name} (ssh)", (command,), code, out, err, time.monotonic() - start)
        if check and not result.ok:
            raise GuestCommandFailed(result)
        return result

    def boot_id(self) -> str | None:
        res = self.run("cat /proc/sys/kernel/random/boot_id", timeout=15)
        return res.stdout.strip() if res.ok else None

    def wait_ssh(self, timeout: float, not_boot: str | None = None) -> str:
        """Until the guest answers SSH (with a boot id other than `not_boot`); returns its boot id."""
        deadline = time.monotonic() + timeout
        while True:
            boot = self.boot_id() if port_open(self.address, 22) else None
            if boot is not None and boot != not_boot:
                return boot
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} ({self.address}) did not answer SSH within {timeout:.0f}s")
            time.sleep(2)

    def reboot(self) -> None:
        """Ask the guest's systemd to reboot (detached: the SSH session ends with the machine)."""
        self.run("nohup sh -c 'sleep 1; systemctl reboot' >/dev/null 2>&1 &", timeout=15)


class GuestCommandFailed(RuntimeError):
    def __init__(self, result: CommandResult) -> None:
        self.result = result
        super().__init__(result.describe())


def port_open(address: str, port: int, timeout: float = 2) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
