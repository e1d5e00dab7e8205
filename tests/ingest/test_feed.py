"""The hotline feed: pages, retries, cursor, quarantine, token hygiene (MockTransport only)."""

from __future__ import annotations

import hashlib
import json
import logging

import httpx
import pytest
import sqlalchemy as sa

from monitor.core.errors import FeedError, RawUrlRefused
from monitor.ingest.feed import pull
from monitor.ingest.feed_client import feed_label, retry_after_seconds
from monitor.ingest.feed_cursor import FeedCursor
from monitor.store.models import IngestRun, QuarantinedRow, Ticket, TicketEvent

TOKEN = "tok-Zq8Hw1-never-print-me"
BASE = "https://hotline.example/api/tickets"


def ticket(number: int, **overrides) -> dict:
    """A valid feed item in the contract's columns."""
    item = {
        "ticket_id": f"T{number}",
        "url_hash": hashlib.sha256(f"https://bad.example/{number}".encode()).hexdigest(),
        "reported_at": f"2026-03-{1 + number % 28:02d}T10:00:00Z",
        "notified_at": f"2026-03-{1 + number % 28:02d}T11:00:00+01:00",
        "ip": f"192.0.2.{number % 250 + 1}",
        "provider": "Example Hosting",
    }
    item.update(overrides)
    return item


class FakeHotline:
    """A hotline ticket API in memory: pages linked by `next`, with scripted failures per page."""

    def __init__(self, pages: list[list], *, with_since: bool = False):
        self.pages = pages
        self.with_since = with_since
        self.script: dict[int, list] = {}
        self.requests: list[httpx.Request] = []

    def fail(self, page: int, *actions) -> None:
        """Play these answers (status/headers, "timeout" or raw bytes) before serving `page`."""
        self.script.setdefault(page, []).extend(actions)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": "unauthorised"})
        params = request.url.params
        if "since" in params:
            index = int(params["since"].rsplit("-", 1)[1]) + 1
        else:
            index = int(params.get("page", "0"))
        actions = self.script.get(index)
        if actions:
            action = actions.pop(0)
            if action == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if isinstance(action, bytes):
                return httpx.Response(200, content=action)
            status, headers = action
            return httpx.Response(status, headers=headers, text="busy")
        if index >= len(self.pages):
            return httpx.Response(
                200,
                json={
                    "tickets": [],
                    "next": None,
                    "since": f"mark-{index - 1}" if self.with_since else None,
                },
            )
        body = {
            "tickets": self.pages[index],
            "next": f"/api/tickets?page={index + 1}" if index + 1 < len(self.pages) else None,
        }
        if self.with_since:
            body["since"] = f"mark-{index}"
        return httpx.Response(200, json=body)

    def pages_requested(self) -> list[str]:
        return [
            r.url.params.get("page") or r.url.params.get("since") or "start" for r in self.requests
        ]


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("MONITOR_FEED_TOKEN", TOKEN)
    return TOKEN


def _pull(engine, api: FakeHotline, sleeps: list | None = None, **options) -> dict:
    sleeps = [] if sleeps is None else sleeps
    return pull(
        engine, BASE, source="hl", transport=api.transport(), sleep=sleeps.append, **options
    )


def _count(engine, table, *where) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count()).select_from(table.__table__).where(*where)
        )


def _dump(engine) -> str:
    """Every value in every table, as one text, to search for things that must not be stored."""
    with engine.connect() as connection:
        parts = []
        for table in (Ticket, TicketEvent, IngestRun, QuarantinedRow, FeedCursor):
            parts += [
                json.dumps(list(row), default=str)
                for row in connection.execute(sa.select(table.__table__))
            ]
    return "\n".join(parts)


