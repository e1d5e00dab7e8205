"""The feed against hostile servers on 127.0.0.1: a 2 GB body, a slow drip, plain http,
long cursors, malformed pages, and secrets planted in links, pages and logs.

No external network: every server binds 127.0.0.1 on port 0 (tests/feed_servers.py) or is
an httpx MockTransport; a refused request is refused before any socket is opened.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from monitor.core.errors import FeedError
from monitor.core.log_redaction import RedactingFilter, install, register_secret
from monitor.ingest.feed import pull
from monitor.ingest.feed_client import MAX_PAGE_BYTES, without_secrets
from monitor.ingest.feed_cursor import FeedCursor
from monitor.ingest.feed_page import MAX_CONTAINERS, MAX_JSON_DEPTH, MalformedPage, parse_page
from monitor.store.db import make_engine
from monitor.store.models import IngestRun, QuarantinedRow, Ticket
from monitor.store.schema import upgrade
from schedules import load_config, run_job
from tests.feed_servers import HostileServer, huge_body, slow_drip

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-HOSTILE-7f3a9c1e2b"
API_KEY = "APIKEY-SECRET-55d1"
SIGNATURE = "SIGVALUE-0a9b8c7d"
BASE = "https://hotline.example/api/tickets"


def ticket(number: int, **overrides) -> dict:
    """A valid feed item."""
    item = {
        "ticket_id": f"H{number}",
        "url_hash": hashlib.sha256(f"https://bad.example/h/{number}".encode()).hexdigest(),
        "reported_at": "2026-03-02T10:00:00Z",
        "ip": "192.0.2.7",
    }
    item.update(overrides)
    return item


def _rows(engine, table, *where) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(table.__table__).where(*where)).all()


def _sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _monitor(args: list[str], out: Path, token: str | None = TOKEN, timeout: float = 120):
    """`monitor ARGS` in a child process (its own memory, its own logging setup); the child's
    peak resident memory in KiB is written to `out` (Linux /proc)."""
    env = {key: value for key, value in os.environ.items() if key != "MONITOR_FEED_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    if token:
        env["MONITOR_FEED_TOKEN"] = token
    # Peak from /proc (VmHWM), not getrusage: Linux keeps ru_maxrss across execve, so a child
    # of a big pytest process would report the parent's size.
    script = (
        "import sys\n"
        "out = sys.argv.pop(1)\n"
        "try:\n"
        "    from monitor.cli import main\n"
        "    main()\n"
        "finally:\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "    open(out, 'w').write(status)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=out.parent,
    )


# --- the 2 GB body ---------------------------------------------------------------------


def test_a_2_gb_body_is_read_up_to_the_cap_only_in_bounded_memory_and_not_retried(tmp_path):
    url = _sqlite_db(tmp_path)
    with HostileServer(huge_body(2 << 30)) as server:
        started = time.monotonic()
        result = _monitor(["--db", url, "pull", server.base + "/api"], tmp_path / "rss")
        elapsed = time.monotonic() - started
        sent = server.sent

    peak_mb = int((tmp_path / "rss").read_text()) / 1024
    assert peak_mb < 200, f"peak memory {peak_mb:.0f} MB"
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: feed 127.0.0.1:{server.server.server_port} /api: page larger than 67,108,864 "
        "bytes (reading stopped there); kept in quarantine, the next pull retries this page"
    ]
    assert len(server.requests) == 1, "an over-size page is not asked for again"
    assert sent < 4 * MAX_PAGE_BYTES, f"the client stopped early ({sent >> 20} MiB sent of 2048)"
    assert elapsed < 60
    engine = make_engine(url)
    (quarantined,) = _rows(engine, QuarantinedRow)
    assert quarantined.reason.startswith("malformed feed page: page larger than 67,108,864 bytes")
    assert len(quarantined.raw) < 20_000
    (run,) = _rows(engine, IngestRun)
    assert (run.status, run.error) == ("failed", quarantined.reason)
    assert _rows(engine, FeedCursor) == [], "the cursor did not move"
    engine.dispose()


def test_a_gzip_bomb_inflates_no_further_than_the_cap_in_bounded_memory(tmp_path):
    url = _sqlite_db(tmp_path)
    # Gzip members may follow each other: 128 copies of one 16 MiB member inflate to 2 GiB.
    bomb = gzip.compress(b'{"tickets": [') + gzip.compress(b" " * (16 << 20)) * 128
    assert len(bomb) < 4 << 20

    def reply(handler, server):
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(bomb)))
        handler.end_headers()
        handler.wfile.write(bomb)

    with HostileServer(reply) as server:
        result = _monitor(["--db", url, "pull", server.base + "/api"], tmp_path / "rss")
    peak_mb = int((tmp_path / "rss").read_text()) / 1024
    assert peak_mb < 200, f"peak memory {peak_mb:.0f} MB"
    assert result.returncode == 2 and "page larger than 67,108,864 bytes" in result.stderr
    assert len(server.requests) == 1
    assert server.requests[0][1] == f"Bearer {TOKEN}"


def test_bodies_are_decoded_only_in_the_encodings_asked_for(sqlite_engine, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    page = json.dumps({"tickets": [ticket(1)]}).encode()
    answers = {
        "gzip": gzip.compress(page[:10]) + gzip.compress(page[10:]),
        "deflate": zlib.compress(page),
        "identity": page,
        "br": b"\x8b\x02\x80not brotli",
        "x-gzip": b"not gzip at all",
    }
    asked = []

    def reply(handler, server):
        asked.append(handler.headers["Accept-Encoding"])
        encoding = handler.path.rsplit("=", 1)[1]
        handler.send_response(200)
        handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(answers[encoding])))
        handler.end_headers()
        handler.wfile.write(answers[encoding])

    with HostileServer(reply) as server:
        for encoding in ("gzip", "deflate", "identity"):
            url = f"{server.base}/api?e={encoding}"
            assert pull(sqlite_engine, url, source=encoding)["inserted"] == 1, encoding
        for encoding, message in (
            ("br", "page has a Content-Encoding not asked for \\('br'\\)"),
            ("x-gzip", "page body is not valid x-gzip data"),
        ):
            with pytest.raises(FeedError, match=message):
                pull(sqlite_engine, f"{server.base}/api?e={encoding}", max_attempts=1)
    assert set(asked) == {"gzip, deflate"}


def test_a_declared_content_length_over_the_cap_is_refused_before_reading(
    sqlite_engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    with HostileServer(huge_body(2 << 30, declare=True)) as server:
        with pytest.raises(FeedError, match="page larger than 1,000 bytes"):
            pull(sqlite_engine, server.base + "/api", max_page_bytes=1000)
        assert len(server.requests) == 1
    assert server.sent < 64 << 20


# --- slow loris ----------------------------------------------------------------------------


def test_a_slow_loris_server_cannot_hold_pull_beyond_its_deadline(tmp_path):
    url = _sqlite_db(tmp_path)
    with HostileServer(slow_drip(0.4)) as server:
        started = time.monotonic()
        result = _monitor(
            ["--db", url, "pull", server.base + "/api?api_key=" + API_KEY, "--deadline", "2"],
            tmp_path / "rss",
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert elapsed < 2 + 6, f"took {elapsed:.1f} s"  # the deadline plus the child's start-up
    port = server.server.server_port
    assert result.stderr.splitlines() == [
        f"error: feed 127.0.0.1:{port} /api?api_key=%2A%2A%2A: the pull's deadline of 2 s "
        "passed; the next pull resumes from here"
    ]
    engine = make_engine(url)
    (run,) = _rows(engine, IngestRun)
    assert run.status == "failed"
    assert run.error == (
        f"DeadlineExceeded: feed 127.0.0.1:{port} /api?api_key=[redacted]: the pull's deadline "
        "of 2 s passed; the next pull resumes from here"
    )
    assert API_KEY not in run.error and API_KEY not in result.stderr
    engine.dispose()


def test_a_silent_server_is_cut_off_at_the_deadline_too(sqlite_engine, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)

    def silent(handler, server):
        server.stopping.wait(30)  # accepts, then never answers

    with HostileServer(silent) as server:
        started = time.monotonic()
        with pytest.raises(FeedError, match="the pull's deadline of 1.5 s passed"):
            pull(sqlite_engine, server.base + "/api", deadline=1.5)
        assert time.monotonic() - started < 3


def test_the_request_deadline_cuts_one_request_and_it_is_retried_like_no_answer(
    sqlite_engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    waits: list[float] = []
    with HostileServer(slow_drip(0.2)) as server:
        started = time.monotonic()
        with pytest.raises(
            FeedError, match=r"no complete answer within the 0.8 s deadline after 2 attempts"
        ):
            pull(
                sqlite_engine,
                server.base + "/api",
                request_deadline=0.8,
                max_attempts=2,
                sleep=waits.append,
            )
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2 and waits == [2.0]
    assert elapsed < 2 * 0.8 + 2


def test_a_deadline_between_pages_ends_the_pull_with_more_and_the_next_one_continues(
    engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    import monitor.ingest.feed

    now = [0.0]
    real_ingest = monitor.ingest.feed.ingest_rows

    def slow_ingest(*args, **kwargs):
        now[0] += 1.0  # each page takes a second to write
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(monitor.ingest.feed, "ingest_rows", slow_ingest)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "0"))
        link = f"/api/tickets?page={page + 1}" if page < 4 else None
        return httpx.Response(200, json={"tickets": [ticket(page)], "next": link})

    transport = httpx.MockTransport(handler)
    first = pull(engine, BASE, transport=transport, deadline=1.5, clock=lambda: now[0])
    assert (first["pages"], first["more"]) == (2, True)
    assert [run.status for run in _rows(engine, IngestRun)] == ["ok", "ok"]
    rest = pull(engine, BASE, transport=transport, deadline=100, clock=lambda: now[0])
    assert (rest["pages"], rest["more"], len(_rows(engine, Ticket))) == (3, False, 5)


def test_a_retry_wait_that_would_pass_the_deadline_is_not_started(engine, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    slept: list[float] = []
    transport = httpx.MockTransport(
        lambda request: httpx.Response(503, headers={"Retry-After": "10"})
    )
    with pytest.raises(FeedError) as error:
        pull(engine, BASE, transport=transport, deadline=5, sleep=slept.append)
    assert str(error.value) == (
        "feed hotline.example /api/tickets: HTTP 503; waiting 10 s more would pass the pull's "
        "deadline of 5 s; the next pull resumes from here"
    )
    assert slept == []
    (run,) = _rows(engine, IngestRun)
    assert run.status == "failed" and "HTTP 503; waiting 10 s more" in run.error


def test_a_scheduled_pull_from_a_slow_loris_ends_in_time_and_is_recorded_failed(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOSTILE_TOKEN", TOKEN)
    with HostileServer(slow_drip(0.3)) as server:
        path = tmp_path / "schedule.toml"
        path.write_text(
            f"""
