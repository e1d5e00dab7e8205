"""Durations as people read them in plain text (terminal, CSV-free outputs, flag details).

Up to 72 hours a duration reads in hours (`20.5 h`); beyond, hours alone read badly
("3,730.1 h"), so it reads in days with the hours after it: `57 days (1,371 h)`. The
documents do the same in English and Dutch (`reports.language.Language.hours`).
"""

from __future__ import annotations

DAYS_ABOVE_HOURS = 72.0


def duration_text(hours: float | None, *, missing: str = "-") -> str:
    """`20.5 h`, or `57 days (1,371 h)` above 72 hours; `missing` for None."""
    if hours is None:
        return missing
    if hours > DAYS_ABOVE_HOURS:
        days = int(hours / 24 + 0.5)  # half up
        return f"{days} day{'s' if days != 1 else ''} ({hours:,.0f} h)"
    return f"{hours:.1f} h"