def test_every_valid_item_ingested_once_through_429_500_timeout_and_a_malformed_page(engine, token):
    api = FakeHotline(
        [
            [ticket(1), ticket(2), ticket(3)],
            [ticket(4), "not an object", ticket(5, url_hash=""), ticket(6)],
            [ticket(7), ticket(8)],
        ]
    )
    api.fail(1, (429, {"Retry-After": "7"}), (500, {}), "timeout")
    api.fail(2, b"<html>gateway hiccup</html>")
    sleeps: list[float] = []

    result = _pull(engine, api, sleeps)

    # Retry-After honoured, then backoff doubling from 2 s for the 500, the timeout, the bad page.
    assert sleeps == [7.0, 4.0, 8.0, 2.0]
    assert api.pages_requested() == ["start", "1", "1", "1", "1", "2", "2"]
    assert (result["pages"], result["read"], result["inserted"], result["quarantined"]) == (
        3,
        9,
        7,
        2,
    )
    assert _count(engine, Ticket) == 7
    assert _count(engine, TicketEvent, TicketEvent.__table__.c.field == "first_seen") == 7
    with engine.connect() as connection:
        bad = connection.execute(
            sa.select(
                QuarantinedRow.__table__.c.line,
                QuarantinedRow.__table__.c.reason,
                QuarantinedRow.__table__.c.origin,
            ).order_by("line")
        ).all()
    assert [(line, reason) for line, reason, _ in bad] == [
        (2, "not a JSON object"),
        (3, "missing required field: url_hash"),
    ]
    assert bad[0].origin == "feed hotline.example /api/tickets?page=1"

    # A second pull re-asks only for the last page (no high-water mark) and changes nothing.
    again = _pull(engine, api)
    assert api.pages_requested()[-1:] == ["2"] and len(api.requests) == 8
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert _count(engine, TicketEvent) == 7 and _count(engine, QuarantinedRow) == 2


def test_a_stopped_pull_resumes_from_the_stored_cursor(engine, token):
    api = FakeHotline([[ticket(1), ticket(2)], [ticket(3)], [ticket(4)]])
    api.fail(1, *[(503, {})] * 5)

    with pytest.raises(
        FeedError, match=r"feed hotline.example /api/tickets\?page=1: HTTP 503 after 5 attempts"
    ):
        _pull(engine, api)
    assert _count(engine, Ticket) == 2
    with engine.connect() as connection:
        stored = connection.execute(sa.select(FeedCursor.__table__)).one()
    assert (stored.source, stored.feed, stored.next_url) == (
        "hl",
        "hotline.example/api/tickets",
        BASE + "?page=1",
    )

    api.requests.clear()
    result = _pull(engine, api)
    assert api.pages_requested() == ["1", "2"]
    assert result["inserted"] == 2 and _count(engine, Ticket) == 4


def test_a_page_that_stays_malformed_is_quarantined_once_and_the_pull_resumes_there(engine, token):
    api = FakeHotline([[ticket(1)], [ticket(2)], [ticket(3)]])
    api.fail(1, *[b'{"tickets": [ {"ticket_id": "T2", '] * 10)

    for _ in range(2):
        with pytest.raises(
            FeedError, match="page is not valid JSON .*kept in quarantine, the next pull retries"
        ):
            _pull(engine, api, max_attempts=3)
    assert _count(engine, Ticket) == 1
    with engine.connect() as connection:
        rows = connection.execute(sa.select(QuarantinedRow.__table__)).all()
    assert len(rows) == 1, "a page refetched twice is quarantined once"
    assert rows[0].reason.startswith("malformed feed page: page is not valid JSON")
    assert '\\"ticket_id\\": \\"T2\\"' in rows[0].raw

    api.script.clear()
    _pull(engine, api)
    assert _count(engine, Ticket) == 3


def test_since_marks_are_kept_and_sent_on_the_next_pull(engine, token):
    api = FakeHotline([[ticket(1)], [ticket(2)]], with_since=True)
    first = _pull(engine, api)
    assert first["cursor"] == {"next": None, "since": "mark-1"}

    api.pages.append([ticket(3), ticket(4)])
    api.requests.clear()
    second = _pull(engine, api)
    assert [str(r.url) for r in api.requests] == [BASE + "?since=mark-1"]
    assert second["inserted"] == 2 and second["cursor"]["since"] == "mark-2"


def test_max_pages_bounds_one_pull_and_says_there_is_more(engine, token):
    api = FakeHotline([[ticket(n)] for n in range(1, 6)])
    first = _pull(engine, api, max_pages=2)
    assert (first["pages"], first["more"]) == (2, True)
    rest = _pull(engine, api)
    assert (rest["pages"], rest["more"], _count(engine, Ticket)) == (3, False, 5)


