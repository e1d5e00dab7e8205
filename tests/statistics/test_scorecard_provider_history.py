"""`monitor provider show NAME`: one provider's quarters side by side, with the trend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.core.errors import ReportError
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import parse_period
from monitor.statistics.provider_history import provider_history
from monitor.statistics.scorecard import compute_scorecard
from tests import survival_data as data

AS_OF = datetime(2026, 7, 20, tzinfo=UTC)


def quarter_tickets(rng, quarter: str, n: int, scale: float, prefix: str) -> list[data.Spec]:
    period = parse_period(quarter)
    specs = []
    for i in range(n):
        span = min(24 * 80, int((AS_OF - period.start).total_seconds() // 3600))
        clock = period.start + timedelta(hours=float(rng.integers(0, span)))
        removed = clock + timedelta(hours=float(np.round(rng.exponential(scale))))
        specs.append(
            data.Spec(
                f"{prefix}{i}",
                clock,
                clock,
                removed if removed <= AS_OF else None,
                None,
                "alpha-hosting",
                None,
                None,
            )
        )
    return specs


@pytest.fixture
def history_store(engine):
    rng = np.random.default_rng(4)
    specs = (
        quarter_tickets(rng, "2025Q4", 80, 10.0, "a")
        + quarter_tickets(rng, "2026Q1", 80, 10.0, "b")  # same speed
        + quarter_tickets(rng, "2026Q2", 80, 60.0, "c")  # much slower
        + quarter_tickets(rng, "2026Q3", 5, 5.0, "d")  # too few to judge
    )
    other = data.generate(
        rng, 60, start=datetime(2026, 1, 1, tzinfo=UTC), days=150, removal_cutoff=AS_OF
    )
    other = [s for s in other if s.provider != "alpha-hosting"]
    data.ingest(engine, specs + other, learnt_at=AS_OF)
    data.resolve(engine, specs + other, resolved_at=AS_OF)
    return engine


def test_quarters_side_by_side_with_trend(history_store):
    history = provider_history(
        history_store, "Alpha-Hosting", as_of=AS_OF, config=StatisticsConfig(history_quarters=5)
    )
    assert history["provider"] == "alpha-hosting"
    quarters = {q["label"]: q for q in history["quarters"]}
    assert list(quarters) == ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    assert [quarters[q]["notices"] for q in quarters] == [0, 80, 80, 80, 5]
    assert quarters["2025Q3"]["median_hours"] is None and quarters["2025Q4"]["trend"] is None
    assert quarters["2026Q1"]["trend"]["direction"] == "no significant change"
    assert (
        quarters["2026Q2"]["trend"]["direction"] == "slower"
        and quarters["2026Q2"]["trend"]["p_value"] < 0.001
    )
    assert quarters["2026Q3"]["low_volume"] and quarters["2026Q3"]["trend"] is None
    # The same figures as the scorecard of that quarter.
    card = compute_scorecard(
        history_store, period=parse_period("2026Q2"), as_of=AS_OF, by="provider"
    )
    row = next(r for r in card["rows"] if r["key"] == "alpha-hosting")
    for key in (
        "notices",
        "removed",
        "open",
        "median_hours",
        "median_hours_ci",
        "within_24h",
        "within_24h_ci",
    ):
        assert quarters["2026Q2"][key] == row[key], key


def test_unknown_provider_suggests_close_names(history_store):
    with pytest.raises(
        ReportError, match="no notices for provider 'alpha-hostin' .*did you mean 'alpha-hosting'"
    ):
        provider_history(history_store, "alpha-hostin", as_of=AS_OF)


def test_cli(history_store, db_url):
    from tests.conftest import Cli

    cli = Cli(db_url)
    shown = json.loads(
        cli("provider", "show", "alpha-hosting", "--as-of", "2026-07-20", "--json").stdout
    )
    assert [q["label"] for q in shown["quarters"]][-4:] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    text = cli("provider", "show", "alpha-hosting", "--as-of", "2026-07-20").stdout
    assert (
        "2025Q4" in text
        and "2026Q2" in text
        and "slower (p=0.000)" in text
        and "(low vol.)" in text
    )
    result = cli("provider", "show", "nobody", "--as-of", "2026-07-20", ok=False)
    assert result.exit_code == 2
    assert result.stderr == "error: no provider named 'nobody' (see `monitor providers list`)\n"
