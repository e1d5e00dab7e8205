"""HTTP client of a hotline's ticket API (docs/feed-api.md): one page per call, retried.

The bearer token goes into a request header and nowhere else: it is never part
of a message, a log line or a stored value, and never goes over plain http to a
host that is not loopback unless allowed. Every bound is explicit: a body is
streamed and reading stops at the page cap; a request and the whole run each
have a deadline, so a slow or silent server cannot hold a pull. Retries back off
exponentially on 429 and 5xx answers (honouring `Retry-After`), on timeouts and
on broken connections; waiting goes through an injectable `sleep`, and the
transport is injectable, so tests never sleep and never touch the network.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_plus

import httpx

from monitor.core.errors import FeedError
from monitor.ingest.feed_page import MalformedPage, parse_page

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
SENSITIVE_PARAMS = ("token", "key", "secret", "password", "passwd", "auth", "signature", "sig")
# Whole words of a query parameter name that mark its value as a secret (`api_key`,
# `access_token`, `X-Amz-Signature`, `sig`, `pwd`): dropped from every stored cursor.
SECRET_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "auth",
        "signature",
        "sig",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "jwt",
        "bearer",
        "accesstoken",
        "apitoken",
        "authorization",
        "otp",
        "hmac",
    }
)
SECRET_ENDINGS = ("token", "secret", "password", "passwd", "signature", "apikey", "accesskey")
_WORD = re.compile(r"[a-z0-9]+")
MAX_PAGE_BYTES = 64 << 20
DEFAULT_TIMEOUT = 30.0
DEFAULT_REQUEST_DEADLINE = 60.0
DEFAULT_RUN_DEADLINE = 300.0
USER_AGENT = "takedown-monitor feed client"
ENCODINGS = ("gzip", "deflate")
"""Content encodings asked for; each is decoded here a bounded piece at a time."""
DECODED_PIECE = 1 << 20


class PageTooLarge(MalformedPage):
    """A page over the size cap: reading stopped at the cap, and it is not asked for again."""


class DeadlineExceeded(FeedError):
    """The pull's overall deadline passed: it stops, and the next pull resumes from the cursor."""


@dataclass(frozen=True)
class Page:
    """One page of the feed: its ticket items (any JSON values) and where to go on."""

    url: str
    items: list
    next_url: str | None
    since: str | None
    sha256: str


def feed_key(url: str | httpx.URL) -> str:
    """`host/path?query` (secret parameters masked): the feed's identity for its stored cursor,
    in the form earlier versions stored, so that their cursors keep working."""
    host, rest = _label_parts(url)
    return f"{host}{rest}"


def feed_label(url: str | httpx.URL) -> str:
    """`host path?query` for messages and records: no scheme, credentials or secret params.

    Host and path stand apart so that the label does not read as a reported URL, which the
    redaction of stored and logged text removes whole."""
    host, rest = _label_parts(url)
    return f"{host} {rest}"


def _label_parts(url: str | httpx.URL) -> tuple[str, str]:
    parsed = httpx.URL(str(url))
    params = [
        (name, "***" if secret_param(name) or _sensitive(name) else value)
        for name, value in parsed.params.multi_items()
    ]
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    host += f":{parsed.port}" if parsed.port else ""
    query = str(httpx.QueryParams(params))
    return host, parsed.path + (f"?{query}" if query else "")


def _sensitive(name: str) -> bool:
    # For labels only (masking more than needed costs nothing there): any name containing one.
    return any(word in name.lower() for word in SENSITIVE_PARAMS)


