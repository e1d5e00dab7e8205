"""Reporting periods: a quarter (`2026Q3`), a month (`2026-07`), a year (`2026`) or [from, to).

All periods are half-open intervals in UTC. A ticket belongs to a period when its clock
start lies in [from, to) (and not after as_of, see monitor.statistics.ticket_frame). The previous
period is the calendar period before (quarter, month, year), or for an explicit
[from, to) the interval of the same length just before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import as_utc, iso, parse_user_time

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) with a label; `kind` is quarter, month, year or range."""

    label: str
    start: datetime
    end: datetime
    kind: str = "range"

    def to_json(self) -> dict:
        """The contract's `period` object."""
        return {"label": self.label, "from": iso(self.start), "to": iso(self.end)}

    def previous(self) -> Period:
        """The period before this one (calendar period, or same length just before)."""
        if self.kind == "quarter":
            start = _month_start(self.start.year, self.start.month - 3)
            return quarter(start.year, (start.month - 1) // 3 + 1)
        if self.kind == "month":
            start = _month_start(self.start.year, self.start.month - 1)
            return month(start.year, start.month)
        if self.kind == "year":
            return year(self.start.year - 1)
        length = self.end - self.start
        return between(self.start - length, self.start)

    def progress(self, as_of: datetime) -> dict:
        """How much of the period lies before `as_of`: `complete`, `days_elapsed` (float),
        `days` (its length). A period not over at `as_of` is labelled "to date" everywhere,
        and its counts are compared with a full period per day, never as they are."""
        as_of = as_utc(as_of)
        days = (self.end - self.start).total_seconds() / 86400
        elapsed = (min(max(as_of, self.start), self.end) - self.start).total_seconds() / 86400
        return {"complete": as_of >= self.end, "days_elapsed": elapsed, "days": days}

    def contains(self, moment: datetime) -> bool:
        """True when `moment` lies in [start, end)."""
        return self.start <= as_utc(moment) < self.end


def quarter(year_: int, number: int) -> Period:
    """Quarter `number` (1-4) of `year_`."""
    start = _month_start(year_, 3 * (number - 1) + 1)
    return Period(f"{year_}Q{number}", start, _month_start(year_, 3 * number + 1), "quarter")


def month(year_: int, number: int) -> Period:
    """Calendar month `number` of `year_`."""
    start = _month_start(year_, number)
    return Period(f"{year_}-{number:02d}", start, _month_start(year_, number + 1), "month")


def year(number: int) -> Period:
    """Calendar year `number`."""
    return Period(
        str(number),
        datetime(number, 1, 1, tzinfo=UTC),
        datetime(number + 1, 1, 1, tzinfo=UTC),
        "year",
    )


def _date_or_time(value: datetime) -> str:
    value = as_utc(value)
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return iso(value)


def between(start: datetime, end: datetime, label: str | None = None) -> Period:
    """The interval [start, end); labelled `FROM/TO` (ISO 8601 interval) unless given."""
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ConfigurationError(f"the period ends ({iso(end)}) before it starts ({iso(start)})")
    return Period(label or f"{_date_or_time(start)}/{_date_or_time(end)}", start, end, "range")


def parse_period(text: str) -> Period:
    """`2026Q3` (or `2026-Q3`), `2026-07` or `2026`; anything else is a ConfigurationError."""
    value = text.strip()
    if match := _QUARTER.match(value):
        return quarter(int(match[1]), int(match[2]))
    if match := _MONTH.match(value):
        if not 1 <= int(match[2]) <= 12:
            raise ConfigurationError(f"no month {match[2]} in period {text!r}")
        return month(int(match[1]), int(match[2]))
    if match := _YEAR.match(value):
        return year(int(match[1]))
    raise ConfigurationError(f"cannot read period {text!r} (use 2026Q3, 2026-07 or 2026)")


def period_from_options(period: str | None, start: str | None, end: str | None) -> Period:
    """The period of `--period`, or of `--from` and `--to` (exactly one of the two forms)."""
    if period and (start or end):
        raise ConfigurationError("give either --period or --from/--to, not both")
    if period:
        return parse_period(period)
    if start and end:
        return between(parse_user_time(start), parse_user_time(end))
    raise ConfigurationError("give --period (e.g. 2026Q3) or both --from and --to")


def label_for(start: datetime, end: datetime) -> Period:
    """The calendar period matching [start, end) exactly if there is one, else a range."""
    start, end = as_utc(start), as_utc(end)
    candidates = [
        year(start.year),
        quarter(start.year, (start.month - 1) // 3 + 1),
        month(start.year, start.month),
    ]
    for candidate in candidates:
        if candidate.start == start and candidate.end == end:
            return candidate
    return between(start, end)
