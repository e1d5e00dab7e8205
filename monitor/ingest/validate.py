"""Row rules of the ingest contract (INTERFACE.md section 1).

`validate_row` turns one raw input row into a ticket record or a reason a person
understands. Nothing here touches the database; the ingest decides what to do
with the answer. Raw URLs are never kept: `redact_row` is what quarantine stores.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import cached_property

from monitor.core.redaction import REDACTED_URL as REDACTED
from monitor.core.redaction import (
    URL_IN_TEXT,
    URL_START,
    looks_like_url,
    redact_text,
    storable,
    url_or_credential,
)
from monitor.core.timeutil import TimestampError, parse_timestamp, utcnow
from monitor.ingest.bounds import (
    EARLIEST_TIMESTAMP,
    FUTURE_TOLERANCE,
    MAX_FIELD_CHARS,
    MAX_PROVIDER_CHARS,
    MAX_TICKET_ID_CHARS,
    MAX_TIMESTAMP_CHARS,
)
from monitor.ingest.hostnames import HostnameRefused, normalise_hostname

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

__all__ = ["INPUT_COLUMNS", "RowRejected", "RowRules", "looks_like_url", "validate_row"]

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
# C0 and C1 controls (escape sequences) and bidi overrides/isolates; tab and newline are
# whitespace (collapsed where it matters).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MISSING_MARKERS = frozenset(("nan", "null", "none", "#n/a", "n/a"))


@dataclass(frozen=True)
class RowRules:
    """How to read one file's rows: naive-time zone, URL hashing, the clock."""

    naive_zone: tzinfo | None = None
    hash_urls: bool = False
    now: datetime = field(default_factory=utcnow)
    future_tolerance: timedelta = FUTURE_TOLERANCE
    earliest: datetime = EARLIEST_TIMESTAMP

    @cached_property
    def latest(self) -> datetime:
        """The latest acceptable timestamp."""
        return self.now + self.future_tolerance


class RowRejected(ValueError):
    """A row broke a rule; the message is the quarantine reason."""


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
    elif isinstance(value, float) and not math.isfinite(value):
        raise RowRejected(f"{column}: expected text or a number, got NaN or infinity")
    else:
        text = str(value).strip()
    if not text.isprintable():  # cheap gate: the checks below only run on odd text
        if _CONTROL.search(text):
            raise RowRejected(f"{column}: contains control characters")
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            # Undecodable bytes arrive as lone surrogates (errors="surrogateescape").
            raise RowRejected(f"{column}: not valid UTF-8")
        if _SURROGATE.search(text):
            raise RowRejected(f"{column}: not valid Unicode (a lone surrogate)")
    return text


def _timestamp(text: str, column: str, rules: RowRules) -> datetime | None:
    if not text:
        return None
    if len(text) > MAX_TIMESTAMP_CHARS:
        raise RowRejected(f"{column}: longer than {MAX_TIMESTAMP_CHARS} characters")
    try:
        value = parse_timestamp(text, rules.naive_zone)
    except TimestampError as exc:
        raise RowRejected(f"{column}: {exc}") from None
    if value > rules.latest:
        raise RowRejected(f"{column}: timestamp in the future (later than now + 5 minutes)")
    if value < rules.earliest:
        raise RowRejected(f"{column}: before {rules.earliest:%Y-%m-%d} (the earliest accepted)")
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
    if url_or_credential(given) or "." in given and not given.replace(".", "").isdigit():
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
        raise RowRejected("ip: not a valid IPv4 or IPv6 address") from None


def _hostname(text: str) -> str | None:
    if not text:
        return None
    try:
        return normalise_hostname(text)
    except HostnameRefused as exc:
        raise RowRejected(f"hostname: {exc}") from None


def validate_row(row: Mapping[str, object], rules: RowRules) -> dict:
    """Check one input row against the contract; return the ticket record.

    Raises RowRejected with the quarantine reason when a rule is broken.
    """
    text = {column: _text(row, column) for column in INPUT_COLUMNS}
    if sum(map(len, text.values())) > MAX_FIELD_CHARS:  # one cheap test for the usual row
        for column, value in text.items():
            if len(value) > MAX_FIELD_CHARS:
                raise RowRejected(f"{column}: longer than {MAX_FIELD_CHARS:,} characters")
    for column in REQUIRED_COLUMNS:
        if not text[column] and not (
            column == "url_hash" and rules.hash_urls and _text(row, URL_COLUMN)
        ):
            raise RowRejected(f"missing required field: {column}")
    ticket_id = text["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID_CHARS:
        raise RowRejected(f"ticket_id: longer than {MAX_TICKET_ID_CHARS} characters")
    if url_or_credential(ticket_id):
        raise RowRejected("ticket_id: shaped like a URL or credentials: refusing to store")
    if ticket_id.lower() in _MISSING_MARKERS:
        raise RowRejected("ticket_id: a missing-value marker (NaN, null, N/A), not an identifier")
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
    if len(provider) > MAX_PROVIDER_CHARS:
        raise RowRejected(f"provider: longer than {MAX_PROVIDER_CHARS} characters")
    if provider and url_or_credential(provider):
        raise RowRejected("provider: shaped like a URL or credentials: refusing to store")
    record["stated_provider"] = provider or None
    country = text["country"]
    if country and not _COUNTRY.match(country):
        raise RowRejected("country: not an ISO 3166-1 alpha-2 code")
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
        elif isinstance(value, str) and (URL_START.match(value) or URL_IN_TEXT.search(value)):
            clean[key_text] = REDACTED
        elif isinstance(value, str):
            clean[key_text] = redact_text(value)
        elif isinstance(value, int | float | bool) or value is None:
            clean[key_text] = value
        else:
            clean[key_text] = redact_text(json.dumps(value, ensure_ascii=False, default=str))
    return json.dumps(clean, ensure_ascii=False, default=str)
