"""One provider's page: its removal curve with the 95 % band, its quarters side by side,
its networks and countries per quarter, its drift flags and its open notices.

Figures come from the stage functions: `monitor provider show` (provider_history, on the
ticket frame all provider pages share) for the quarters, `reports.trend_data.quarterly_trend`
for the trend, the period's provider scorecard row (stored or computed) for the announced
address space and the content that came back, `monitor.statistics.survival.kaplan_meier` on
the scorecard's ticket frame for the curve (the scorecard's own numbers: S(24 h) here is
1 - within_24h there), and `monitor overdue` for the open notices.
Networks and countries are counts of tickets, nothing estimated.
"""

from __future__ import annotations

import numpy as np

from monitor.core.timeutil import parse_timestamp
from monitor.statistics import survival
from monitor.statistics.periods import Period, between
from monitor.statistics.ticket_frame import to_us
from monitor.web.charts import km_band_chart
from monitor.web.data import Generation, Workbench, open_by_provider

TOP_PLACES = 8
OPEN_SHOWN = 500


CHARTS = ("curve", "trend")


def provider_view(bench: Workbench, name: str, period: Period, gen: Generation) -> dict:
    """Everything the provider page shows, for the provider `name` (case does not matter),
    but its two charts (`provider_chart`).

    The figures are kept per generation; the drift flags (which an acknowledgement made
    anywhere changes) are read afresh.
    """
    view = _cached_figures(bench, name, period, gen)
    flags = [
        flag
        for flag in bench.flags(include_acknowledged=True)
        if str(flag["subject"]).casefold() == view["provider"].casefold()
    ]
    return {**view, "flags": flags}


def provider_chart(bench: Workbench, name: str, period: Period, gen: Generation, which: str) -> str:
    """The SVG of one of the provider page's charts (`CHARTS`): the Kaplan-Meier curve of
    the period with its band, or the trend of the last quarters; drawn once per generation."""
    if which not in CHARTS:
        raise ValueError(f"no chart {which!r}")
    view = _cached_figures(bench, name, period, gen)

    def draw() -> str:
        if which == "curve":
            curve = view["curve"]
            return str(
                km_band_chart(
                    curve["times"],
                    curve["survival"],
                    curve["lower"],
                    curve["upper"],
                    curve["follow_up"],
                    curve["norm_hours"],
                    label=curve["label"],
                )
            )
        return str(trend_svg(view["trend"]))

    return bench.fragment(("provider chart", which, view["provider"].casefold(), period), gen, draw)


def _cached_figures(bench: Workbench, name: str, period: Period, gen: Generation) -> dict:
    return bench._cached(
        ("provider view", name.strip().casefold(), period),
        gen,
        lambda: _figures(bench, name, period, gen),
    )


