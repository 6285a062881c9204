"""A tiny HTTP server for lab namespaces (stdlib only): `python3 webserver.py ADDRESS PORT FILE`.

Serves FILE for every GET. Unlike `python -m http.server` it does not resolve its own name at
start (`HTTPServer.server_bind` calls `socket.getfqdn`, a reverse DNS lookup that stalls for
seconds in a namespace whose resolver is not up yet).
"""

from __future__ import annotations

import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.client_address[0]} {format % args}\n")


class Server(ThreadingHTTPServer):
    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


def argv(address: object, port: int, path: object) -> list[str]:
    """The command line that serves `path` on address:port (run it inside a namespace)."""
    return [sys.executable, "-I", "-S", __file__, str(address), str(port), str(path)]


def main() -> None:
    address, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "rb") as f:
        Handler.body = f.read()
    Server.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with Server((address, port), Handler) as server:
        print(f"serving {path} on {address} port {port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
