"""The drift flags of a reporting period, for the scorecard's column and the briefing.

The drift check judges a 30-day window ending at its as-of time (`[drift] recent_days`),
so one run at the end of a quarter would miss a drift that ended in its first month. The
period's flags are therefore those of a run at the end of each month of the period (the
last one at the period's end, or at the as-of time when that comes first). Runs are
stored like any other (`run_drift`), so each flag carries its stable id and its status
(an analyst may have acknowledged it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from monitor.drift_flags import KINDS
from monitor.timeutil import as_utc


def checkpoints(start: datetime, end: datetime) -> list[datetime]:
    """The first day of each month after `start` up to `end`, and `end` itself."""
    start, end = as_utc(start), as_utc(end)
    points = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        point = datetime(year, month, 1, tzinfo=UTC)
        if point >= end:
            break
        points.append(point)
    return [*points, end]


def period_flags(
    engine: Engine, *, period_from: datetime, period_to: datetime, as_of: datetime
) -> list[dict]:
    """Every drift flag raised at a month end of [period_from, min(period_to, as_of)].

    A flag raised at several checkpoints appears once, with its latest figures.
    """
    from monitor.drift import run_drift

    end = min(as_utc(period_to), as_utc(as_of))
    if end <= as_utc(period_from):
        return []
    found: dict[str, dict] = {}
    for point in checkpoints(period_from, end):
        for flag in run_drift(engine, as_of=point)["flags"]:
            found[flag["id"]] = flag
    return sorted(
        found.values(),
        key=lambda flag: (
            KINDS.index(flag["kind"]) if flag["kind"] in KINDS else len(KINDS),
            str(flag["subject"]),
            flag["id"],
        ),
    )