def _figures(bench: Workbench, name: str, period: Period, gen: Generation) -> dict:
    history = bench.provider_history(name, gen)
    provider = history["provider"]
    # As `monitor provider show`: the quarters with notices (else the latest one).
    quarters = [q for q in history["quarters"] if q["notices"]] or history["quarters"][-1:]
    # The span of every provider's history (so all provider pages share one frame).
    every = history["quarters"]
    span = between(
        min(parse_timestamp(every[0]["from"]), period.start),
        max(parse_timestamp(every[-1]["to"]), period.end),
    )
    frame = bench.provider_frame(span, gen)
    labels = [str(label) for label in frame.provider.labels]
    code = labels.index(provider) if provider in labels else -1
    mine = frame.provider.codes == code
    in_period = frame.clock_within(period.start, period.end)
    chosen = mine & in_period & frame.in_curve
    curves = survival.kaplan_meier(frame.duration_hours[chosen], frame.event[chosen])
    norms = [(norm.label, norm.hours) for norm in bench.config.norms]
    at_norms = []
    for label, hours in [("24 h", 24.0), *norms]:
        value, low, high = survival.removed_within(curves, hours)
        at_norms.append(
            {"label": label, "share": _number(value[0]), "ci": [_number(low[0]), _number(high[0])]}
        )
    steps = slice(curves.bounds[0], curves.bounds[1])
    follow_up = float(curves.last_time[0]) if curves.subjects[0] else 0.0
    # Drawn apart (`provider_chart`, served as an image of its own): the page need not
    # wait for matplotlib.
    curve = {
        "times": curves.time[steps],
        "survival": curves.survival[steps],
        "lower": curves.lower[steps],
        "upper": curves.upper[steps],
        "follow_up": follow_up,
        "norm_hours": [hours for _label, hours in norms],
        "label": f"Share of notices still online by hours since the notice, {period.label}",
    }
    open_notices = open_by_provider(bench, gen).get(provider.casefold(), [])
    notices = int(np.count_nonzero(mine & in_period))
    trend = bench.trend(provider, gen)
    return {
        "provider": provider,
        "history": history,
        "quarters": quarters,
        "period": period,
        "notices": int(curves.subjects[0]),
        "removed": int(curves.removals[0]),
        "at_norms": at_norms,
        "curve": curve,
        "networks": _places(frame, mine, quarters, "network"),
        "countries": _places(frame, mine, quarters, "country"),
        "open": open_notices[:OPEN_SHOWN],
        "open_count": len(open_notices),
        "period_notices": notices,
        **_fair_figures(bench, provider, period, gen),
        "trend": trend,
    }


def trend_svg(trend: dict):
    """The reports' trend chart (`reports.trend_chart`) of a `quarterly_trend` result."""
    from reports.briefing_report import drawable_trend
    from reports.language import Language
    from reports.trend_chart import trend_chart

    return trend_chart(drawable_trend(trend), None, Language("en"))


def _fair_figures(bench: Workbench, provider: str, period: Period, gen: Generation) -> dict:
    """The provider's size and re-appearance, taken from its row of the period's provider
    scorecard (stored or computed), so the page and the scorecard agree. A snapshot stored
    before those columns existed: re-appearance is computed, the size shows as unknown."""
    from monitor.statistics.fair_columns import reappearance_of_row

    card = bench.scorecard(period, "provider", gen)
    row = next((r for r in card["rows"] if str(r["name"]) == provider), {})
    addresses = row.get("announced_addresses")
    reappearance = reappearance_of_row(row) if row else None
    if row and reappearance is None:
        reappearance = bench.reappearance(period, gen).get(provider)
    return {
        "size": {
            "addresses": addresses,
            "basis": row.get("size_basis") if addresses else None,
            "data_version": card.get("size_data_version"),
            "data_date": card.get("size_data_date"),
            "per_100k": row.get("notices_per_100k_addresses") if addresses else None,
        },
        "reappearance": reappearance,
    }


def _number(value) -> float | None:
    return None if np.isnan(value) else float(value)


def _places(frame, mine: np.ndarray, quarters: list[dict], column: str) -> dict:
    """Tickets per quarter of each of the provider's most frequent networks or countries."""
    categorical = getattr(frame, column)
    if len(categorical.codes) != len(frame):
        return {"quarters": [], "rows": []}
    codes = categorical.codes[mine]
    clock = frame.clock_start[mine]
    totals = np.bincount(codes, minlength=len(categorical.labels))
    top = [int(c) for c in np.argsort(-totals, kind="stable")[:TOP_PLACES] if totals[c] > 0]
    rows = []
    for c in top:
        label = categorical.labels[c]
        counts = []
        for q in quarters:
            inside = (clock >= to_us(parse_timestamp(q["from"]))) & (
                clock < to_us(parse_timestamp(q["to"]))
            )
            counts.append(int(np.count_nonzero(inside & (codes == c))))
        rows.append({"name": "unknown" if label is None else str(label), "counts": counts})
    return {"quarters": [q["label"] for q in quarters], "rows": rows}
