"""Timestamps and durations: one UTC convention for the whole monitor.

Every stored time is an aware UTC datetime. Input must carry an offset; a naive
time is only accepted when the caller says which zone it was written in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.errors import ConfigurationError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


class TimestampError(ValueError):
    """A timestamp that cannot be read; the message is shown to a person."""


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def zone(name: str | None) -> tzinfo | None:
    """The zone for --timezone, or None; an unknown name is a configuration error."""
    if not name:
        return None
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Amsterdam)"
        ) from exc


def parse_timestamp(text: str, naive_zone: tzinfo | None = None) -> datetime:
    """Parse ISO 8601 into aware UTC; naive input needs `naive_zone`."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimestampError("unparseable timestamp (expected ISO 8601)") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if naive_zone is None:
            raise TimestampError("timestamp without offset (add Z or +HH:MM, or give --timezone)")
        parsed = parsed.replace(tzinfo=naive_zone)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # 0001-01-01T00:00+01:00, 9999-12-31T23:59-01:00
        raise TimestampError("timestamp out of range") from None


def parse_user_time(text: str) -> datetime:
    """Parse a command-line time (`--as-of`, `--from`): a date means midnight UTC."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    try:
        return parse_timestamp(value, naive_zone=UTC)
    except TimestampError as exc:
        # The user's own text may be quoted back (row reasons never quote their values).
        reason = str(exc).split(" (", 1)[0]
        raise ConfigurationError(f"{reason} {value[:40]!r}") from None


def parse_duration(text: str) -> timedelta:
    """Parse `24h`, `3d`, `90m`, `1w` into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigurationError(f"cannot read duration {text!r} (use e.g. 12h, 3d, 1w)")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit.lower()])


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a `Z`, seconds precision unless sub-second; None stays None."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to a naive datetime read back from SQLite; convert aware ones."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
