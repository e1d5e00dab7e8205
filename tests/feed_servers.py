"""Hostile hotline APIs on 127.0.0.1 (port 0): huge bodies, slow drips, echoed secrets.

Every loop a handler runs is bounded in count and in time and ends when the server stops,
so a test that fails cannot leave a thread spinning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = Callable[["Handler", "HostileServer"], None]


class Handler(BaseHTTPRequestHandler):
    """Hands every GET to the server's `reply` for its path (the query is the reply's business)."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self):  # noqa: N802 - http.server's naming
        hostile = self.server.hostile
        hostile.requests.append((self.path, self.headers.get("Authorization")))
        try:
            hostile.reply(self, hostile)
        except (BrokenPipeError, ConnectionResetError):
            hostile.client_left.set()

    def log_message(self, *args):
        pass

    def send_json(self, body: bytes, status: int = 200) -> None:
        """A complete answer with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileServer


class HostileServer:
    """A loopback server whose every GET is answered by `reply(handler, server)`."""

    def __init__(self, reply: Reply):
        self.reply = reply
        self.requests: list[tuple[str, str | None]] = []
        self.sent = 0
        self.stopping = threading.Event()
        self.client_left = threading.Event()
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.hostile = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def huge_body(total: int, chunk: int = 1 << 20, declare: bool = False) -> Reply:
    """A 200 whose body is `total` bytes of JSON-ish filler, made lazily chunk by chunk (no
    Content-Length unless `declare`: the end is the connection's close)."""

    def reply(handler: Handler, server: HostileServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declare:
            handler.send_header("Content-Length", str(total))
        handler.send_header("Connection", "close")
        handler.end_headers()
        block = b'{"tickets": [' + b" " * (chunk - 13)
        started = time.monotonic()
        while server.sent < total and not server.stopping.is_set():
            if time.monotonic() - started > 120:  # bound: never stream for ever
                return
            handler.wfile.write(block)
            server.sent += len(block)
            block = b" " * chunk

    return reply


def slow_drip(interval: float, limit: int = 200) -> Reply:
    """A 200 that sends one byte of a never-ending page every `interval` seconds (at most
    `limit` bytes), as a slow-loris server does."""

    def reply(handler: Handler, server: HostileServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(1 << 20))
        handler.end_headers()
        handler.wfile.write(b"{")
        handler.wfile.flush()
        for _ in range(limit):
            if server.stopping.wait(interval):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()
            server.sent += 1

    return reply
