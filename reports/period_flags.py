"""The drift flags of a reporting period, for the scorecard's column and the briefing.

Read from the stored flags: every flag whose episode overlaps the period (it began before
the period's end, or the as-of time when that comes first, and was still raised at or
after the period's start). A drift episode accumulates over the scheduler's runs (see
`monitor.drift.store`), so a drift that began in the period's first month and is still
open at its end is one flag with its start ("since"), the union of its evidence and its
latest figures.

Only when no stored drift run covers the period at all (the drift check was never run
for it) are runs made at the end of each month of the period (`checkpoints`), and stored
like any other, so the documents never say "no flags" for a period nobody checked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc
from monitor.drift.flags import KINDS


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
    """Every stored drift flag whose episode overlaps [period_from, min(period_to, as_of))."""
    from monitor.drift.store import drift_runs, flags_overlapping

    start, end = as_utc(period_from), min(as_utc(period_to), as_utc(as_of))
    if end <= start:
        return []
    if not drift_runs(engine, start=start, end=end):
        from monitor.drift import run_drift

        for point in checkpoints(start, end):
            run_drift(engine, as_of=point)
    flags = flags_overlapping(engine, start=start, end=end)
    return sorted(
        flags,
        key=lambda flag: (
            KINDS.index(flag["kind"]) if flag["kind"] in KINDS else len(KINDS),
            str(flag["subject"]),
            flag["id"],
        ),
    )
