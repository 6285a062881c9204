"""What a lab host looks like, to compare before `pulumi up` with after `pulumi destroy`.

Covers what the rendered steps touch: routes, addresses, links, sysctls, nftables and iptables
rules, the host's own /etc and private state dirs (paths, modes and contents), and the processes
running in it (the lab's own sshd excepted).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from harness.commons.shell import HostExec
from harness.netlab.state import NETNS_ETC

_SYSCTL_PREFIXES = ("net.ipv4.ip_forward", "net.ipv4.conf.", "net.ipv6.conf.", "net.bridge.")
_LAB_PROCESSES = {"sshd"}


def _files(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = f"link -> {p.readlink()}"
        elif p.is_file():
            out[rel] = f"{oct(p.stat().st_mode & 0o7777)} {hashlib.sha256(p.read_bytes()).hexdigest()[:16]}"
        elif p.is_dir():
            out[rel + "/"] = oct(p.stat().st_mode & 0o7777)
    return out


def _lines(exec_: HostExec, argv: list[str]) -> list[str]:
    # Link-local addresses and their routes are the kernel's, and appear a moment after a link is up.
    return [line for line in exec_.run(argv, check=False).stdout.splitlines() if "fe80::" not in line]


def host_snapshot(exec_: HostExec) -> dict[str, object]:
    ns = exec_.namespace
    sysctls = [line for line in _lines(exec_, ["sysctl", "-a"]) if line.startswith(_SYSCTL_PREFIXES)]
    # iptables-save: drop comments and packet counters, keep the rules.
    iptables = [re.sub(r"\[\d+:\d+\]", "", line) for line in _lines(exec_, ["iptables-save"]) if line[:1] != "#"]
    pids = _lines(exec_, ["sh", "-c", 'for p in $(ip netns pids "$0"); do cat /proc/$p/comm; done', ns])
    files = {f"/etc/{k}": v for k, v in _files(NETNS_ETC / ns).items()}
    for d in exec_.private_dirs:
        files |= {f"{d.target}/{k}": v for k, v in _files(Path(d.source)).items()}
    return {
        "routes": _lines(exec_, ["ip", "route", "show", "table", "all"])
        + _lines(exec_, ["ip", "-6", "route", "show", "table", "all"]),
        "addresses": _lines(exec_, ["ip", "-br", "addr"]),
        # By name: `eth0@if3` names its peer's index, which a host made again (reinstalled) changes.
        "links": [line.split()[0].split("@")[0] for line in _lines(exec_, ["ip", "-br", "link"])],
        "sysctls": sysctls,
        "nftables": _lines(exec_, ["nft", "list", "ruleset"]),
        "iptables": iptables,
        "processes": sorted(p for p in pids if p not in _LAB_PROCESSES),
        "files": files,
    }


def diff(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Human-readable differences (empty when equal)."""
    out = []
    for key in before.keys() | after.keys():
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(a.keys() | b.keys()):
                if a.get(k) != b.get(k):
                    out.append(f"{key} {k}: {a.get(k)} -> {b.get(k)}")
        elif isinstance(a, list) and isinstance(b, list):
            out += [f"{key} gone: {x}" for x in a if x not in b] + [f"{key} new: {x}" for x in b if x not in a]
        else:
            out.append(f"{key}: {a} -> {b}")
    return out
