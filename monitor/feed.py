"""Pull ticket metadata from a hotline's ticket API (docs/feed-api.md).

Each page goes through the same validation and quarantine as a file
(`monitor.ingest.ingest_rows`), one page per transaction; the cursor is stored
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
from sqlalchemy.engine import Engine

from monitor.errors import FeedError
from monitor.feed_client import FeedClient, MalformedPage, Page, feed_label
from monitor.feed_cursor import Cursor, load_cursor, save_cursor
from monitor.ingest import IngestOptions, IngestSummary, ingest_rows
from monitor.readers import BadLine

log = logging.getLogger(__name__)

DEFAULT_TOKEN_ENV = "MONITOR_FEED_TOKEN"
MAX_QUARANTINED_PAGE_CHARS = 10_000


def pull(
    engine: Engine,
    url: str,
    *,
    source: str = "default",
    token_env: str | None = DEFAULT_TOKEN_ENV,
    hash_urls: bool = False,
    timezone: str | None = None,
    max_pages: int = 1000,
    timeout: float = 30.0,
    max_attempts: int = 5,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Fetch and ingest every page the feed has after the stored cursor; return the counts.

    The token is read from the environment variable `token_env` (never from an
    argument, so it stays out of shell history and process lists). Raises
    FeedError when the feed keeps failing; pages before the failure stay ingested.
    """
    token = _token(token_env)
    options = IngestOptions(source=source, format="jsonl", timezone=timezone, hash_urls=hash_urls)
    summary = IngestSummary()
    with FeedClient(
        url,
        token=token,
        transport=transport,
        sleep=sleep,
        timeout=timeout,
        max_attempts=max_attempts,
    ) as client:
        feed = feed_label(client.base)
        with engine.connect() as connection:
            cursor = load_cursor(connection, source, feed)
        request = client.start_url(cursor.next_url, cursor.since)
        pages, more = 0, False
        while True:
            if pages >= max_pages:
                more = True
                break
            try:
                page = client.fetch(request)
            except MalformedPage as exc:
                _quarantine_page(engine, options, request, exc)
                raise FeedError(
                    f"feed {feed_label(request)}: {exc}; kept in quarantine, "
                    "the next pull retries this page"
                ) from None
            cursor = _advance(cursor, page)
            save = lambda c, *_, cursor=cursor: save_cursor(c, source, feed, cursor)  # noqa: E731
            summary.add(_ingest_page(engine, options, page, save))
            pages += 1
            if page.next_url is None or page.next_url == request:
                break
            request = page.next_url
    log.info(
        "feed %s (%s): %d page(s), %d item(s), %d quarantined",
        feed,
        source,
        pages,
        summary.read,
        summary.quarantined,
    )
    return {
        "feed": feed,
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
    return token or None


def _advance(cursor: Cursor, page: Page) -> Cursor:
    """Where the next request starts: the page's `next`, else its `since`, else this page again."""
    since = page.since or cursor.since
    if page.next_url:
        return Cursor(page.next_url, since, cursor.pages + 1)
    if since:
        return Cursor(None, since, cursor.pages + 1)
    # Caught up on a feed without a high-water mark: ask for the last page again next time.
    return Cursor(page.url, None, cursor.pages + 1)


def _items(page: Page) -> Iterator[tuple[int, dict | BadLine]]:
    for number, item in enumerate(page.items, start=1):
        if isinstance(item, dict):
            yield number, {str(key).strip().lower(): value for key, value in item.items()}
        else:
            yield number, BadLine(json.dumps(item, ensure_ascii=False), "not a JSON object")


def _origin(url: str) -> str:
    return f"feed {feed_label(url)}"


def _ingest_page(engine: Engine, options: IngestOptions, page: Page, save) -> IngestSummary:
    """One page and the cursor after it, in one transaction."""
    return ingest_rows(
        engine,
        _items(page),
        options,
        origin=_origin(page.url),
        fmt="feed",
        sha256=page.sha256,
        before_commit=save,
    )


def _quarantine_page(engine: Engine, options: IngestOptions, url: str, exc: MalformedPage) -> None:
    """Keep an unreadable page as one quarantined row, so nothing the feed sent is lost unseen."""
    raw = exc.text[:MAX_QUARANTINED_PAGE_CHARS]
    ingest_rows(
        engine,
        [(1, BadLine(raw, f"malformed feed page: {exc}"))],
        options,
        origin=_origin(url),
        fmt="feed",
    )
