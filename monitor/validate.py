"""Row rules of the ingest contract (INTERFACE.md section 1).

`validate_row` turns one raw input row into a ticket record or a reason a person
understands. Nothing here touches the database; the ingest decides what to do
with the answer. Raw URLs are never kept: `redact_row` is what quarantine stores.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import cached_property

from monitor.redaction import REDACTED_URL as REDACTED
from monitor.redaction import URL_IN_TEXT, redact_text, storable
from monitor.timeutil import TimestampError, parse_timestamp, utcnow

INPUT_COLUMNS = (
    "ticket_id",
    "url_hash",
    "reported_at",
    "notified_at",
    "removed_at",
    "checked_at",
    "ip",
    "hostname",
    "provider",
    "country",
)
REQUIRED_COLUMNS = ("ticket_id", "url_hash", "reported_at")
TIME_COLUMNS = ("reported_at", "notified_at", "removed_at", "checked_at")
URL_COLUMN = "url"

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_URL_LIKE = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.\-]*://|www\.|[a-z0-9\-]+(?:\.[a-z0-9\-]+)+/)")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HOSTNAME_BAD = re.compile(r"[/\s@?#]|://")


@dataclass(frozen=True)
class RowRules:
    """How to read one file's rows: naive-time zone, URL hashing, the clock."""

    naive_zone: tzinfo | None = None
    hash_urls: bool = False
    now: datetime = field(default_factory=utcnow)
    future_tolerance: timedelta = timedelta(minutes=5)

    @cached_property
    def latest(self) -> datetime:
        """The latest acceptable timestamp."""
        return self.now + self.future_tolerance


class RowRejected(ValueError):
    """A row broke a rule; the message is the quarantine reason."""


def looks_like_url(value: str) -> bool:
    """True for text that reads as a URL (scheme, `www.`, or domain followed by a path)."""
    if "://" in value:
        return True
    if "/" not in value and value[:4].lower() != "www.":
        return False
    return bool(_URL_LIKE.match(value))


def hash_url(url: str) -> str:
    """SHA-256 of the URL exactly as given (surrounding whitespace removed)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def _text(row: Mapping[str, object], column: str) -> str:
    value = row.get(column)
    if value.__class__ is str:
        text = value.strip()
    elif value is None:
        return ""
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowRejected(f"{column}: expected text, got {type(value).__name__}")
    else:
        text = str(value).strip()
    if not text.isprintable():  # cheap gate: the checks below only run on odd text
        if _CONTROL.search(text):
            raise RowRejected(f"{column}: contains control characters")
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            # Undecodable bytes arrive as lone surrogates (errors="surrogateescape").
            raise RowRejected(f"{column}: not valid UTF-8")
    return text


def _timestamp(text: str, column: str, rules: RowRules) -> datetime | None:
    if not text:
        return None
    try:
        value = parse_timestamp(text, rules.naive_zone)
    except TimestampError as exc:
        raise RowRejected(f"{column}: {exc}") from None
    if value > rules.latest:
        raise RowRejected(f"{column}: timestamp in the future ({text[:40]})")
    return value


def _url_hash(given: str, row: Mapping[str, object], rules: RowRules) -> str:
    if rules.hash_urls and URL_COLUMN in row:
        url = _text(row, URL_COLUMN)
        if url:
            hashed = hash_url(url)
            if given and given.lower() != hashed:
                raise RowRejected("url_hash does not match the SHA-256 of url")
            return hashed
    if not given:
        raise RowRejected("missing required field: url_hash")
    if len(given) == 64 and _HEX64.match(given):
        return given.lower()
    if looks_like_url(given) or "." in given and not given.replace(".", "").isdigit():
        raise RowRejected("url_hash: raw URL: refusing to store")
    raise RowRejected(f"url_hash: not 64 hex characters (got {len(given)} characters)")


def _ip(text: str) -> str | None:
    if not text:
        return None
    # inet_pton/inet_ntop validate and give the canonical form (RFC 5952 for IPv6) far
    # faster than ipaddress; they accept exactly dotted-quad IPv4 and standard IPv6 text.
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, text.strip("[]")))
    except (OSError, ValueError):
        raise RowRejected(f"ip: invalid IP address {text[:45]!r}") from None


def _hostname(text: str) -> str | None:
    if not text:
        return None
    if _HOSTNAME_BAD.search(text) or looks_like_url(text):
        raise RowRejected(
            "hostname: host part only, no scheme, path or credentials (raw URL: refusing to store)"
        )
    host = text.lower().rstrip(".")
    if len(host) > 253:
        raise RowRejected("hostname: longer than 253 characters")
    return host


def validate_row(row: Mapping[str, object], rules: RowRules) -> dict:
    """Check one input row against the contract; return the ticket record.

    Raises RowRejected with the quarantine reason when a rule is broken.
    """
    text = {column: _text(row, column) for column in INPUT_COLUMNS}
    for column in REQUIRED_COLUMNS:
        if not text[column] and not (
            column == "url_hash" and rules.hash_urls and _text(row, URL_COLUMN)
        ):
            raise RowRejected(f"missing required field: {column}")
    ticket_id = text["ticket_id"]
    if len(ticket_id) > 128:
        raise RowRejected("ticket_id: longer than 128 characters")
    if looks_like_url(ticket_id):
        raise RowRejected("ticket_id: raw URL: refusing to store")
    record = {"ticket_id": ticket_id, "url_hash": _url_hash(text["url_hash"], row, rules)}
    for column in TIME_COLUMNS:
        record[column] = _timestamp(text[column], column, rules)
    if record["removed_at"] is not None and record["removed_at"] < record["reported_at"]:
        raise RowRejected("removed_at earlier than reported_at")
    record["ip"] = _ip(text["ip"])
    record["hostname"] = _hostname(text["hostname"])
    provider = text["provider"]
    if "  " in provider or not provider.isprintable():
        provider = " ".join(provider.split())
    if looks_like_url(provider):
        raise RowRejected("provider: raw URL: refusing to store")
    record["stated_provider"] = provider[:255] or None
    country = text["country"]
    if country and not _COUNTRY.match(country):
        raise RowRejected(f"country: not an ISO 3166-1 alpha-2 code ({country[:8]!r})")
    record["stated_country"] = country.upper() or None
    return record


def removed_before_notice(record: Mapping[str, object]) -> bool:
    """Content gone before the notice was sent (valid, but counted apart)."""
    removed, notified = record.get("removed_at"), record.get("notified_at")
    return removed is not None and notified is not None and removed < notified


def redact_row(row: Mapping[str, object]) -> str:
    """The raw row as JSON for quarantine: URL-shaped values replaced whole, URLs and
    credentials inside other text cut out (`redact_text`)."""
    clean: dict[str, object] = {}
    for key, value in row.items():
        key_text = redact_text(str(key))
        if isinstance(value, str):
            value = storable(value)
        if key == URL_COLUMN and value not in (None, ""):
            clean[key_text] = REDACTED
        elif isinstance(value, str) and (looks_like_url(value) or URL_IN_TEXT.search(value)):
            clean[key_text] = REDACTED
        elif isinstance(value, str):
            clean[key_text] = redact_text(value)
        elif isinstance(value, int | float | bool) or value is None:
            clean[key_text] = value
        else:
            clean[key_text] = redact_text(json.dumps(value, ensure_ascii=False, default=str))
    return json.dumps(clean, ensure_ascii=False, default=str)