def test_the_token_is_sent_but_never_logged_stored_or_returned(engine, token, caplog):
    caplog.set_level(logging.DEBUG)
    api = FakeHotline([[ticket(1), ticket(2, url_hash="zz")], [ticket(3)]])
    api.fail(1, (429, {"Retry-After": "1"}), "timeout", (500, {}))
    result = _pull(engine, api)

    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert caplog.records, "the pull logs its progress"
    assert TOKEN not in caplog.text
    assert TOKEN not in json.dumps(result)
    assert TOKEN not in _dump(engine)


def test_a_refused_token_fails_with_a_message_that_names_no_secret(engine, monkeypatch):
    monkeypatch.setenv("HOTLINE_TOKEN", "wrong-" + TOKEN)
    api = FakeHotline([[ticket(1)]])
    with pytest.raises(FeedError) as error:
        _pull(engine, api, token_env="HOTLINE_TOKEN")
    assert str(error.value) == (
        "feed hotline.example /api/tickets: HTTP 401: the feed refused the token "
        "(check the token environment variable)"
    )
    assert len(api.requests) == 1, "a 401 is not retried"


def test_a_next_link_to_another_server_is_refused_before_the_token_goes_there(engine, token):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "hotline.example", "the token must never reach another host"
        return httpx.Response(
            200, json={"tickets": [ticket(1)], "next": "https://evil.example/steal"}
        )

    with pytest.raises(FeedError, match=r"refusing a next link to another server \(evil.example\)"):
        pull(
            engine, BASE, source="hl", transport=httpx.MockTransport(handler), sleep=lambda s: None
        )
    assert _count(engine, Ticket) == 0


def test_credentials_in_the_feed_url_are_refused(engine, token):
    with pytest.raises(FeedError, match="must not carry credentials"):
        pull(
            engine,
            "https://user:pw@hotline.example/api",
            transport=httpx.MockTransport(lambda r: None),
        )


def test_a_retry_after_beyond_the_limit_stops_the_pull_with_a_reason(engine, token):
    api = FakeHotline([[ticket(1)], [ticket(2)]])
    api.fail(1, (429, {"Retry-After": "3600"}))
    with pytest.raises(
        FeedError, match="HTTP 429 and asked to wait 3600 s, more than the 300 s limit"
    ):
        _pull(engine, api)
    assert _count(engine, Ticket) == 1


def test_raw_urls_in_items_are_refused_unless_hashed_as_in_files(engine, token):
    url = "https://bad.example/path/image-42"
    item = {"ticket_id": "U1", "url": url, "reported_at": "2026-03-01T10:00:00Z"}
    api = FakeHotline([[item]])
    with pytest.raises(RawUrlRefused, match="refusing to ingest it"):
        _pull(engine, api)
    assert _count(engine, Ticket) == 0

    result = _pull(engine, api, hash_urls=True)
    assert result["inserted"] == 1
    with engine.connect() as connection:
        stored = connection.scalar(sa.select(Ticket.__table__.c.url_hash))
    assert stored == hashlib.sha256(url.encode()).hexdigest()
    assert "bad.example" not in _dump(engine)


def test_feed_label_hides_scheme_credentials_and_secret_parameters():
    assert feed_label("https://a.example:8443/api/t?page=2&api_key=abc&Token=x") == (
        "a.example:8443 /api/t?page=2&api_key=%2A%2A%2A&Token=%2A%2A%2A"
    )


def test_retry_after_reads_seconds_and_http_dates():
    from datetime import UTC, datetime

    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None) is None


def test_a_stored_cursor_on_another_scheme_is_not_followed_with_the_token(engine, token):
    api = FakeHotline([[ticket(1)], [ticket(2)]])
    _pull(engine, api, max_pages=1)
    with engine.begin() as connection:
        connection.execute(
            sa.update(FeedCursor.__table__).values(
                next_url="http://hotline.example/api/tickets?page=1"
            )
        )
    api.requests.clear()
    _pull(engine, api)
    assert [str(r.url) for r in api.requests][0] == BASE, "starts over on the feed's own https URL"


def test_a_feed_label_survives_the_redaction_of_stored_text():
    from monitor.core.redaction import redact_text

    label = feed_label("https://hotline.example/api/tickets?page=2&token=abc")
    assert redact_text(f"feed {label}: HTTP 500") == (
        "feed hotline.example /api/tickets?page=2&token=[redacted]: HTTP 500"
    )


def test_feed_label_brackets_ipv6_hosts():
    assert feed_label("http://[2001:db8::1]:8080/api") == "[2001:db8::1]:8080 /api"
