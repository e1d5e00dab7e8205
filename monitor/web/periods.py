"""The period picker: quarter, month, quarter to date, or a custom [from, to).

The picker's choice arrives as query parameters (`period=2026Q3`, `period=2026-07`,
`period=qtd`, or `period=custom&from=2026-07-01&to=2026-08-15`) and becomes a
`monitor.statistics.periods.Period`; anything unreadable falls back to the quarter to date with a
message, so a hand-edited address never breaks a page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import as_utc
from monitor.statistics.periods import Period, between, month, parse_period, quarter

QUARTERS_OFFERED = 8
MONTHS_OFFERED = 12


@dataclass(frozen=True)
class Choice:
    """What the picker selected, the period it means, and a message when it was not readable."""

    value: str
    period: Period
    start_text: str = ""
    end_text: str = ""
    problem: str | None = None
    as_of_text: str = ""

    def query(self) -> str:
        """The query string that selects this choice again (for links between pages)."""
        from urllib.parse import urlencode

        params = {"period": self.value}
        if self.value == "custom":
            params.update({"from": self.start_text, "to": self.end_text})
        if self.as_of_text:
            params["as_of"] = self.as_of_text
        return urlencode(params)


def current_quarter(now: datetime) -> Period:
    """The calendar quarter holding `now`."""
    now = as_utc(now)
    return quarter(now.year, (now.month - 1) // 3 + 1)


def choose(params, now: datetime) -> Choice:
    """The Choice of the request's query parameters (default: the quarter to date).

    `now` is the page's as-of moment: "quarter to date" is the quarter holding it.
    """
    choice = _choose(params, now)
    as_of_text = (params.get("as_of") or "").strip()[:40]
    return replace(choice, as_of_text=as_of_text) if as_of_text else choice


def _choose(params, now: datetime) -> Choice:
    value = (params.get("period") or "qtd").strip()[:32]
    start_text = (params.get("from") or "").strip()[:10]
    end_text = (params.get("to") or "").strip()[:10]
    try:
        if value == "qtd":
            return Choice("qtd", current_quarter(now))
        if value == "custom":
            start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
            period = between(_midnight(start), _midnight(end))
            return Choice("custom", period, start.isoformat(), end.isoformat())
        period = parse_period(value)
        if period.kind not in ("quarter", "month"):
            raise ConfigurationError("pick a quarter, a month, the quarter to date or custom dates")
        return Choice(period.label, period)
    except (ValueError, ConfigurationError) as exc:
        problem = str(exc) if isinstance(exc, ConfigurationError) else "unreadable dates"
        return Choice("qtd", current_quarter(now), problem=problem)


def _midnight(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def options(now: datetime) -> dict[str, list[tuple[str, str]]]:
    """The picker's choices: recent quarters and months, newest first, as (value, label)."""
    now = as_utc(now)
    index = now.year * 4 + (now.month - 1) // 3
    quarters = []
    for back in range(QUARTERS_OFFERED):
        year, number = divmod(index - back, 4)
        label = quarter(year, number + 1).label
        quarters.append((label, label))
    months = []
    position = now.year * 12 + now.month - 1
    for back in range(MONTHS_OFFERED):
        year, number = divmod(position - back, 12)
        label = month(year, number + 1).label
        months.append((label, label))
    return {"quarters": quarters, "months": months}
