"""HTTP client of a hotline's ticket API (docs/feed-api.md): one page per call, retried.

The bearer token goes into a request header and nowhere else: it is never part
of a message, a log line or a stored value. Retries back off exponentially on
429 and 5xx answers (honouring `Retry-After`), on timeouts and on broken
connections; waiting goes through an injectable `sleep`, and the transport is
injectable, so tests never sleep and never touch the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor.errors import FeedError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
SENSITIVE_PARAMS = ("token", "key", "secret", "password", "passwd", "auth", "signature", "sig")
MAX_PAGE_BYTES = 64 << 20
USER_AGENT = "takedown-monitor feed client"


class MalformedPage(FeedError):
    """A 200 answer whose body is not a page; `text` keeps the body for quarantine."""

    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


@dataclass(frozen=True)
class Page:
    """One page of the feed: its ticket items (any JSON values) and where to go on."""

    url: str
    items: list
    next_url: str | None
    since: str | None
    sha256: str


def feed_label(url: str | httpx.URL) -> str:
    """`host/path?query` for messages and records: no scheme, credentials or secret params."""
    parsed = httpx.URL(str(url))
    params = [
        (name, "***" if any(word in name.lower() for word in SENSITIVE_PARAMS) else value)
        for name, value in parsed.params.multi_items()
    ]
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    host += f":{parsed.port}" if parsed.port else ""
    query = str(httpx.QueryParams(params))
    return f"{host}{parsed.path}" + (f"?{query}" if query else "")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by `Retry-After` (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class FeedClient:
    """Fetches pages from one feed; only follows links on the feed's own scheme, host and port."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 2.0,
        max_wait: float = 300.0,
    ):
        self.base = httpx.URL(base_url)
        if self.base.scheme not in ("http", "https") or not self.base.host:
            raise FeedError(f"feed URL must be http(s)://host/...: got {feed_label(base_url)!r}")
        if self.base.userinfo:
            raise FeedError(
                "feed URL must not carry credentials: give the token in an environment variable"
            )
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            headers=headers, timeout=timeout, transport=transport, follow_redirects=False
        )
        self._sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.waited: list[float] = []

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def start_url(self, next_url: str | None, since: str | None) -> str:
        """Where a pull starts: a stored `next` link on this feed's server, else the base URL
        (with `since` when resuming from a high-water mark)."""
        if next_url:
            try:
                return self._same_feed(str(self.base), next_url)
            except FeedError:
                log.warning(
                    "feed %s: stored cursor is on another server; starting over",
                    feed_label(self.base),
                )
        return str(self.base.copy_merge_params({"since": since})) if since else str(self.base)

    def fetch(self, url: str) -> Page:
        """One page, retried on 429/5xx, timeouts, broken or malformed answers, else FeedError."""
        label = feed_label(url)
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                response = self._client.get(url)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__} (no answer)"
                if last:
                    raise FeedError(f"feed {label}: {problem} after {attempt} attempts") from None
                self._wait(self._backoff(attempt), label, problem)
                continue
            if response.status_code in RETRY_STATUS:
                problem = f"HTTP {response.status_code}"
                if last:
                    raise FeedError(f"feed {label}: {problem} after {attempt} attempts")
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                self._wait(asked if asked is not None else self._backoff(attempt), label, problem)
                continue
            if response.status_code != 200:
                raise FeedError(_refusal(label, response.status_code))
            try:
                return self._page(url, response)
            except MalformedPage as exc:
                if last:
                    raise
                self._wait(self._backoff(attempt), label, str(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * 2 ** (attempt - 1))

    def _wait(self, seconds: float, label: str, problem: str) -> None:
        if seconds > self.max_wait:
            raise FeedError(
                f"feed {label}: {problem} and asked to wait {seconds:.0f} s, more than the "
                f"{self.max_wait:.0f} s limit; the next pull resumes from here"
            )
        log.warning("feed %s: %s; retrying in %.1f s", label, problem, seconds)
        self.waited.append(seconds)
        self._sleep(seconds)

    def _page(self, url: str, response: httpx.Response) -> Page:
        body = response.content
        text = body[:MAX_PAGE_BYTES].decode("utf-8", errors="replace")
        if len(body) > MAX_PAGE_BYTES:
            raise MalformedPage(f"page larger than {MAX_PAGE_BYTES >> 20} MiB", text[:10_000])
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedPage(f"page is not valid JSON ({exc})", text) from None
        if not isinstance(document, dict) or not isinstance(document.get("tickets"), list):
            raise MalformedPage('page is not a JSON object with a "tickets" list', text)
        next_link, since = document.get("next"), document.get("since")
        if next_link is not None and not isinstance(next_link, str):
            raise MalformedPage('"next" must be a URL string or null', text)
        if since is not None and not isinstance(since, str | int):
            raise MalformedPage('"since" must be a string or null', text)
        return Page(
            url=url,
            items=document["tickets"],
            next_url=self._same_feed(url, next_link) if next_link else None,
            since=str(since) if since is not None else None,
            sha256=hashlib.sha256(body).hexdigest(),
        )

    def _same_feed(self, current: str, link: str) -> str:
        target = httpx.URL(current).join(link)
        if (target.scheme, target.host, target.port) != (
            self.base.scheme,
            self.base.host,
            self.base.port,
        ):
            # Following it would hand the bearer token to another server.
            raise FeedError(
                f"feed {feed_label(self.base)}: "
                f"refusing a next link to another server ({target.host})"
            )
        if target.userinfo:
            raise FeedError(f"feed {feed_label(self.base)}: refusing a next link with credentials")
        return str(target)


def _refusal(label: str, status: int) -> str:
    if status in (401, 403):
        return (
            f"feed {label}: HTTP {status}: the feed refused the token "
            "(check the token environment variable)"
        )
    if 300 <= status < 400:
        return (
            f"feed {label}: HTTP {status}: redirects are not followed "
            "(the token would go along); use the final URL"
        )
    return f"feed {label}: HTTP {status}"
