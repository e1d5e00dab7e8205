"""The scorecard from the database (SQLite and PostgreSQL): figures against lifelines on the
tickets' own durations, period membership, `--as-of` / `--known-at`, low volume and ranks,
the previous period, and the JSON keys and types of the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.norms import Norm, StatisticsConfig
from monitor.periods import parse_period
from monitor.scorecard import compute_scorecard
from tests import survival_data as data

PERIOD = parse_period("2026Q2")  # [2026-04-01, 2026-07-01)
AS_OF = datetime(2026, 7, 15, tzinfo=UTC)
TOL = 1e-9


@pytest.fixture
def store(engine):
    """600 tickets over Q1 and Q2 2026, resolved, ingested after as_of."""
    rng = np.random.default_rng(7)
    specs = data.generate(
        rng, 600, start=datetime(2026, 1, 1, tzinfo=UTC), days=181, removal_cutoff=AS_OF
    )
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=1))
    data.resolve(engine, specs, resolved_at=AS_OF + timedelta(days=1))
    return engine, specs


def expected_rows(specs, period, as_of, key):
    groups: dict[str, list] = {}
    for spec in specs:
        want = data.expected(spec, as_of)
        if period.start <= want["clock"] < period.end and want["clock"] <= as_of:
            groups.setdefault(key(spec, want), []).append(want)
    return groups


def assert_row_matches(row, tickets):
    in_curve = [t for t in tickets if not t["before_notice"]]
    assert row["notices"] == len(tickets)
    assert row["removed_before_notice"] == len(tickets) - len(in_curve)
    assert row["removed"] == sum(t["event"] for t in in_curve)
    assert row["open"] == len(in_curve) - row["removed"]
    ref = data.lifelines_figures([t["duration"] for t in in_curve], [t["event"] for t in in_curve])
    for name, value in ref.items():
        if isinstance(value, list):
            # A confidence bound is None where the curve gives none; approx takes numbers only.
            assert len(row[name]) == len(value), name
            for got, want in zip(row[name], value, strict=True):
                if want is None:
                    assert got is None, name
                else:
                    assert got == pytest.approx(want, abs=TOL, rel=TOL), name
        elif value is None:
            assert row[name] is None, name
        else:
            assert row[name] == pytest.approx(value, abs=TOL, rel=TOL), name


def test_provider_rows_and_totals_match_lifelines(store):
    engine, specs = store
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    groups = expected_rows(specs, PERIOD, AS_OF, lambda spec, want: want["provider"])
    assert {row["key"] for row in card["rows"]} == set(groups)
    for row in card["rows"]:
        assert_row_matches(row, groups[row["key"]])
    assert_row_matches(card["totals"], [t for tickets in groups.values() for t in tickets])
    notices = [row["notices"] for row in card["rows"]]
    assert notices == sorted(notices, reverse=True)


def test_network_and_country_rows_match_lifelines(store):
    engine, specs = store
    network = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="network")
    by_asn = expected_rows(
        specs,
        PERIOD,
        AS_OF,
        lambda s, w: f"AS{data.PROVIDERS[s.provider][0]}" if s.provider else "unknown",
    )
    assert {row["key"] for row in network["rows"]} == set(by_asn)
    for row in network["rows"]:
        assert_row_matches(row, by_asn[row["key"]])
        if row["key"] != "unknown":
            provider = next(p for p, v in data.PROVIDERS.items() if f"AS{v[0]}" == row["key"])
            assert (
                row["name"] == data.PROVIDERS[provider][1]
                and row["asn"] == data.PROVIDERS[provider][0]
            )
    country = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="country")
    by_country = expected_rows(specs, PERIOD, AS_OF, lambda s, w: w["country"] or "unknown")
    assert {row["key"] for row in country["rows"]} == set(by_country)
    for row in country["rows"]:
        assert_row_matches(row, by_country[row["key"]])
    names = {row["key"]: row["name"] for row in country["rows"]}
    assert names["NL"] == "Netherlands" and names["AE"] == "United Arab Emirates"


def test_row_attributes_are_the_common_values(store):
    engine, _specs = store
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    rows = {row["key"]: row for row in card["rows"]}
    asn, _network, country, eu, inhope, _cdn = data.PROVIDERS["delta-host"]
    assert (rows["delta-host"]["asn"], rows["delta-host"]["country"]) == (asn, country)
    assert (rows["delta-host"]["eu"], rows["delta-host"]["inhope"]) == (eu, inhope)
    assert rows["gamma-net"]["cdn_share"] == 1.0 and rows["alpha-hosting"]["cdn_share"] == 0.0


CONTRACT_ROW = {
    "name": str,
    "asn": (int, type(None)),
    "country": (str, type(None)),
    "eu": (bool, type(None)),
    "inhope": (bool, type(None)),
    "notices": int,
    "removed": int,
    "open": int,
    "removed_before_notice": int,
    "median_hours": (float, type(None)),
    "median_hours_ci": list,
    "p90_hours": (float, type(None)),
    "within_24h": (float, type(None)),
    "within_24h_ci": list,
    "within_72h": (float, type(None)),
    "within_7d": (float, type(None)),
}
EXTRA_ROW = {
    "key": str,
    "low_volume": bool,
    "rank": (int, type(None)),
    "norms": dict,
    "within_72h_ci": list,
    "within_7d_ci": list,
    "cdn_share": (float, type(None)),
    "previous": (dict, type(None)),
}
# Issue 22 (docs/fair-comparisons.md): provider size and re-appearance, added keys.
NUMBER_OR_NONE = (int, float, type(None))
EXTRA_ROW.update(
    {
        "announced_addresses": (int, type(None)),
        "size_basis": (str, type(None)),
        "notices_per_100k_addresses": (float, type(None)),
        "removed_items": (int, type(None)),
        "reappeared": (int, type(None)),
        "reappeared_30d": (int, type(None)),
        "reappeared_90d": (int, type(None)),
        "reappeared_30d_share": NUMBER_OR_NONE,
        "reappeared_30d_share_ci": list,
        "reappeared_90d_share": NUMBER_OR_NONE,
        "reappeared_90d_share_ci": (list, type(None)),
        "reappeared_same_provider": (int, type(None)),
        "reappeared_other_inside": (int, type(None)),
        "reappeared_outside": (int, type(None)),
        "reappeared_unknown": (int, type(None)),
    }
)


def test_json_keys_and_types_follow_the_contract(store):
    engine, _specs = store
    card = json.loads(
        json.dumps(compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider"))
    )
    assert list(card)[:3] == ["period", "as_of", "known_at"]
    for key in (
        "period",
        "as_of",
        "by",
        "rows",
        "totals",
        "snapshot_id",
        "known_at",
        "generated_at",
        "min_notices",
        "norms",
        "previous_period",
    ):
        assert key in card
    assert card["period"] == {
        "label": "2026Q2",
        "from": "2026-04-01T00:00:00Z",
        "to": "2026-07-01T00:00:00Z",
    }
    assert (
        card["as_of"] == "2026-07-15T00:00:00Z"
        and card["by"] == "provider"
        and card["known_at"] is None
    )
    assert card["previous_period"] == {
        "label": "2026Q1",
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-04-01T00:00:00Z",
    }
    assert card["norms"] == [
        {"key": "atkm_12h", "hours": 12.0, "label": "ATKM 12 h"},
        {"key": "industry_24h", "hours": 24.0, "label": "Industry 24 h"},
        {"key": "inhope_72h", "hours": 72.0, "label": "INHOPE 3 days"},
    ]
    assert card["min_notices"] == 10 and card["snapshot_id"] is None
    for row in [*card["rows"], card["totals"]]:
        assert set(row) == set(CONTRACT_ROW) | set(EXTRA_ROW)
        for key, kind in {**CONTRACT_ROW, **EXTRA_ROW}.items():
            assert isinstance(row[key], kind), (key, row[key])
        for key in ("median_hours_ci", "within_24h_ci", "within_72h_ci", "within_7d_ci"):
            assert len(row[key]) == 2 and all(v is None or isinstance(v, float) for v in row[key])
        assert set(row["norms"]) == {"atkm_12h", "industry_24h", "inhope_72h"}
        for entry in row["norms"].values():
            assert set(entry) == {"share", "ci"} and len(entry["ci"]) == 2
        assert row["norms"]["industry_24h"]["share"] == row["within_24h"]
        assert row["norms"]["inhope_72h"]["ci"] == row["within_72h_ci"]
        if row["previous"] is not None:
            assert set(row["previous"]) == {"notices", "median_hours", "within_24h"}
    assert card["totals"]["key"] == "all" and card["totals"]["rank"] is None


def test_previous_period_figures(store):
    engine, specs = store
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    before = compute_scorecard(engine, period=PERIOD.previous(), as_of=AS_OF, by="provider")
    earlier = {row["key"]: row for row in before["rows"]}
    for row in card["rows"]:
        old = earlier.get(row["key"])
        if old is None:
            assert row["previous"] is None
        else:
            assert row["previous"] == {k: old[k] for k in ("notices", "median_hours", "within_24h")}
    assert card["totals"]["previous"]["notices"] == before["totals"]["notices"]


def test_low_volume_rows_are_marked_and_not_ranked(store):
    engine, _specs = store
    config = StatisticsConfig(min_notices=60)
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider", config=config)
    assert card["min_notices"] == 60
    low = [row for row in card["rows"] if row["low_volume"]]
    ranked = sorted(
        (row for row in card["rows"] if not row["low_volume"]), key=lambda row: row["rank"]
    )
    assert low and ranked
    assert all(row["rank"] is None for row in low)
    assert all(row["notices"] - row["removed_before_notice"] < 60 for row in low)
    assert [row["rank"] for row in ranked] == list(range(1, len(ranked) + 1))
    shares = [row["within_24h"] for row in ranked]
    assert shares == sorted(shares, reverse=True)
    # Low-volume rows carry their (wider) CIs all the same.
    assert all(row["within_24h_ci"][0] is not None for row in low if row["within_24h"] is not None)


def test_configured_norms_appear_in_every_row(store):
    engine, _specs = store
    config = StatisticsConfig(
        norms=(Norm("fast_6h", 6.0, "6 hours"), Norm("week", 168.0, "one week"))
    )
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider", config=config)
    assert [norm["key"] for norm in card["norms"]] == ["fast_6h", "week"]
    for row in card["rows"]:
        assert set(row["norms"]) == {"fast_6h", "week"}
        assert row["norms"]["week"]["share"] == row["within_7d"]


def test_period_membership_by_clock_start(engine):
    start, end = PERIOD.start, PERIOD.end
    specs = [
        data.Spec(
            "first-moment",
            start,
            None,
            start + timedelta(hours=2),
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "notified-in",
            start - timedelta(days=2),
            start + timedelta(hours=1),
            None,
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "notified-after-end",
            end - timedelta(hours=1),
            end,
            None,
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "before",
            start - timedelta(microseconds=1),
            None,
            None,
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "last-moment",
            end - timedelta(microseconds=1),
            None,
            None,
            None,
            "alpha-hosting",
            None,
            None,
        ),
    ]
    data.ingest(engine, specs, learnt_at=end + timedelta(days=1))
    card = compute_scorecard(engine, period=PERIOD, as_of=end + timedelta(days=1), by="provider")
    assert card["totals"]["notices"] == 3  # first-moment, notified-in, last-moment
    early = compute_scorecard(
        engine, period=PERIOD, as_of=start + timedelta(hours=5), by="provider"
    )
    assert early["totals"]["notices"] == 2  # last-moment had not started by as_of
    assert early["totals"]["removed"] == 1


def without_times(card: dict) -> dict:
    return {key: value for key, value in card.items() if key not in ("generated_at",)}


def test_later_removals_do_not_change_a_past_as_of(store):
    engine, specs = store
    before = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    later = [
        data.Spec(**{**spec.__dict__, "removed_at": AS_OF + timedelta(hours=5)})
        for spec in specs
        if spec.removed_at is None and spec.notified_at is not None
    ]
    data.ingest(engine, later, learnt_at=AS_OF + timedelta(days=2))
    assert without_times(
        compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    ) == without_times(before)
    after = compute_scorecard(engine, period=PERIOD, as_of=AS_OF + timedelta(days=1), by="provider")
    assert after["totals"]["removed"] > before["totals"]["removed"]


def test_known_at_rederives_a_past_briefing(store):
    """A figure published at K is re-derived exactly after later corrections arrived."""
    engine, specs = store
    k = AS_OF + timedelta(days=1, hours=1)
    published = compute_scorecard(engine, period=PERIOD, as_of=k, by="provider")
    corrected = []
    for i, spec in enumerate(specs):
        update = dict(spec.__dict__)
        if spec.removed_at is None and spec.notified_at is not None:
            # the hotline reports removals that happened before K, but learnt later
            update["removed_at"] = min(spec.notified_at + timedelta(hours=30), AS_OF)
        if i % 9 == 0:
            update["stated_provider"] = "renamed"
        corrected.append(data.Spec(**update))
    data.ingest(engine, corrected, learnt_at=k + timedelta(days=3))
    data.ingest(
        engine,
        data.generate(
            np.random.default_rng(8),
            40,
            start=PERIOD.start,
            days=80,
            prefix="N",
            removal_cutoff=AS_OF,
        ),
        learnt_at=k + timedelta(days=3),
    )
    now = compute_scorecard(engine, period=PERIOD, as_of=k, by="provider")
    assert now["totals"]["removed"] > published["totals"]["removed"]
    again = compute_scorecard(engine, period=PERIOD, as_of=k, known_at=k, by="provider")
    assert again["known_at"] == "2026-07-16T01:00:00Z"
    assert {**without_times(again), "known_at": None} == without_times(published)


def test_empty_period(engine):
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="country")
    assert card["rows"] == []
    totals = card["totals"]
    assert (totals["notices"], totals["removed"], totals["median_hours"], totals["within_24h"]) == (
        0,
        0,
        None,
        None,
    )
    assert totals["previous"] is None and totals["low_volume"] is True
