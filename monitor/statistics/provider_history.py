"""`monitor provider show NAME`: one provider's quarters side by side.

Per quarter (the last `quarters` up to the one holding `as_of`): notices, median time to
removal with its CI, the share removed within 24 h with its CI, and the trend against the
quarter before: a two-sided log-rank test at the 5 % level says whether removals got
`faster`, `slower` or show `no significant change` (no trend when either quarter is low
volume). Figures are those of the scorecard (monitor.statistics.scorecard), as of `as_of`.
"""

from __future__ import annotations

import difflib
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Engine

from monitor.core.errors import ReportError
from monitor.core.timeutil import as_utc, iso, utcnow
from monitor.statistics import survival
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period, quarter
from monitor.statistics.scorecard import median_ci_estimable
from monitor.statistics.ticket_frame import TicketFrame, load_frame

TREND_ALPHA = 0.05


def _quarters(as_of: datetime, count: int) -> list[Period]:
    """The `count` quarters up to the one holding `as_of`, oldest first."""
    latest = as_of.year * 4 + (as_of.month - 1) // 3
    periods = []
    for back in range(count - 1, -1, -1):
        year, index = divmod(latest - back, 4)
        periods.append(quarter(year, index + 1))
    return periods


def _find_provider(labels, name: str) -> int:
    wanted = name.strip().casefold()
    matches = [i for i, label in enumerate(labels) if str(label).casefold() == wanted]
    if matches:
        return matches[0]
    close = difflib.get_close_matches(name, [str(label) for label in labels], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ReportError(f"no notices for provider {name!r} in the quarters shown{hint}")


def _trend(durations, events, previous: np.ndarray, current: np.ndarray, faster: bool) -> dict:
    test = survival.logrank_test(
        durations[previous], events[previous], durations[current], events[current]
    )
    if test.p_value >= TREND_ALPHA:
        direction = "no significant change"
    else:
        direction = "faster" if faster else "slower"
    return {"direction": direction, "p_value": test.p_value, "test": "log-rank, two-sided"}


def provider_history(
    engine: Engine,
    name: str,
    *,
    as_of: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> dict:
    """One provider's figures per quarter (oldest first) with the trend between quarters."""
    config = config or StatisticsConfig()
    as_of = as_utc(as_of) if as_of is not None else utcnow()
    first, last = history_span(as_of, config)
    frame = load_frame(engine, as_of=as_of, start=first, end=last, columns=())
    return provider_history_in_frame(frame, name, as_of=as_of, config=config)


def history_span(
    as_of: datetime, config: StatisticsConfig | None = None
) -> tuple[datetime, datetime]:
    """Start and end of the quarters a provider history covers as of `as_of`."""
    periods = _quarters(as_utc(as_of), (config or StatisticsConfig()).history_quarters)
    return periods[0].start, periods[-1].end


def provider_history_in_frame(
    frame: TicketFrame,
    name: str,
    *,
    as_of: datetime,
    config: StatisticsConfig | None = None,
) -> dict:
    """`provider_history` on tickets already loaded as of `as_of` (`load_frame`) covering at
    least `history_span(as_of)`: pages that show many providers read the store once.
    Tickets outside the span are ignored."""
    config = config or StatisticsConfig()
    as_of = as_utc(as_of)
    periods = _quarters(as_of, config.history_quarters)
    code = _find_provider(frame.provider.labels, name)
    span = frame.clock_within(periods[0].start, periods[-1].end)
    mine = frame.select((frame.provider.codes == code) & span)
    clock = mine.clock_start.astype("datetime64[us]")
    years = clock.astype("datetime64[Y]").astype(np.int64) + 1970
    months = clock.astype("datetime64[M]").astype(np.int64) % 12
    first = periods[0].start
    index = (years * 4 + months // 3) - (first.year * 4 + (first.month - 1) // 3)
    in_curve = mine.in_curve
    curves = survival.kaplan_meier(
        mine.duration_hours[in_curve], mine.event[in_curve], index[in_curve], len(periods)
    )
    median, median_low, median_high = survival.quantile(curves, 0.5)
    removed, censored = survival.status_counts(
        mine.duration_hours[in_curve], mine.event[in_curve], index[in_curve], len(periods), 24.0
    )
    within, within_low, within_high = survival.binomial_intervals(
        survival.removed_within(curves, 24.0), removed, censored, curves.subjects
    )
    notices = np.bincount(index, minlength=len(periods))
    before_notice = np.bincount(index[mine.removed_before_notice], minlength=len(periods))

    def number(value) -> float | None:
        return None if np.isnan(value) else float(value)

    rows = []
    for q, period in enumerate(periods):
        low_volume = bool(curves.subjects[q] < config.min_notices)
        median_ci = [number(median_low[q]), number(median_high[q])]
        row = {
            **period.to_json(),
            "notices": int(notices[q]),
            "removed": int(curves.removals[q]),
            "open": int(curves.subjects[q] - curves.removals[q]),
            "removed_before_notice": int(before_notice[q]),
            "median_hours": number(median[q]),
            "median_hours_ci": median_ci
            if median_ci_estimable(int(curves.subjects[q]), median_ci)
            else [None, None],
            "within_24h": number(within[q]),
            "within_24h_ci": [number(within_low[q]), number(within_high[q])],
            "low_volume": low_volume,
            "trend": None,
        }
        previous = rows[-1] if rows else None
        if previous and not low_volume and not previous["low_volume"]:
            members = index[in_curve]
            faster = _is_faster(row, previous)
            row["trend"] = _trend(
                mine.duration_hours[in_curve],
                mine.event[in_curve],
                members == q - 1,
                members == q,
                faster,
            )
        rows.append(row)
    return {
        "provider": str(frame.provider.labels[code]),
        "as_of": iso(as_of),
        "min_notices": config.min_notices,
        "quarters": rows,
    }


def _is_faster(row: dict, previous: dict) -> bool:
    """Direction of a change: by the within-24h share, else by the median."""
    if row["within_24h"] is not None and previous["within_24h"] is not None:
        if row["within_24h"] != previous["within_24h"]:
            return row["within_24h"] > previous["within_24h"]
    now, then = row["median_hours"], previous["median_hours"]
    return (now if now is not None else float("inf")) < (then if then is not None else float("inf"))
