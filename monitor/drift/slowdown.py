"""Removal slowdown: a provider's time-to-removal got worse than in its previous period.

Per named provider, notices whose clock started in the recent window are compared with
those of the baseline window (both measured as of `as_of`, censoring as in the
contract, via `monitor.statistics.ticket_frame.load_frame`) by a one-sided log-rank test (recent
removals slower; `monitor.statistics.survival.logrank_test`). The minimum-effect gate asks for a
real change too: the Kaplan-Meier median grew by `slowdown_min_median_ratio` and
`slowdown_min_median_hours`, or the share removed within 24 h fell by
`slowdown_min_within_24h_drop`. A recent median that was never reached counts as grown
only when the recent follow-up already runs past the threshold.
"""

from __future__ import annotations

import math

import numpy as np
from sqlalchemy.engine import Engine

from monitor.drift.config import DriftConfig
from monitor.drift.flags import (
    Candidate,
    Finding,
    display,
    is_named_provider,
    most_common_jurisdiction,
    percent,
    pvalue_text,
    window_json,
)
from monitor.drift.frame import Windows, flag_values, pick
from monitor.drift.stats import one_sided_from_chi2
from monitor.statistics.survival import kaplan_meier, logrank_test, quantile, removed_within
from monitor.statistics.ticket_frame import TicketFrame, load_frame

TEST_NAME = (
    "log-rank test, one-sided: removals in the recent window slower than in the baseline window"
)
NORM_HOURS = 24.0


def load_removal_frame(engine: Engine, windows: Windows) -> TicketFrame:
    """Notices whose clock started in the baseline or recent window, as of `windows.as_of`."""
    return load_frame(engine, as_of=windows.as_of, start=windows.baseline_from, columns=())


def slowdown_candidates(
    frame: TicketFrame, windows: Windows, config: DriftConfig
) -> list[Candidate]:
    """One log-rank-tested candidate per provider with enough notices in both windows."""
    period = windows.period_of(frame.clock_start_seconds)
    labels = frame.provider.labels
    named = np.fromiter((is_named_provider(label) for label in labels), bool, labels.size)
    rows = np.flatnonzero((period >= 0) & frame.in_curve)
    rows = rows[named[frame.provider.codes[rows]]]
    if not rows.size:
        return []
    # One Kaplan-Meier pass for every (provider, period) group: group = 2 * provider + period.
    groups = frame.provider.codes[rows].astype(np.int64) * 2 + period[rows]
    curves = kaplan_meier(frame.duration_hours[rows], frame.event[rows], groups, 2 * labels.size)
    medians = quantile(curves, 0.5)[0]
    within = removed_within(curves, NORM_HOURS)[0]
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(2 * labels.size + 1))
    candidates = []
    for code in np.flatnonzero(named).tolist():
        base, recent = 2 * code, 2 * code + 1
        if min(curves.subjects[base], curves.subjects[recent]) < config.min_tickets:
            continue
        members = [rows[order[bounds[g] : bounds[g + 1]]] for g in (base, recent)]
        figures = [
            {
                "tickets": int(curves.subjects[g]),
                "removed": int(curves.removals[g]),
                "median_hours": _number(medians[g]),
                "within_24h": _number(within[g]),
                "follow_up_hours": _number(curves.last_time[g]),
            }
            for g in (base, recent)
        ]
        candidates.append(_test(str(labels[code]), frame, members, figures, windows, config))
    return candidates


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _test(name, frame: TicketFrame, members, figures, windows: Windows, config) -> Candidate:
    (base, recent), (before, after) = members, figures
    test = logrank_test(
        frame.duration_hours[base],
        frame.event[base],
        frame.duration_hours[recent],
        frame.event[recent],
    )
    # Group A is the baseline: more removals than expected there means it was the faster one.
    slower_now = test.observed_a > test.expected_a
    p = one_sided_from_chi2(test.statistic, worse=slower_now)
    effect_ok = _median_grew(before, after, config) or _within_fell(before, after, config)

    def find() -> Finding:
        evidence = {
            "tickets": after["tickets"],
            "baseline": {
                **window_json(windows.baseline_from, windows.recent_from),
                **_public(before),
            },
            "recent": {**window_json(windows.recent_from, windows.as_of), **_public(after)},
            "test": TEST_NAME,
            "statistic": test.statistic,
            "p_value": p,
            "observed_removals_baseline": test.observed_a,
            "expected_removals_baseline": test.expected_a,
        }
        origin, destination = (_jurisdiction(frame, rows) for rows in (base, recent))
        for place, summary in ((origin, before), (destination, after)):
            place.update(median_hours=summary["median_hours"], within_24h=summary["within_24h"])
        return Finding(("removal_slowdown", name), origin, destination, evidence, _sentence(name))

    return Candidate("removal_slowdown", name, p, effect_ok, find)


def _jurisdiction(frame: TicketFrame, rows: np.ndarray) -> dict:
    return most_common_jurisdiction(
        pick(frame.country, rows), flag_values(frame.eu[rows]), flag_values(frame.inhope[rows])
    )


def _median_grew(before: dict, after: dict, config: DriftConfig) -> bool:
    if before["median_hours"] is None:
        return False
    threshold = max(
        before["median_hours"] * config.slowdown_min_median_ratio,
        before["median_hours"] + config.slowdown_min_median_hours,
    )
    if after["median_hours"] is None:
        return (after["follow_up_hours"] or 0.0) >= threshold
    return after["median_hours"] >= threshold


def _within_fell(before: dict, after: dict, config: DriftConfig) -> bool:
    if before["within_24h"] is None or after["within_24h"] is None:
        return False
    return before["within_24h"] - after["within_24h"] >= config.slowdown_min_within_24h_drop


def _public(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "follow_up_hours"}


def _sentence(name: str):
    def describe(evidence: dict) -> str:
        base, recent = evidence["baseline"], evidence["recent"]
        window = f"from {recent['from'][:10]} to {recent['to'][:10]}"
        medians = f"{_hours(recent['median_hours'])} against {_hours(base['median_hours'])}"
        return (
            f"{display(name)} removed {percent(recent['within_24h'])} of {recent['tickets']} "
            f"notices within 24 h in the window {window}, against {percent(base['within_24h'])} of "
            f"{base['tickets']} before, with a median of {medians} "
            f"(adjusted p = {pvalue_text(evidence.get('p_adjusted'))})."
        )

    return describe


def _hours(value: float | None) -> str:
    from monitor.core.durations import duration_text

    return duration_text(value, missing="not reached")
