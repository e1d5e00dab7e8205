"""Removal slowdown: a provider's time-to-removal got worse than in its previous period.

Per named provider, notices whose clock started in the recent window are compared with
those of the baseline window (both measured as of `as_of`, censoring as in the
contract) by a one-sided log-rank test (recent removals slower). The minimum-effect
gate asks for a real change too: the median grew by `slowdown_min_median_ratio` and
`slowdown_min_median_hours`, or the share removed within 24 h fell by
`slowdown_min_within_24h_drop`. A recent median that was never reached counts as grown
only when the recent follow-up already runs past the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor._drift_interim_survival import km_summary as _summary
from monitor._drift_interim_survival import (
    load_removal_frame,  # noqa: F401 - re-exported for drift.py
    logrank,
)
from monitor.drift_config import DriftConfig
from monitor.drift_flags import (
    Candidate,
    display,
    is_named_provider,
    most_common_jurisdiction,
    percent,
    pvalue_text,
    window_json,
)
from monitor.drift_frame import Windows
from monitor.drift_stats import one_sided_from_chi2

TEST_NAME = (
    "log-rank test, one-sided: removals in the recent window slower than in the baseline window"
)
NORM_HOURS = 24.0


@dataclass
class RemovalFrame:
    """Per-notice survival data: clock start (epoch seconds), hours to removal or censoring."""

    provider: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    event: np.ndarray
    country: np.ndarray
    eu: np.ndarray
    inhope: np.ndarray


def slowdown_candidates(
    frame: RemovalFrame, windows: Windows, config: DriftConfig
) -> list[Candidate]:
    """One log-rank-tested candidate per provider with enough notices in both windows."""
    base_from, recent_from, as_of = (
        w.timestamp() for w in (windows.baseline_from, windows.recent_from, windows.as_of)
    )
    period = np.full(frame.start.size, -1, dtype=np.int8)
    period[(frame.start >= base_from) & (frame.start < recent_from)] = 0
    period[(frame.start >= recent_from) & (frame.start <= as_of)] = 1
    rows = np.flatnonzero(period >= 0)
    rows = rows[np.fromiter((is_named_provider(p) for p in frame.provider[rows]), bool, rows.size)]
    if not rows.size:
        return []
    names, codes = np.unique(frame.provider[rows].astype(str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(names.size + 1))
    candidates = []
    for index, name in enumerate(names.tolist()):
        members = rows[order[bounds[index] : bounds[index + 1]]]
        candidate = _test(name, frame, members, period[members], windows, config)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def _test(
    name, frame: RemovalFrame, members, period, windows: Windows, config: DriftConfig
) -> Candidate | None:
    base, recent = members[period == 0], members[period == 1]
    if base.size < config.min_tickets or recent.size < config.min_tickets:
        return None
    statistic, observed, expected = logrank(
        frame.duration[base], frame.event[base], frame.duration[recent], frame.event[recent]
    )
    p = one_sided_from_chi2(statistic, worse=observed < expected)
    before = _summary(frame.duration[base], frame.event[base])
    after = _summary(frame.duration[recent], frame.event[recent])
    effect_ok = _median_grew(before, after, config) or (
        before["within_24h"] - after["within_24h"] >= config.slowdown_min_within_24h_drop
    )
    evidence = {
        "tickets": int(recent.size),
        "baseline": {**window_json(windows.baseline_from, windows.recent_from), **_public(before)},
        "recent": {**window_json(windows.recent_from, windows.as_of), **_public(after)},
        "test": TEST_NAME,
        "statistic": statistic,
        "p_value": p,
        "observed_removals_recent": observed,
        "expected_removals_recent": expected,
    }
    origin = most_common_jurisdiction(frame.country[base], frame.eu[base], frame.inhope[base])
    destination = most_common_jurisdiction(
        frame.country[recent], frame.eu[recent], frame.inhope[recent]
    )
    for place, figures in ((origin, before), (destination, after)):
        place.update(median_hours=figures["median_hours"], within_24h=figures["within_24h"])
    return Candidate(
        kind="removal_slowdown",
        subject=name,
        key=("removal_slowdown", name),
        origin=origin,
        destination=destination,
        evidence=evidence,
        p_value=p,
        effect_ok=effect_ok,
        describe=_sentence(name),
    )


def _median_grew(before: dict, after: dict, config: DriftConfig) -> bool:
    if before["median_hours"] is None:
        return False
    threshold = max(
        before["median_hours"] * config.slowdown_min_median_ratio,
        before["median_hours"] + config.slowdown_min_median_hours,
    )
    if after["median_hours"] is None:
        return after["follow_up_hours"] >= threshold
    return after["median_hours"] >= threshold


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
    return "not reached" if value is None else f"{value:.1f} h"
