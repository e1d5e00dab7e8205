"""Trends: the last four to eight quarters side by side, for all notices or one provider.

Per quarter: notices, the median time to removal and the share removed within each norm
(with 95 % intervals, Kaplan-Meier as in the scorecard), and the share of notices hosted
outside the EU and INHOPE among those of known jurisdiction (with a 95 % Wilson interval;
the zones are the drift check's, CDN-fronted notices unknown by default).

Stored snapshots are used where they exist: for a quarter with a stored provider
scorecard (no `known_at`, as of at or before the requested `as_of`; the newest such) the
notices, median and norm shares are the published ones and the quarter names the
snapshot id. Otherwise they are computed as of `as_of`. A quarter not over at `as_of`
is marked `complete: false`.
"""

from __future__ import annotations

import json
from datetime import datetime
from statistics import NormalDist

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, iso
from monitor.drift.frame import OUTSIDE, UNKNOWN, zones
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period, quarter
from monitor.statistics.scorecard import period_totals
from monitor.statistics.snapshots import SNAPSHOT
from monitor.statistics.ticket_frame import TicketFrame, load_frame, to_us

MIN_QUARTERS, MAX_QUARTERS = 4, 8


def quarters_up_to(last: Period, count: int) -> list[Period]:
    """The `count` calendar quarters ending with the one holding `last.start`, oldest first."""
    latest = last.start.year * 4 + (last.start.month - 1) // 3
    result = []
    for back in range(count - 1, -1, -1):
        year, index = divmod(latest - back, 4)
        result.append(quarter(year, index + 1))
    return result


def load_trend_frame(engine: Engine, *, last: Period, as_of: datetime, count: int) -> TicketFrame:
    """The tickets of the `count` quarters up to `last`, as of `as_of`."""
    periods = quarters_up_to(last, min(MAX_QUARTERS, max(MIN_QUARTERS, count)))
    return load_frame(
        engine, as_of=as_utc(as_of), start=periods[0].start, end=periods[-1].end, columns=()
    )


def wilson_interval(successes: int, trials: int, alpha: float = 0.05) -> list[float | None]:
    """Wilson score interval of a binomial share; [None, None] without trials."""
    if trials == 0:
        return [None, None]
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return [max(0.0, float(centre - half)), min(1.0, float(centre + half))]


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _stored(engine: Engine, periods: list[Period], as_of: datetime) -> dict[str, dict]:
    """Quarter label -> the newest stored provider scorecard as of at most `as_of`."""
    labels = [p.label for p in periods]
    query = (
        sa.select(SNAPSHOT.c.period_label, SNAPSHOT.c.figures)
        .where(
            SNAPSHOT.c.period_label.in_(labels),
            SNAPSHOT.c.grouping == "provider",
            SNAPSHOT.c.known_at.is_(None),
            SNAPSHOT.c.as_of <= as_of,
        )
        .order_by(SNAPSHOT.c.as_of, SNAPSHOT.c.created_at)
    )
    with engine.connect() as connection:
        return {label: json.loads(figures) for label, figures in connection.execute(query)}


def _published(snapshot: dict, provider: str | None) -> dict | None:
    if provider is None:
        return snapshot["totals"]
    for row in snapshot["rows"]:
        if row["name"] == provider or row["key"] == provider:
            return row
    return None


def quarterly_trend(
    engine: Engine,
    *,
    last: Period,
    as_of: datetime,
    count: int = MIN_QUARTERS,
    provider: str | None = None,
    config: StatisticsConfig | None = None,
    use_snapshots: bool = True,
    frame: TicketFrame | None = None,
) -> dict:
    """Figures of the `count` (4 to 8) quarters up to `last`, oldest first (see module doc).

    `frame`: tickets already loaded as of `as_of` covering the quarters (`load_trend_frame`),
    so trends of many providers read the store once.
    """
    from monitor.drift.config import load_drift_config

    config = config or StatisticsConfig()
    count = min(MAX_QUARTERS, max(MIN_QUARTERS, count))
    as_of = as_utc(as_of)
    periods = quarters_up_to(last, count)
    if frame is None:
        frame = load_trend_frame(engine, last=last, as_of=as_of, count=count)
    if provider is not None:
        labels = [str(label) for label in frame.provider.labels]
        mine = np.array([label == provider for label in labels] + [False])
        codes = frame.provider.codes if len(frame) else np.zeros(0, np.int64)
        frame = frame.select(mine[codes])
    starts = np.array([to_us(p.start) for p in periods] + [to_us(periods[-1].end)])
    index = np.searchsorted(starts, frame.clock_start, side="right") - 1
    notices = np.bincount(index, minlength=count)
    cdn = frame.cdn if load_drift_config().cdn_as_unknown else None
    zone = zones(frame.eu, frame.inhope, cdn)
    outside = np.bincount(index[zone == OUTSIDE], minlength=count)
    unknown = np.bincount(index[zone == UNKNOWN], minlength=count)
    totals = [period_totals(frame, period, config) for period in periods]
    stored = _stored(engine, periods, as_of) if use_snapshots else {}
    rows = []
    for q, period in enumerate(periods):
        known = int(notices[q] - unknown[q])
        row = {
            **period.to_json(),
            **period.progress(as_of),
            "notices": int(notices[q]),
            "median_hours": totals[q]["median_hours"],
            "median_hours_ci": totals[q]["median_hours_ci"],
            "norms": totals[q]["norms"],
            "low_volume": totals[q]["notices"] < config.min_notices,
            "outside": {
                "outside": int(outside[q]),
                "known": known,
                "unknown": int(unknown[q]),
                "share": float(outside[q] / known) if known else None,
                "ci": wilson_interval(int(outside[q]), known),
            },
            "snapshot_id": None,
        }
        snapshot = stored.get(period.label)
        published = _published(snapshot, provider) if snapshot else None
        if published is not None:
            row["notices"] = published["notices"]
            row["median_hours"] = published["median_hours"]
            row["median_hours_ci"] = published["median_hours_ci"]
            row["norms"] = {
                key: published["norms"].get(key, row["norms"][key]) for key in row["norms"]
            }
            row["low_volume"] = bool(published.get("low_volume", False))
            row["snapshot_id"] = snapshot.get("snapshot_id")
            row["snapshot_as_of"] = snapshot.get("as_of")
        rows.append(row)
    return {
        "provider": provider,
        "as_of": iso(as_of),
        "norms": [norm.to_json() for norm in config.norms],
        "quarters": rows,
    }