def secret_param(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential: a word of it is one
    (`api_key`, `access_token`, `X-Amz-Signature`, `sig`) or ends like one (`authToken`)."""
    words = _WORD.findall(name.lower())
    return any(
        word in SECRET_WORDS or word.endswith(SECRET_ENDINGS) for word in words + ["".join(words)]
    )


def without_secrets(url: str) -> str:
    """The URL with every secret-looking query parameter dropped: what a stored cursor keeps.

    The other parameters keep their exact encoding, so an opaque cursor value still works.
    """
    parsed = httpx.URL(url)
    parts = parsed.query.decode("ascii").split("&") if parsed.query else []
    kept = [part for part in parts if part and not secret_param(unquote_plus(part.split("=")[0]))]
    if len(kept) == len(parts):
        return str(parsed)
    return str(parsed.copy_with(query="&".join(kept).encode() or None))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: the only hosts a token may reach over plain http."""
    if host.lower().rstrip(".") in ("localhost",) or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    """Fetches pages from one feed; only follows links on the feed's own scheme, host and port.

    Bounds (docs/feed-api.md): a page is read as a stream and reading stops at
    `max_page_bytes`; each request (all its reads) must finish within `request_deadline`
    seconds and the whole run (requests, retries and waits) within `run_deadline` seconds
    of the client's creation; a token is only sent over https, or to a loopback host, unless
    `allow_http`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff: float = 2.0,
        max_wait: float = 300.0,
        request_deadline: float = DEFAULT_REQUEST_DEADLINE,
        run_deadline: float = DEFAULT_RUN_DEADLINE,
        max_page_bytes: int = MAX_PAGE_BYTES,
        allow_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        try:
            self.base = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            # The reason names the rule (bad port, too long), never the URL itself.
            raise FeedError(f"feed URL is not a usable URL ({exc})") from None
        if self.base.scheme not in ("http", "https") or not self.base.host:
            raise FeedError(f"feed URL must be http(s)://host/...: got {feed_label(base_url)!r}")
        if self.base.userinfo:
            raise FeedError(
                "feed URL must not carry credentials: give the token in an environment variable"
            )
        if token and self.base.scheme == "http" and not allow_http:
            if not is_loopback(self.base.host):
                raise FeedError(
                    f"feed {feed_label(self.base)}: refusing to send the token over plain http "
                    "(anyone on the path could read it); use an https URL, or --allow-http "
                    "(allow_http = true in the schedule file) if the network is trusted"
                )
        for name, value in (("request_deadline", request_deadline), ("run_deadline", run_deadline)):
            if not value > 0:
                raise FeedError(f"the feed's {name} must be more than 0 seconds, got {value!r}")
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": ", ".join(ENCODINGS),
            "User-Agent": USER_AGENT,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            headers=headers, timeout=timeout, transport=transport, follow_redirects=False
        )
        self._sleep = sleep
        self._clock = clock
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.request_deadline = request_deadline
        self.run_deadline = run_deadline
        self.max_page_bytes = max_page_bytes
        self.run_ends = clock() + run_deadline
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
                return self._with_base_secrets(self._same_feed(str(self.base), next_url))
            except FeedError:
                log.warning(
                    "feed %s: stored cursor is on another server; starting over",
                    feed_label(self.base),
                )
        return str(self.base.copy_merge_params({"since": since})) if since else str(self.base)

    def _with_base_secrets(self, url: str) -> str:
        """A stored link with the secret-named query values of the configured feed URL added
        back (stored cursors never keep them); the link's own parameters keep their bytes."""
        target = httpx.URL(url)
        missing = [
            (name, value)
            for name, value in self.base.params.multi_items()
            if secret_param(name) and name not in target.params
        ]
        if not missing:
            return url
        extra = str(httpx.QueryParams(missing)).encode()
        query = target.query + b"&" + extra if target.query else extra
        return str(target.copy_with(query=query))

    def fetch(self, url: str) -> Page:
        """One page, retried on 429/5xx, timeouts, broken or malformed answers, else FeedError.

        An over-size page (PageTooLarge) is not retried, and neither is anything once the
        run's deadline has passed (DeadlineExceeded)."""
        label = feed_label(url)
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            self._check_deadline(label)
            try:
                status, retry_after, body = self._get(url)
            except _RequestTooSlow:
                self._check_deadline(label)
                problem = f"no complete answer within the {self.request_deadline:g} s deadline"
            except httpx.TransportError as exc:
                self._check_deadline(label)
                problem = f"{type(exc).__name__} (no answer)"
            else:
                if status == 200:
                    try:
                        return self._page(url, body)
                    except MalformedPage as exc:
                        if last:
                            raise
                        self._wait(self._backoff(attempt), label, str(exc))
                        continue
                if status not in RETRY_STATUS:
                    raise FeedError(_refusal(label, status))
                problem = f"HTTP {status}"
                if last:
                    raise FeedError(f"feed {label}: {problem} after {attempt} attempts")
                asked = retry_after_seconds(retry_after)
                self._wait(asked if asked is not None else self._backoff(attempt), label, problem)
                continue
            if last:
                raise FeedError(f"feed {label}: {problem} after {attempt} attempts")
            self._wait(self._backoff(attempt), label, problem)
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, url: str) -> tuple[int, str | None, bytearray | None]:
        """Status, Retry-After and (for a 200) the body, read as a stream against the cap and
        the request's deadline. Each wait for bytes is limited to the time left."""
        now = self._clock()
        ends = min(now + self.request_deadline, self.run_ends)
        wait = max(0.001, min(self.timeout, ends - now))
        with self._client.stream("GET", url, timeout=httpx.Timeout(wait)) as response:
            if response.status_code != 200:
                return response.status_code, response.headers.get("Retry-After"), None
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_page_bytes:
                raise self._too_large(url, bytearray())
            body = bytearray()
            encoding = response.headers.get("Content-Encoding", "identity")
            if response.is_stream_consumed:  # a transport that hands over whole bodies (tests)
                chunks = response.iter_bytes()
            else:
                chunks = _decoded(response.iter_raw(), encoding)
            for chunk in chunks:
                if len(body) + len(chunk) > self.max_page_bytes:
                    body += chunk[: self.max_page_bytes - len(body)]
                    raise self._too_large(url, body)
                body += chunk
                if self._clock() > ends:
                    raise _RequestTooSlow
            return 200, None, body

    def _too_large(self, url: str, body: bytearray) -> PageTooLarge:
        return PageTooLarge(
            f"page larger than {self.max_page_bytes:,} bytes (reading stopped there)",
            bytes(body[:40_000]).decode("utf-8", errors="replace"),
        )

    def time_left(self) -> float:
        """Seconds until the run's deadline (negative once it has passed)."""
        return self.run_ends - self._clock()

    def _check_deadline(self, label: str) -> None:
        if self._clock() >= self.run_ends:
            raise DeadlineExceeded(
                f"feed {label}: the pull's deadline of {self.run_deadline:g} s passed; "
                "the next pull resumes from here"
            )

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * 2 ** (attempt - 1))

    def _wait(self, seconds: float, label: str, problem: str) -> None:
        if seconds > self.max_wait:
            raise FeedError(
                f"feed {label}: {problem} and asked to wait {seconds:.0f} s, more than the "
                f"{self.max_wait:.0f} s limit; the next pull resumes from here"
            )
        if self._clock() + seconds >= self.run_ends:
            raise DeadlineExceeded(
                f"feed {label}: {problem}; waiting {seconds:.0f} s more would pass the pull's "
                f"deadline of {self.run_deadline:g} s; the next pull resumes from here"
            )
        log.warning("feed %s: %s; retrying in %.1f s", label, problem, seconds)
        self.waited.append(seconds)
        self._sleep(seconds)

    def _page(self, url: str, body: bytearray) -> Page:
        tickets, next_link, since = parse_page(body)
        return Page(
            url=url,
            items=tickets,
            next_url=self._same_feed(url, next_link) if next_link else None,
            since=since,
            sha256=hashlib.sha256(body).hexdigest(),
        )

    def _same_feed(self, current: str, link: str) -> str:
        try:
            target = httpx.URL(current).join(link)
        except httpx.InvalidURL:
            raise FeedError(f"feed {feed_label(self.base)}: the next link is not a URL") from None
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


def _decoded(raw: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """The body decoded at most DECODED_PIECE bytes at a time, so a compression bomb (2 MB of
    gzip that inflates to 2 GB) never inflates more than one piece past the page cap."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        yield from raw
        return
    if encoding not in (*ENCODINGS, "x-gzip"):
        raise MalformedPage(f"page has a Content-Encoding not asked for ({encoding[:20]!r})", "")
    # 47 = 32 + 15: a zlib or a gzip header, read from the data.
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else 47
    decoder = zlib.decompressobj(wbits)
    try:
        for chunk in raw:
            data = chunk
            while data:
                yield decoder.decompress(data, DECODED_PIECE)
                data = decoder.unconsumed_tail
                if decoder.eof and decoder.unused_data:  # gzip members may follow each other
                    data, decoder = decoder.unused_data, zlib.decompressobj(wbits)
        while tail := decoder.decompress(b"", DECODED_PIECE):
            yield tail
    except zlib.error:
        raise MalformedPage(f"page body is not valid {encoding} data", "") from None


class _RequestTooSlow(Exception):
    """The request's own deadline passed while its body was still arriving."""


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
