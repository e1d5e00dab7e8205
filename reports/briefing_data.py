"""The briefing's figures beyond the scorecard: hosting outside the EU/INHOPE over time,
and Kaplan-Meier curves of the largest providers.

Both come from the same tickets as the snapshot: `monitor.statistics.ticket_frame.load_frame` with
the snapshot's as_of and known_at, and the curves from `monitor.statistics.survival` (the monitor's
one Kaplan-Meier implementation), so a curve at 24 hours is the scorecard's
`within_24h` exactly. Jurisdiction follows the drift check: a notice is outside when its
hosting country is neither in the EU nor has an INHOPE hotline on the report date,
unknown when either is unknown, and (by default, `[drift] cdn_as_unknown`) unknown when a
CDN fronts it, since the CDN's edge says nothing about where the content lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, parse_timestamp
from monitor.drift.frame import INSIDE, OUTSIDE, UNKNOWN, zones
from monitor.statistics import survival
from monitor.statistics.periods import Period, quarter
from monitor.statistics.ticket_frame import TicketFrame, load_frame
from reports.charts import Curve, MonthShare
from reports.scorecard_view import category
from reports.trend_data import quarters_up_to

MONTHS_SHOWN = 12
LARGEST_PROVIDERS = 5
TREND_QUARTERS = 4


@dataclass(frozen=True)
class Share:
    """Notices outside the EU and INHOPE among those of known jurisdiction."""

    outside: int
    known: int
    unknown: int
    # Outside notices per confidence of the INHOPE row that made them "no" (confirmed,
    # likely, uncertain): how much of the share rests on rows still to be checked.
    by_confidence: dict[str, int] | None = None

    @property
    def value(self) -> float | None:
        return self.outside / self.known if self.known else None


@dataclass(frozen=True)
class BriefingFigures:
    """What the briefing adds to its snapshot."""

    months: list[MonthShare]
    outside_now: Share
    outside_before: Share | None
    curves: list[Curve]
    # The last TREND_QUARTERS quarters (reports.trend_data.quarterly_trend); None: not computed.
    trend: dict | None = None
    # The period's re-appearance figures (compute_reappearance), `all` and per provider.
    reappearance: dict | None = None


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    return datetime(year, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _share(zone: np.ndarray) -> Share:
    return Share(
        int((zone == OUTSIDE).sum()), int((zone != UNKNOWN).sum()), int((zone == UNKNOWN).sum())
    )


def monthly_shares(
    frame: TicketFrame, zone: np.ndarray, first: datetime, end: datetime
) -> list[MonthShare]:
    """Counts per calendar month of clock start, from `first` (a month start) to `end`."""
    result = []
    month = first
    outside_eu = (frame.eu == 0) & (zone != UNKNOWN)
    while month < end:
        following = _month_start(month.year, month.month + 1)
        member = frame.clock_within(month, min(following, end))
        result.append(
            MonthShare(
                month=month.date(),
                notices=int(member.sum()),
                inside=int((member & (zone == INSIDE)).sum()),
                outside=int((member & (zone == OUTSIDE)).sum()),
                outside_eu=int((member & outside_eu).sum()),
                unknown=int((member & (zone == UNKNOWN)).sum()),
            )
        )
        month = following
    return result


def largest_curves(
    frame: TicketFrame, start: datetime, end: datetime, names: list[str]
) -> list[Curve]:
    """Kaplan-Meier curves of the providers `names` and of all notices in [start, end)."""
    member = frame.clock_within(start, end) & frame.in_curve
    labels = [str(label) for label in frame.provider.labels]
    code_of = {label: index for index, label in enumerate(labels)}
    group_of_code = np.full(len(labels) + 1, -1, dtype=np.int64)
    for position, name in enumerate(names):
        if name in code_of:
            group_of_code[code_of[name]] = position
    groups = group_of_code[frame.provider.codes[member]] if len(frame) else np.zeros(0, np.int64)
    durations, events = frame.duration_hours[member], frame.event[member]
    chosen = groups >= 0
    curves = survival.kaplan_meier(durations[chosen], events[chosen], groups[chosen], len(names))
    overall = survival.kaplan_meier(durations, events)
    result = [_curve(curves, index, name) for index, name in enumerate(names)]
    result.append(_curve(overall, 0, "", total=True))
    return [curve for curve in result if curve.notices]


def _curve(curves: survival.Curves, group: int, name: str, *, total: bool = False) -> Curve:
    steps = slice(curves.bounds[group], curves.bounds[group + 1])
    follow_up = float(curves.last_time[group]) if curves.subjects[group] else 0.0
    return Curve(
        name=name,
        notices=int(curves.subjects[group]),
        times=curves.time[steps].copy(),
        survival=curves.survival[steps].copy(),
        follow_up=follow_up,
        total=total,
    )


def briefing_figures(
    engine: Engine,
    snapshot: dict,
    *,
    months: int = MONTHS_SHOWN,
    largest: int = LARGEST_PROVIDERS,
    trend: bool = True,
    reappearance: bool = True,
) -> BriefingFigures:
    """The briefing's own figures for the snapshot's period, as of the snapshot's as_of.

    `trend`: also the last TREND_QUARTERS quarters up to the one holding the period's start
    (stored snapshots where they exist); `reappearance`: also the period's re-appearances.
    """
    from monitor.drift.config import load_drift_config

    start = parse_timestamp(snapshot["period"]["from"])
    end = parse_timestamp(snapshot["period"]["to"])
    as_of = parse_timestamp(snapshot["as_of"])
    known_at = parse_timestamp(snapshot["known_at"]) if snapshot.get("known_at") else None
    previous = snapshot.get("previous_period")
    first_month = (
        _month_start(end.year, end.month - months)
        if end.day == 1
        else _month_start(end.year, end.month - months + 1)
    )
    first_month = min(first_month, _month_start(start.year, start.month))
    load_from = first_month
    if previous:
        load_from = min(load_from, parse_timestamp(previous["from"]))
    trend_span = None
    if trend and known_at is None:  # the trend is as of as_of only: it can share the read
        quarters = quarters_up_to(trend_quarter(snapshot), TREND_QUARTERS)
        trend_span = (quarters[0].start, quarters[-1].end)
    read_from = min(load_from, trend_span[0]) if trend_span else load_from
    read_to = max(end, trend_span[1]) if trend_span else end
    read = load_frame(
        engine, as_of=as_of, known_at=known_at, start=read_from, end=read_to, columns=()
    )

    def part(a: datetime, b: datetime) -> TicketFrame:
        if (a, b) == (read_from, read_to):
            return read
        return read.select(read.clock_within(a, b))

    frame = part(load_from, end)
    trend_frame = part(*trend_span) if trend_span else None
    # The same zones drift judges by: unknown never counts as outside; CDN-fronted is unknown.
    cdn = frame.cdn if load_drift_config().cdn_as_unknown else None
    zone = zones(frame.eu, frame.inhope, cdn)

    outside_before = None
    if previous:
        outside_before = _share(
            zone[
                frame.clock_within(
                    parse_timestamp(previous["from"]), parse_timestamp(previous["to"])
                )
            ]
        )
    ranked = [
        row
        for row in snapshot["rows"]
        if not row.get("low_volume") and category(snapshot, row) == "provider"
    ]
    ranked.sort(key=lambda row: (-row["notices"], str(row["name"])))
    names = [str(row["name"]) for row in ranked[:largest]] if snapshot["by"] == "provider" else []
    now = frame.clock_within(start, end)
    outside_now = _share(zone[now])
    outside_now = Share(
        outside_now.outside,
        outside_now.known,
        outside_now.unknown,
        outside_confidence(engine, frame, now & (zone == OUTSIDE), min(end, as_of)),
    )
    return BriefingFigures(
        months=monthly_shares(frame, zone, first_month, min(end, _month_after(as_of))),
        outside_now=outside_now,
        outside_before=outside_before,
        curves=largest_curves(frame, start, end, names),
        trend=briefing_trend(engine, snapshot, frame=trend_frame) if trend else None,
        reappearance=briefing_reappearance(engine, snapshot) if reappearance else None,
    )


def trend_quarter(snapshot: dict) -> Period:
    """The calendar quarter holding the start of the snapshot's period (the trend's last)."""
    start = parse_timestamp(snapshot["period"]["from"])
    return quarter(start.year, (start.month - 1) // 3 + 1)


def briefing_trend(
    engine: Engine,
    snapshot: dict,
    count: int = TREND_QUARTERS,
    *,
    frame: TicketFrame | None = None,
) -> dict:
    """The last `count` quarters up to the snapshot's, as of the snapshot's as_of, with the
    snapshot's norms (`reports.trend_data.quarterly_trend`; stored snapshots where they
    exist). `frame`: those quarters' tickets as of as_of, when already read."""
    from monitor.statistics.norms import Norm, StatisticsConfig
    from reports.trend_data import quarterly_trend

    norms = tuple(Norm(n["key"], float(n["hours"]), n["label"]) for n in snapshot["norms"])
    config = StatisticsConfig(norms=norms, min_notices=snapshot.get("min_notices", 10))
    return quarterly_trend(
        engine,
        last=trend_quarter(snapshot),
        as_of=parse_timestamp(snapshot["as_of"]),
        count=count,
        config=config,
        frame=frame,
    )


