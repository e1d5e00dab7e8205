"""Quarterly trends: per-quarter figures against the scorecard, stored snapshots, Wilson."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard import compute_scorecard
from monitor.statistics.snapshots import store_scorecard_snapshot
from reports.trend_data import quarterly_trend, quarters_up_to, wilson_interval
from tests.statistics.test_fair_reappearance import _store

AS_OF = datetime(2026, 11, 15, tzinfo=UTC)


def _tickets():
    rows = []
    start = datetime(2026, 7, 1, tzinfo=UTC)
    for i in range(40):
        base = (start - datetime(2026, 7, 1, tzinfo=UTC)).days + i * 3  # Q3 and into Q4
        inside = {"country": "NL", "eu": True, "inhope": True}
        outside = {"country": "AE", "eu": False, "inhope": False}
        rows.append(
            {
                "id": f"t{i}",
                "hash": i,
                "reported": base,
                "removed": base + (0.5 if i % 3 else 4) if i % 7 else None,
                "provider": "Host A" if i % 2 else "Host B",
                **(outside if i % 5 == 0 else inside),
            }
        )
    return rows


def test_quarters_and_wilson():
    labels = [p.label for p in quarters_up_to(parse_period("2026Q1"), 5)]
    assert labels == ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]
    from scipy.stats import binomtest

    ci = binomtest(7, 40).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(7, 40) == pytest.approx([ci.low, ci.high], abs=1e-12)
    assert wilson_interval(0, 0) == [None, None]


def test_trend_matches_the_scorecard_and_uses_a_stored_snapshot(engine):
    _store(engine, _tickets())
    trend = quarterly_trend(engine, last=parse_period("2026Q4"), as_of=AS_OF, count=4)
    assert [q["label"] for q in trend["quarters"]] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    q3, q4 = trend["quarters"][2], trend["quarters"][3]
    assert q3["complete"] is True and q4["complete"] is False and q4["days_elapsed"] == 45
    card = compute_scorecard(engine, period=parse_period("2026Q3"), as_of=AS_OF)
    assert q3["notices"] == card["totals"]["notices"]
    assert q3["median_hours"] == card["totals"]["median_hours"]
    assert q3["norms"] == card["totals"]["norms"]
    assert q3["snapshot_id"] is None
    in_q3 = [t for t in _tickets() if t["reported"] < 92]
    outside = sum(1 for t in in_q3 if t["country"] == "AE")
    assert q3["outside"]["outside"] == outside and q3["outside"]["known"] == len(in_q3)
    assert q3["outside"]["ci"] == wilson_interval(outside, len(in_q3))
    # one provider
    mine = quarterly_trend(engine, last=parse_period("2026Q4"), as_of=AS_OF, provider="Host A")
    card_a = next(r for r in card["rows"] if r["name"] == "Host A")
    assert mine["quarters"][2]["notices"] == card_a["notices"]
    assert mine["quarters"][2]["median_hours"] == card_a["median_hours"]
    # a stored snapshot of Q3 is cited and its figures used
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=parse_period("2026Q3").start,
        period_to=parse_period("2026Q3").end,
        as_of=AS_OF - timedelta(days=30),
        by="provider",
    )
    again = quarterly_trend(engine, last=parse_period("2026Q4"), as_of=AS_OF)
    assert again["quarters"][2]["snapshot_id"] == snapshot_id
    earlier = compute_scorecard(
        engine, period=parse_period("2026Q3"), as_of=AS_OF - timedelta(days=30)
    )
    assert again["quarters"][2]["median_hours"] == earlier["totals"]["median_hours"]
    # a snapshot as of after the requested as_of is not used
    before = quarterly_trend(engine, last=parse_period("2026Q4"), as_of=AS_OF - timedelta(days=40))
    assert before["quarters"][2]["snapshot_id"] is None


def test_trend_chart_draws_every_quarter_and_marks_the_incomplete_one(engine):
    from reports.language import Language
    from reports.trend_chart import trend_chart

    _store(engine, _tickets())
    trend = quarterly_trend(engine, last=parse_period("2026Q4"), as_of=AS_OF, count=5)
    svg = str(trend_chart(trend, None, Language("en")))
    assert svg.startswith("<svg") and 'aria-label="Removal times and hosting outside' in svg
    for text in (">Q3<", ">2026<", ">to date<", "Within 12 h (ATKM norm)"):
        assert text in svg
    assert "hosted outside the EU and INHOPE" in svg
    dutch = str(trend_chart(trend, None, Language("nl")))
    assert "Binnen 12 uur (ATKM-norm)" in dutch
    assert ">4e kw.<" in dutch and ">tot nu toe<" in dutch and "Meldingen" in dutch
    # names are text, never markup
    assert "<script" not in svg
