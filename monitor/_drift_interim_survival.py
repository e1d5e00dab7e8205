"""INTERIM, to be deleted: survival figures for drift until `monitor.survival` and
`monitor.ticket_frame.load_frame` land (the project keeps one implementation of each).

Definitions follow ../shared/spec/INTERFACE.md section 3.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.models import Ticket


def km_summary(duration: np.ndarray, event: np.ndarray) -> dict:
    """Kaplan-Meier median and within-24h share of one group."""
    times = np.unique(duration[event])
    at_risk = np.array([(duration >= t).sum() for t in times])
    deaths = np.array([((duration == t) & event).sum() for t in times])
    survival = np.cumprod(1.0 - deaths / at_risk) if times.size else np.array([])
    below = np.flatnonzero(survival <= 0.5)
    s24 = survival[times <= 24.0][-1] if (times <= 24.0).any() else 1.0
    return {
        "tickets": int(duration.size),
        "removed": int(event.sum()),
        "median_hours": float(times[below[0]]) if below.size else None,
        "within_24h": float(1.0 - s24),
        "follow_up_hours": float(duration.max()) if duration.size else 0.0,
    }


def logrank(d0, e0, d1, e1) -> tuple[float, float, float]:
    """Log-rank chi-square (1 df), observed and expected events of group 1."""
    duration = np.concatenate([d0, d1])
    event = np.concatenate([e0, e1]).astype(bool)
    group1 = np.concatenate([np.zeros(d0.size, bool), np.ones(d1.size, bool)])
    observed = expected = variance = 0.0
    for t in np.unique(duration[event]):
        risk = duration >= t
        n, n1 = risk.sum(), (risk & group1).sum()
        d = ((duration == t) & event).sum()
        d1_ = ((duration == t) & event & group1).sum()
        observed += d1_
        expected += d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    statistic = (observed - expected) ** 2 / variance if variance > 0 else 0.0
    return float(statistic), float(observed), float(expected)


def load_removal_frame(engine: Engine, windows):
    """Notices whose clock started in the windows, with durations as of `windows.as_of`."""
    from monitor.drift_slowdown import RemovalFrame

    t = Ticket.__table__.c
    query = sa.select(
        t.provider,
        t.reported_at,
        t.notified_at,
        t.removed_at,
        t.checked_at,
        t.country,
        t.eu,
        t.inhope,
    ).where(t.reported_at <= windows.as_of)
    as_of = windows.as_of
    rows = []
    with engine.connect() as connection:
        for r in connection.execute(query):
            clock = r.notified_at or r.reported_at
            if clock < windows.baseline_from or clock > as_of:
                continue
            if (
                r.removed_at is not None
                and r.notified_at is not None
                and r.removed_at < r.notified_at
            ):
                continue
            if r.removed_at is not None and r.removed_at <= as_of:
                end, event = r.removed_at, True
            elif r.checked_at is not None and r.checked_at <= as_of:
                end, event = r.checked_at, False
            else:
                end, event = as_of, False
            rows.append(
                (
                    r.provider,
                    clock.timestamp(),
                    max(0.0, (end - clock).total_seconds() / 3600),
                    event,
                    r.country,
                    r.eu,
                    r.inhope,
                )
            )
    n = len(rows)

    def col(i, dtype=object):
        array = np.empty(n, dtype=dtype)
        array[:] = [row[i] for row in rows]
        return array

    return RemovalFrame(
        provider=col(0),
        start=col(1, float),
        duration=col(2, float),
        event=col(3, bool),
        country=col(4),
        eu=col(5),
        inhope=col(6),
    )
