"""Network probes run INSIDE a lab namespace (stdlib only: `python3 probe.py < tasks.json`).

This machine has no ping or netcat, so the lab brings its own: ICMPv6 echo over a raw socket
and a TCP/HTTP GET, both with an optional hop limit on the packets sent. A hop limit of
"forwarders on the planned path + 1" only lets a packet through on the planned path: a
detour (e.g. via the gateway's default route) exhausts it and the router on the detour
answers "time exceeded", which the probe reports.

Input: a JSON list of tasks; output: a JSON list of results in the same order, each
{"ok": bool, "detail": str, ...}. Tasks run concurrently.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
import threading
import time
from typing import Any

ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
ICMP6_ERRORS = {
    1: "destination unreachable",
    2: "packet too big",
    3: "time exceeded (hop limit)",
    4: "parameter problem",
}
_id_lock = threading.Lock()
_next_id = [os.getpid() & 0xFFFF]


def _new_id() -> int:
    with _id_lock:
        _next_id[0] = (_next_id[0] + 1) & 0xFFFF
        return _next_id[0]


def _same(a: str, b: str) -> bool:
    return socket.inet_pton(socket.AF_INET6, a.split("%")[0]) == socket.inet_pton(socket.AF_INET6, b)


def icmp(task: dict[str, Any]) -> dict[str, Any]:
    dst = task["dst"]
    count = int(task.get("count", 2))
    timeout = float(task.get("timeout", 1.0))
    hops = task.get("hops")
    ident = _new_id()
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        if hops is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(hops))
        errors: list[str] = []
        for seq in range(1, count + 1):
            payload = b"kv6lab" + struct.pack("!d", time.time())
            packet = struct.pack("!BBHHH", ICMP6_ECHO_REQUEST, 0, 0, ident, seq) + payload
            start = time.monotonic()
            try:
                sock.sendto(packet, (dst, 0))
            except OSError as exc:
                errors.append(f"send: {exc}")
                continue
            while (left := timeout - (time.monotonic() - start)) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data, addr = sock.recvfrom(2048)
                if len(data) < 8:
                    continue
                kind = data[0]
                if kind == ICMP6_ECHO_REPLY and _same(addr[0], dst):
                    rid, rseq = struct.unpack("!HH", data[4:8])
                    if rid == ident and rseq == seq:
                        rtt = (time.monotonic() - start) * 1000
                        return {"ok": True, "detail": f"echo reply from {addr[0]} in {rtt:.1f} ms", "seq": seq}
                elif kind in ICMP6_ERRORS and len(data) >= 48 + 8:
                    # The error quotes our packet: IPv6 header (40 bytes) then our ICMPv6 header.
                    inner = data[8 + 40 : 8 + 48]
                    if inner[0] == ICMP6_ECHO_REQUEST and struct.unpack("!HH", inner[4:8]) == (ident, seq):
                        errors.append(f"{ICMP6_ERRORS[kind]} from {addr[0]}")
                        break
        detail = "; ".join(dict.fromkeys(errors)) if errors else f"no echo reply in {count} x {timeout:.1f}s"
        return {"ok": False, "detail": detail}
    finally:
        sock.close()


def http(task: dict[str, Any]) -> dict[str, Any]:
    """HTTP/1.0 GET over TCP to an address literal, optionally with a hop limit on our packets."""
    dst = task["dst"]
    port = int(task.get("port", 80))
    timeout = float(task.get("timeout", 3.0))
    hops = task.get("hops")
    path = task.get("path", "/")
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if hops is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(hops))
        start = time.monotonic()
        try:
            sock.connect((dst, port))
        except OSError as exc:
            return {"ok": False, "detail": f"connect [{dst}]:{port}: {exc}"}
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: [{dst}]\r\n\r\n".encode())
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError as exc:
            return {"ok": False, "detail": f"read [{dst}]:{port}: {exc}"}
        raw = b"".join(chunks).decode(errors="replace")
        head, _, body = raw.partition("\r\n\r\n")
        status = head.splitlines()[0] if head else "(no response)"
        expect = task.get("expect")
        ok = " 200 " in status + " " and (expect is None or expect in body)
        ms = (time.monotonic() - start) * 1000
        detail = f"{status} in {ms:.1f} ms" + ("" if ok or expect is None else f"; body lacks {expect!r}")
        return {"ok": ok, "detail": detail, "body": body[:200]}
    finally:
        sock.close()


KINDS = {"icmp": icmp, "http": http}


def main() -> int:
    tasks = json.load(sys.stdin)
    results: list[dict[str, Any]] = [{}] * len(tasks)

    def work(i: int, task: dict[str, Any]) -> None:
        try:
            results[i] = KINDS[task["kind"]](task)
        except Exception as exc:
            results[i] = {"ok": False, "detail": f"probe error: {type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(tasks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