def briefing_reappearance(engine: Engine, snapshot: dict) -> dict:
    """Re-appearance of all notices of the snapshot's period (`{"all": figures}`), as of (and
    known at) the snapshot's: the provider snapshot's own totals (the figures it published),
    else computed by `compute_reappearance`."""
    from monitor.statistics.fair_columns import reappearance_of_row
    from monitor.statistics.reappearance import compute_reappearance

    if snapshot["by"] == "provider":
        published = reappearance_of_row(snapshot["totals"])
        if published is not None:
            return {"all": published}
    period = Period(
        snapshot["period"]["label"],
        parse_timestamp(snapshot["period"]["from"]),
        parse_timestamp(snapshot["period"]["to"]),
    )
    known_at = snapshot.get("known_at")
    computed = compute_reappearance(
        engine,
        period=period,
        as_of=parse_timestamp(snapshot["as_of"]),
        known_at=parse_timestamp(known_at) if known_at else None,
    )
    return {"all": computed["all"]}


def outside_confidence(
    engine: Engine, frame: TicketFrame, outside: np.ndarray, on: datetime
) -> dict[str, int]:
    """Outside notices per confidence of their country's INHOPE "no" (as corrected in the
    database) on the day before `on`: confirmed, likely or uncertain."""
    from providers.jurisdictions import Jurisdictions

    tables = Jurisdictions.load(engine)
    counts = np.bincount(frame.country.codes[outside], minlength=len(frame.country.labels))
    day = (as_utc(on) - timedelta(microseconds=1)).date()
    result = {"confirmed": 0, "likely": 0, "uncertain": 0}
    for code in np.flatnonzero(counts):
        confidence = tables.membership(frame.country.labels[code], day).inhope_confidence
        key = confidence if confidence in result else "uncertain"
        result[key] += int(counts[code])
    return result


def _month_after(moment: datetime) -> datetime:
    moment = as_utc(moment)
    return _month_start(moment.year, moment.month + 1)


def month_bounds(period: dict) -> tuple[date, date]:
    """First day of the period and first day after it, as dates (for the chart's shading)."""
    return parse_timestamp(period["from"]).date(), parse_timestamp(period["to"]).date()
