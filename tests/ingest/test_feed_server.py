"""A real hotline API on 127.0.0.1 (for the CLI and the scheduled jobs); `monitor pull` on it."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from monitor.store.models import Ticket

TOKEN = "loopback-tok-9c1e77d2"


def item(number: int, **overrides) -> dict:
    """A valid ticket item for the feed."""
    value = {
        "ticket_id": f"L{number}",
        "url_hash": hashlib.sha256(f"https://bad.example/l/{number}".encode()).hexdigest(),
        "reported_at": "2026-02-03T04:05:06Z",
        "ip": "198.51.100.7",
    }
    value.update(overrides)
    return value


class LoopbackHotline:
    """Serves `/api/tickets?page=N` (bearer token required) and static files with ETags."""

    def __init__(self, pages: list[list]):
        self.pages = pages
        self.files: dict[str, bytes] = {}
        self.log: list[tuple[str, str, int]] = []
        hotline = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                status, body, headers = hotline.answer(self.path, self.headers)
                hotline.log.append(("GET", self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str, headers) -> tuple[int, bytes, dict]:
        parts = urlsplit(path)
        if parts.path in self.files:
            body = self.files[parts.path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if headers.get("If-None-Match") == etag:
                return 304, b"", {"ETag": etag}
            return 200, body, {"ETag": etag}
        if parts.path != "/api/tickets":
            return 404, b"not found", {}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, b'{"error": "token"}', {"Content-Type": "application/json"}
        page = int(parse_qs(parts.query).get("page", ["0"])[0])
        next_link = f"/api/tickets?page={page + 1}" if page + 1 < len(self.pages) else None
        body = json.dumps(
            {"tickets": self.pages[page] if page < len(self.pages) else [], "next": next_link}
        )
        return 200, body.encode(), {"Content-Type": "application/json"}

    def __enter__(self) -> LoopbackHotline:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hotline():
    with LoopbackHotline(
        [[item(1), item(2)], [item(3), "junk", item(4, reported_at="yesterday")]]
    ) as server:
        yield server


def test_monitor_pull_ingests_a_real_feed_and_resumes(cli, hotline, monkeypatch):
    monkeypatch.setenv("HOTLINE_TOKEN", TOKEN)
    url = hotline.base + "/api/tickets"
    result = cli("pull", url, "--source", "loop", "--token-env", "HOTLINE_TOKEN", "--json")
    summary = json.loads(result.stdout)
    assert (summary["pages"], summary["read"], summary["inserted"], summary["quarantined"]) == (
        2,
        5,
        3,
        2,
    )
    assert [error["reason"] for error in summary["errors"]] == [
        "not a JSON object",
        "reported_at: unparseable timestamp (expected ISO 8601)",
    ]
    assert summary["feed"] == f"127.0.0.1:{hotline.server.server_port} /api/tickets"
    assert TOKEN not in result.output

    hotline.pages[1].append(item(5))
    again = cli("pull", url, "--source", "loop", "--token-env", "HOTLINE_TOKEN")
    assert again.stdout.startswith(
        f"127.0.0.1:{hotline.server.server_port} /api/tickets: 1 page(s), read 4: "
        "inserted 1, updated 0, unchanged 1, quarantined 2"
    )
    assert [path for _, path, _ in hotline.log] == [
        "/api/tickets",
        "/api/tickets?page=1",
        "/api/tickets?page=1",
    ]


def test_monitor_pull_without_the_token_explains_the_refusal(cli, hotline, monkeypatch):
    monkeypatch.delenv("MONITOR_FEED_TOKEN", raising=False)
    result = cli("pull", hotline.base + "/api/tickets", ok=False)
    assert result.exit_code == 2
    assert (
        "HTTP 401: the feed refused the token (check the token environment variable)"
        in result.output
    )
    with sa.create_engine(cli.db_url).connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(Ticket.__table__)) == 0
