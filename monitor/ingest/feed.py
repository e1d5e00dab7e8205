"""Pull ticket metadata from a hotline's ticket API (docs/feed-api.md).

Each page goes through the same validation and quarantine as a file
(`monitor.ingest.pipeline.ingest_rows`), one page per transaction; the cursor is stored
after each page, so a pull that stops (error, crash, kill) resumes where it
stopped. A page fetched twice changes nothing: ingest is idempotent and
quarantine keeps a bad item once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.errors import FeedError
from monitor.core.log_redaction import register_secret
from monitor.core.redaction import error_text, redact_text
from monitor.core.timeutil import utcnow
from monitor.ingest import IngestOptions, IngestSummary, ingest_rows
from monitor.ingest.feed_client import (
    DEFAULT_REQUEST_DEADLINE,
    DEFAULT_RUN_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_PAGE_BYTES,
    FeedClient,
    Page,
    feed_key,
    feed_label,
    without_secrets,
)
from monitor.ingest.feed_cursor import MAX_SOURCE_CHARS, Cursor, load_cursor, save_cursor
from monitor.ingest.feed_page import MalformedPage, plain, problem_in
from monitor.ingest.readers import BadLine
from monitor.store.models import IngestRun

log = logging.getLogger(__name__)

DEFAULT_TOKEN_ENV = "MONITOR_FEED_TOKEN"
MAX_QUARANTINED_PAGE_CHARS = 10_000
MAX_ORIGIN_CHARS = 255


def pull(
    engine: Engine,
    url: str,
    *,
    source: str = "default",
    token_env: str | None = DEFAULT_TOKEN_ENV,
    hash_urls: bool = False,
    timezone: str | None = None,
    max_pages: int = 1000,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = 5,
    deadline: float = DEFAULT_RUN_DEADLINE,
    request_deadline: float = DEFAULT_REQUEST_DEADLINE,
    allow_http: bool = False,
    max_page_bytes: int = MAX_PAGE_BYTES,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Fetch and ingest every page the feed has after the stored cursor; return the counts.

    The token is read from the environment variable `token_env` (never from an
    argument, so it stays out of shell history and process lists). Raises
    FeedError when the feed keeps failing or `deadline` seconds pass during a request;
    pages before the failure stay ingested and the failure is kept as a failed ingest run
    (redacted). A deadline that passes between pages ends the pull with `more` true.
    """
    if len(source) > MAX_SOURCE_CHARS or not source.strip():
        raise FeedError(
            f"the feed's source must be 1 to {MAX_SOURCE_CHARS} characters, got {len(source)}"
        )
    token = _token(token_env)
    secrets = [token] if token else []
    options = IngestOptions(source=source, format="jsonl", timezone=timezone, hash_urls=hash_urls)
    summary = IngestSummary()
    with FeedClient(
        url,
        token=token,
        transport=transport,
        sleep=sleep,
        timeout=timeout,
        max_attempts=max_attempts,
        run_deadline=deadline,
        request_deadline=request_deadline,
        max_page_bytes=max_page_bytes,
        allow_http=allow_http,
        clock=clock,
    ) as client:
        feed, label = feed_key(client.base), feed_label(client.base)
        with engine.connect() as connection:
            cursor = load_cursor(connection, source, feed)
        request = client.start_url(cursor.next_url, cursor.since)
        pages, more = 0, False
        while True:
            if pages >= max_pages:
                more = True
                break
            if pages and client.time_left() <= 0:
                # Between pages: progress, not a failure; the next pull continues from here.
                log.warning(
                    "feed %s: the pull's deadline of %g s passed after %d page(s); "
                    "the next pull continues",
                    label,
                    deadline,
                    pages,
                )
                more = True
                break
            try:
                page = client.fetch(request)
            except MalformedPage as exc:
                _quarantine_page(engine, options, request, exc, secrets)
                raise FeedError(
                    f"feed {feed_label(request)}: {exc}; kept in quarantine, "
                    "the next pull retries this page"
                ) from None
            except FeedError as exc:
                _record_failure(engine, source, request, exc, secrets)
                raise
            cursor = _advance(cursor, page)
            save = lambda c, *_, cursor=cursor: save_cursor(c, source, feed, cursor)  # noqa: E731
            summary.add(_ingest_page(engine, options, page, save, token))
            pages += 1
            if page.next_url is None or page.next_url == request:
                break
            request = page.next_url
    log.info(
        "feed %s (%s): %d page(s), %d item(s), %d quarantined",
        label,
        source,
        pages,
        summary.read,
        summary.quarantined,
    )
    return {
        "feed": label,
        "source": source,
        "pages": pages,
        "more": more,
        **summary.to_json(),
        "cursor": {"next": cursor.next_url and feed_label(cursor.next_url), "since": cursor.since},
    }