[[jobs.pull.feeds]]
url = "{server.base}/api?signature={SIGNATURE}"
source = "slow"
token_env = "HOSTILE_TOKEN"
deadline = 2
""",
            "utf-8",
        )
        started = time.monotonic()
        record = run_job(engine, load_config(path), "pull")
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert record["outcome"] == "failed"
    port = server.server.server_port
    assert record["error"] == (
        "JobFailed: 1 of 1 feed(s) failed: slow: DeadlineExceeded: feed "
        f"127.0.0.1:{port} /api?signature=[redacted]: the pull's deadline of 2 s passed; "
        "the next pull resumes from here"
    )
    (run,) = _rows(engine, IngestRun)
    assert run.status == "failed" and SIGNATURE not in run.error and TOKEN not in run.error


# --- plain http ----------------------------------------------------------------------------


def test_the_token_is_not_sent_over_plain_http_to_another_host(sqlite_cli, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    # 192.0.2.1 (TEST-NET-1) is never reached: the refusal comes before any connection.
    result = sqlite_cli("pull", "http://192.0.2.1/api/tickets", ok=False)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: feed 192.0.2.1 /api/tickets: refusing to send the token over plain http "
        "(anyone on the path could read it); use an https URL, or --allow-http "
        "(allow_http = true in the schedule file) if the network is trusted"
    ]
    assert TOKEN not in result.output


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://[::1", "feed URL is not a usable URL (Invalid port: ':1')"),
        ("https://h.example/" + "a" * 70_000, "feed URL is not a usable URL (URL too long)"),
        ("ftp://h.example/x", "feed URL must be http(s)://host/...: got 'h.example /x'"),
    ],
)
def test_an_unusable_feed_url_is_one_error_line(sqlite_cli, url, message):
    result = sqlite_cli("pull", url, ok=False)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: {message}"]


def test_allow_http_and_loopback_and_no_token_let_plain_http_through(engine, monkeypatch):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"tickets": [ticket(len(seen))], "next": None})

    transport = httpx.MockTransport(handler)
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    with pytest.raises(FeedError, match="refusing to send the token over plain http "):
        pull(engine, "http://hotline.example/api", transport=transport)
    assert seen == []
    pull(engine, "http://hotline.example/api", transport=transport, allow_http=True)
    pull(engine, "http://localhost/api", transport=transport, source="lo")
    pull(engine, "http://[::1]/api", transport=transport, source="lo6")
    assert [r.headers["authorization"] for r in seen] == [f"Bearer {TOKEN}"] * 3
    monkeypatch.delenv("MONITOR_FEED_TOKEN")
    pull(engine, "http://hotline.example/api", transport=transport, source="open")
    assert "authorization" not in seen[-1].headers


def test_the_schedule_file_key_allow_http_is_the_only_way_for_a_scheduled_feed(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOSTILE_TOKEN", TOKEN)
    path = tmp_path / "schedule.toml"
    path.write_text(
        '[[jobs.pull.feeds]]\nurl = "http://192.0.2.1/api"\ntoken_env = "HOSTILE_TOKEN"\n', "utf-8"
    )
    record = run_job(engine, load_config(path), "pull")
    assert record["outcome"] == "failed"
    assert "refusing to send the token over plain http " in record["error"]
    path.write_text(path.read_text() + "allow_http = true\ndeadline = 0.5\n", "utf-8")
    assert load_config(path).job("pull").options["feeds"][0]["allow_http"] is True
    path.write_text(path.read_text().replace("allow_http = true", 'allow_http = "yes"'))
    with pytest.raises(Exception, match="allow_http must be a bool"):
        load_config(path)


# --- long cursors and sources on both backends ---------------------------------------------


def test_cursors_the_api_may_legally_send_are_stored_and_followed_on_both_backends(
    engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    long_since = "m" * 4_000
    long_cursor = "c" * 12_000
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        params = request.url.params
        if params.get("since") == long_since:
            return httpx.Response(200, json={"tickets": [ticket(3)], "since": long_since})
        if params.get("cursor") == long_cursor:
            return httpx.Response(200, json={"tickets": [ticket(2)], "since": long_since})
        return httpx.Response(
            200, json={"tickets": [ticket(1)], "next": f"/api/tickets?cursor={long_cursor}"}
        )

    source = "s" * 64
    transport = httpx.MockTransport(handler)
    first = pull(engine, BASE, source=source, transport=transport, max_pages=1)
    assert first["inserted"] == 1
    (stored,) = _rows(engine, FeedCursor)
    assert stored.next_url == f"{BASE}?cursor={long_cursor}" and stored.source == source
    pull(engine, BASE, source=source, transport=transport)
    (stored,) = _rows(engine, FeedCursor)
    assert (stored.next_url, stored.since) == (None, long_since)
    pull(engine, BASE, source=source, transport=transport)
    assert [url.params.get("cursor", url.params.get("since", "start"))[:1] for url in asked] == [
        "s",
        "c",
        "m",
    ]
    assert len(_rows(engine, Ticket)) == 3


def test_a_cursor_over_the_documented_limit_is_a_malformed_page_on_both_backends(
    engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    body = {"tickets": [ticket(1)], "since": "m" * 4_097}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with pytest.raises(FeedError, match='"since" is longer than 4,096 characters; kept in quar'):
        pull(engine, BASE, transport=transport, sleep=lambda s: None)
    assert _rows(engine, Ticket) == [] and _rows(engine, FeedCursor) == []
    (quarantined,) = _rows(engine, QuarantinedRow)
    assert quarantined.reason == 'malformed feed page: "since" is longer than 4,096 characters'


def test_a_source_over_64_characters_fails_alike_on_both_backends(engine, cli, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    transport = httpx.MockTransport(lambda request: pytest.fail("nothing may be fetched"))
    with pytest.raises(FeedError) as error:
        pull(engine, BASE, source="s" * 65, transport=transport)
    assert str(error.value) == "the feed's source must be 1 to 64 characters, got 65"
    result = cli("pull", BASE, "--source", "s" * 65, ok=False)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: the feed's source must be 1 to 64 characters, got 65"
    ]


def test_a_long_source_in_the_schedule_file_is_a_configuration_error(tmp_path):
    path = tmp_path / "schedule.toml"
    path.write_text(f'[[jobs.pull.feeds]]\nurl = "{BASE}"\nsource = "{"s" * 65}"\n', "utf-8")
    with pytest.raises(Exception, match="source must be 1 to 64 characters, got 65"):
        load_config(path)


def test_migration_0010_keeps_stored_cursors_and_widens_them(empty_db_url):
    from alembic import command

    from monitor.store.schema import alembic_config

    engine = make_engine(empty_db_url)
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    command.upgrade(config, "0005")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO feed_cursor (source, feed, next_url, since, pages, updated_at) "
                "VALUES ('hl', 'hotline.example/api', 'https://hotline.example/api?page=3', "
                "'mark-2', 3, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(engine)
    with engine.begin() as connection:
        row = connection.execute(sa.text("SELECT next_url, since, pages FROM feed_cursor")).one()
        assert tuple(row) == ("https://hotline.example/api?page=3", "mark-2", 3)
        connection.execute(sa.text("UPDATE feed_cursor SET since = :s"), {"s": "m" * 4000})
    engine.dispose()


# --- malformed pages: a clean failure, never a traceback -----------------------------------


HOSTILE_PAGES = {
    "nested 100k deep": b'{"tickets": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    "envelope nested past the bound": b'{"tickets": [], "x": '
    + b"[" * (MAX_JSON_DEPTH + 1)
    + b"]" * (MAX_JSON_DEPTH + 1)
    + b"}",
    "unbalanced brackets": b'{"tickets": [}',
    "closing first": b'{"tickets": ]][[}',
    "a million empty lists": b'{"tickets": [' + b",".join([b"[]"] * 1_000_000) + b"]}",
    "three million numbers": b'{"tickets": [' + b",".join([b"1"] * 3_000_000) + b"]}",
    "five million strings": b'{"tickets": [' + b",".join([b'""'] * 5_000_000) + b"]}",
    "not UTF-8": b'{"tickets": [], "since": "\xff\xfe"}',
    "truncated": b'{"tickets": [{"ticket_id": "T1"',
    "a list, not an object": b"[1, 2, 3]",
    "tickets not a list": b'{"tickets": {"a": 1}}',
    "duplicate envelope keys": b'{"tickets": [], "tickets": []}',
    "keys differing in case": b'{"tickets": [], "Tickets": []}',
    "next not a string": b'{"tickets": [], "next": 5}',
    "since a boolean": b'{"tickets": [], "since": true}',
    "lone surrogate in since": b'{"tickets": [], "since": "\\ud800"}',
    "huge int since": b'{"tickets": [], "since": ' + b"9" * 5000 + b"}",
    "empty body": b"",
    "a JSON string": b'"tickets"',
}


@pytest.mark.parametrize("name", HOSTILE_PAGES)
def test_a_hostile_page_is_malformed_quarantined_and_the_cursor_stays(engine, monkeypatch, name):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    body = HOSTILE_PAGES[name]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with pytest.raises(MalformedPage):
        parse_page(body)
    with pytest.raises(FeedError, match="; kept in quarantine, the next pull retries this page"):
        pull(engine, BASE, transport=transport, sleep=lambda s: None, max_attempts=2)
    (quarantined,) = _rows(engine, QuarantinedRow)
    assert quarantined.reason.startswith("malformed feed page: ")
    assert len(quarantined.raw) <= 2 * 10_000 + 100
    (run,) = _rows(engine, IngestRun)
    assert run.status == "failed" and run.error == quarantined.reason
    assert _rows(engine, FeedCursor) == [] and _rows(engine, Ticket) == []


def test_nesting_up_to_the_bound_and_brackets_inside_strings_are_fine():
    def nested(levels: int) -> bytes:  # the envelope object is the first level
        return ('{"tickets": [], "x": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}").encode()

    assert parse_page(nested(MAX_JSON_DEPTH)) == ([], None, None)
    with pytest.raises(MalformedPage, match="nested deeper than 64 levels"):
        parse_page(nested(MAX_JSON_DEPTH + 1))
    many = b'{"tickets": [' + b",".join([b"{}"] * (MAX_CONTAINERS - 2)) + b"]}"
    assert len(parse_page(many)[0]) == MAX_CONTAINERS - 2
    with pytest.raises(MalformedPage, match=r"too big to read \(more than 200,000 objects and"):
        parse_page(many.replace(b"[{}", b"[{},{}"))
    value = ']]]}} \\" [[[[ {{'
    tricky = json.dumps({"tickets": [{"a": value}], "since": "{[("})
    assert parse_page(tricky.encode()) == ([{"a": value}], None, "{[(")


def test_one_bad_value_in_an_item_quarantines_that_item_only(engine, monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    raw_items = [
        json.dumps(ticket(1)),
        '{"ticket_id": "H2", "ticket_id": "H2b", "url_hash": "x", "reported_at": "x"}',
        '{"ticket_id": "H3", "Ticket_ID": "H3b"}',
        json.dumps(ticket(4))[:-1] + ', "provider": "\\ud800"}',
        json.dumps(ticket(5))[:-1] + ', "asn": ' + "7" * 5000 + "}",
        json.dumps(ticket(6))[:-1] + ', "asn": NaN}',
        json.dumps(ticket(7, provider=f"echo {TOKEN}")),
        json.dumps(ticket(8)),
        '{"ticket_id": "H9", " ticket_id": "H9b"}',
    ]
    body = ('{"tickets": [' + ", ".join(raw_items) + "]}").encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    result = pull(engine, BASE, transport=transport)
    assert (result["read"], result["inserted"], result["quarantined"]) == (9, 2, 7)
    reasons = {row.line: row.reason for row in _rows(engine, QuarantinedRow)}
    assert reasons == {
        2: "item has keys that repeat (exactly or differing only in case)",
        3: "item has keys that repeat (exactly or differing only in case)",
        4: "item has a string with a lone surrogate (not Unicode)",
        5: "item has a number longer than 64 characters",
        6: "item has a NaN (not a JSON number)",
        7: "item has the feed's own token in a value",
        9: "item has keys that repeat (exactly or differing only in case)",
    }
    raws = "\n".join(row.raw for row in _rows(engine, QuarantinedRow))
    assert TOKEN not in raws and "7" * 100 not in raws
    assert {row.ticket_id for row in _rows(engine, Ticket)} == {"H1", "H8"}


# --- secrets -------------------------------------------------------------------------------


def test_secret_query_values_are_dropped_from_stored_cursors_and_the_cursor_still_works(
    engine, monkeypatch
):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401)
        page = int(request.url.params.get("page", "0"))
        link = f"/api/tickets?page={page + 1}&api_key={API_KEY}&X-Amz-Signature={SIGNATURE}"
        return httpx.Response(
            200, json={"tickets": [ticket(page)], "next": link if page < 3 else None}
        )

    transport = httpx.MockTransport(handler)
    pull(engine, BASE, transport=transport, max_pages=2)
    (stored,) = _rows(engine, FeedCursor)
    assert stored.next_url == BASE + "?page=2"
    assert API_KEY in str(asked[1].url), "within one pull the link is followed as given"
    asked.clear()
    result = pull(engine, BASE, transport=transport)
    assert str(asked[0].url) == BASE + "?page=2" and result["pages"] == 2
    assert len(_rows(engine, Ticket)) == 4
    stored_text = json.dumps([list(row) for row in _rows(engine, FeedCursor)], default=str)
    assert API_KEY not in stored_text and SIGNATURE not in stored_text


def test_a_key_in_the_configured_feed_url_is_added_back_to_a_resumed_cursor(engine, monkeypatch):
    monkeypatch.delenv("MONITOR_FEED_TOKEN", raising=False)
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.params.get("api_key") != API_KEY:
            return httpx.Response(401)
        page = int(request.url.params.get("page", "0"))
        link = f"/api/tickets?page={page + 1}&api_key={API_KEY}" if page < 2 else None
        return httpx.Response(200, json={"tickets": [ticket(page)], "next": link})

    transport = httpx.MockTransport(handler)
    pull(engine, f"{BASE}?api_key={API_KEY}", transport=transport, max_pages=1)
    (stored,) = _rows(engine, FeedCursor)
    assert stored.next_url == BASE + "?page=1" and API_KEY not in stored.feed
    result = pull(engine, f"{BASE}?api_key={API_KEY}", transport=transport)
    assert asked[1] == f"{BASE}?page=1&api_key={API_KEY}"
    assert result["pages"] == 2 and len(_rows(engine, Ticket)) == 3


def test_without_secrets_keeps_the_other_parameters_exactly():
    assert without_secrets("https://h.example/a?cursor=eyJ%3D%3D&token=t&page=2&sig=s") == (
        "https://h.example/a?cursor=eyJ%3D%3D&page=2"
    )
    assert without_secrets("https://h.example/a?access_token=t") == "https://h.example/a"
    assert without_secrets("https://h.example/a?author=x&page=1") == (
        "https://h.example/a?author=x&page=1"
    )


def test_the_log_filter_redacts_every_library_and_the_registered_token(caplog):
    register_secret(TOKEN)
    install()
    handlers = logging.getLogger().handlers
    assert any(isinstance(f, RedactingFilter) for h in handlers for f in h.filters)
    install()  # twice: still one filter per handler
    for handler in logging.getLogger().handlers:
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "GET", f"https://h.example/a?api_key={API_KEY}", "200 OK"
    )
    logging.getLogger("sqlalchemy.engine").info("params %r", {"token": TOKEN})
    logging.getLogger("apscheduler.executors").warning("job said signature=%s", SIGNATURE)
    try:
        raise RuntimeError(f"server echoed Bearer {TOKEN} and password=hunter2x")
    except RuntimeError:
        logging.getLogger("monitor.ingest.feed").exception("it failed")
    text = caplog.text
    for secret in (API_KEY, TOKEN, SIGNATURE, "hunter2x", "h.example"):
        assert secret not in text
    assert "HTTP Request: GET [redacted: raw URL]" in text
    assert "it failed" in text and "RuntimeError" in text


def test_planted_secrets_reach_no_database_byte_log_or_output(tmp_path):
    """Token, api_key and signature in the feed URL, in next links, echoed in items and in an
    error answer; `--verbose` pulls in a child process: none of them anywhere after."""
    url = _sqlite_db(tmp_path)
    raw_link = f"/api?page=%d&api_key={API_KEY}&signature={SIGNATURE}"

    def reply(handler, server):
        path = handler.path
        if f"Bearer {TOKEN}" != handler.headers.get("Authorization"):
            handler.send_json(b'{"error": "token"}', 401)
        elif "page=2" in path:
            handler.send_json(f"no such page: token={TOKEN} {path}".encode(), 404)
        elif "page=1" in path:
            body = {
                "tickets": [ticket(2, provider=TOKEN), ticket(3, comment=f"api_key={API_KEY}")],
                "next": raw_link % 2,
            }
            handler.send_json(json.dumps(body).encode())
        else:
            handler.send_json(json.dumps({"tickets": [ticket(1)], "next": raw_link % 1}).encode())

    with HostileServer(reply) as server:
        start = f"{server.base}/api?api_key={API_KEY}"
        result = _monitor(["--verbose", "--db", url, "pull", start, "--json"], tmp_path / "rss")
        again = _monitor(["--verbose", "--db", url, "pull", start], tmp_path / "rss")
    assert result.returncode == 2 and again.returncode == 2, result.stderr
    assert "HTTP Request: GET [redacted: raw URL]" in result.stderr, "--verbose logged requests"
    assert "HTTP 404" in result.stderr and "HTTP 404" in again.stderr
    # The stored cursor is `/api?page=2`; the key of the URL given on the command line is
    # added back when resuming (and is still in no byte of the database, below).
    assert [path for path, _ in server.requests][-1] == f"/api?page=2&api_key={API_KEY}"
    files = sorted(tmp_path.glob("hostile.db*"))
    blobs = b"".join(path.read_bytes() for path in files)
    outputs = result.stdout + result.stderr + again.stdout + again.stderr
    for secret in (TOKEN, API_KEY, SIGNATURE):
        assert secret.encode() not in blobs, f"{secret} in the database files"
        assert secret not in outputs, f"{secret} printed or logged"
    engine = make_engine(url)
    assert {row.ticket_id for row in _rows(engine, Ticket)} == {"H1", "H3"}
    assert [row.reason for row in _rows(engine, QuarantinedRow)] == [
        "item has the feed's own token in a value"
    ]
    assert [row.status for row in _rows(engine, IngestRun)].count("failed") == 2
    engine.dispose()


def test_a_token_echoed_in_a_malformed_page_never_reaches_quarantine(tmp_path, monkeypatch):
    url = _sqlite_db(tmp_path)
    engine = make_engine(url)
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    page = f'<html>debug {TOKEN} header "Authorization: Bearer {TOKEN}" api_key={API_KEY}'.encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=page))
    with pytest.raises(FeedError, match="page is not valid JSON"):
        pull(engine, BASE, transport=transport, sleep=lambda s: None, max_attempts=2)
    (quarantined,) = _rows(engine, QuarantinedRow)
    assert "debug [redacted]" in quarantined.raw
    # Read while the engine is open: the write-ahead log still holds the new pages.
    files = {path.name: path.read_bytes() for path in tmp_path.glob("hostile.db*")}
    assert b"malformed feed page" in files["hostile.db-wal"], "the WAL holds the write"
    engine.dispose()
    blobs = b"".join(files.values())
    assert TOKEN.encode() not in blobs and API_KEY.encode() not in blobs