def _token(token_env: str | None) -> str | None:
    if not token_env:
        return None
    token = os.environ.get(token_env, "").strip()
    if not token:
        log.warning("no feed token in $%s: pulling without authentication", token_env)
        return None
    register_secret(token)
    return token


def _advance(cursor: Cursor, page: Page) -> Cursor:
    """Where the next request starts: the page's `next`, else its `since`, else this page again.

    A stored URL never keeps a secret-looking query value (docs/feed-api.md): the token
    goes in the Authorization header of every request instead."""
    since = page.since or cursor.since
    if page.next_url:
        return Cursor(without_secrets(page.next_url), since, cursor.pages + 1)
    if since:
        return Cursor(None, since, cursor.pages + 1)
    # Caught up on a feed without a high-water mark: ask for the last page again next time.
    return Cursor(without_secrets(page.url), None, cursor.pages + 1)


def _items(page: Page, token: str | None) -> Iterator[tuple[int, dict | BadLine]]:
    """The page's items as rows; an item with a value no row may hold is a bad line of its own."""
    for number, item in enumerate(page.items, start=1):
        if not isinstance(item, dict):
            yield number, BadLine(_shown(item, token), "not a JSON object")
            continue
        problem = problem_in(item)
        if problem is None and token and token in json.dumps(item, ensure_ascii=False):
            problem = "the feed's own token in a value"
        if problem is None:
            yield number, {str(key).strip().lower(): value for key, value in item.items()}
        else:
            yield number, BadLine(_shown(item, token), f"item has {problem}")


def _shown(value: object, token: str | None) -> str:
    """An item as quarantine keeps it: JSON, escapes for what is not Unicode, the token removed."""
    return redact_text(json.dumps(plain(value)), [token] if token else [])


def _origin(url: str) -> str:
    """`feed host path?query` (secret values masked), within the column's 255 characters."""
    origin = f"feed {feed_label(url)}"
    if len(origin) > MAX_ORIGIN_CHARS:
        origin = origin[: MAX_ORIGIN_CHARS - 1] + "\u2026"
    return origin


def _ingest_page(
    engine: Engine, options: IngestOptions, page: Page, save, token: str | None
) -> IngestSummary:
    """One page and the cursor after it, in one transaction."""
    return ingest_rows(
        engine,
        _items(page, token),
        options,
        origin=_origin(page.url),
        fmt="feed",
        sha256=page.sha256,
        before_commit=save,
    )


def _quarantine_page(
    engine: Engine, options: IngestOptions, url: str, exc: MalformedPage, secrets: list[str]
) -> None:
    """Keep an unreadable page as one quarantined row (redacted, the token removed by value), so
    nothing the feed sent is lost unseen; its ingest run is recorded failed, with the reason."""
    raw = redact_text(exc.text[:MAX_QUARANTINED_PAGE_CHARS], secrets)
    reason = f"malformed feed page: {exc}"

    def mark_failed(connection, _summary, run_id: int) -> None:
        connection.execute(
            sa.update(RUN).where(RUN.c.id == run_id).values(status="failed", error=reason)
        )

    ingest_rows(
        engine,
        [(1, BadLine(raw, reason))],
        options,
        origin=_origin(url),
        fmt="feed",
        before_commit=mark_failed,
    )


def _record_failure(
    engine: Engine, source: str, url: str, exc: Exception, secrets: list[str]
) -> None:
    """A failed ingest run for a page that never came (deadline, HTTP error), error redacted."""
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(RUN).values(
                    source=source,
                    origin=_origin(url),
                    format="feed",
                    status="failed",
                    started_at=now,
                    finished_at=now,
                    read=0,
                    inserted=0,
                    updated=0,
                    unchanged=0,
                    quarantined=0,
                    ignored_columns="[]",
                    error=error_text(exc, secrets),
                )
            )
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.warning("could not record the failed pull of %s", _origin(url))


RUN = IngestRun.__table__
