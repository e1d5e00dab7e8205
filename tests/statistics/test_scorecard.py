"""The scorecard from the database (SQLite and PostgreSQL): figures against lifelines on the
tickets' own durations, period membership, `--as-of` / `--known-at`, low volume and ranks,
the previous period, and the JSON keys and types of the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.statistics.norms import Norm, StatisticsConfig
from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard import compute_scorecard
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
    "category": str,
    "counts": dict,
    "median_hours_ci_estimable": bool,
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
        "complete": True,
        "days_elapsed": 91.0,
        "days": 91.0,
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
            assert set(entry) == {"share", "ci", "removed", "known"} and len(entry["ci"]) == 2
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


def _resolve_by_name_only(engine, specs, resolved_at):
    """Resolutions as the embedded (offline) data gives them: AS names, no AS numbers."""
    from tests.resolution_rows import store_resolutions

    spelled = {  # two spellings of one organisation must land in one row
        "alpha-hosting": ["Alpha Hosting BV", "ALPHA HOSTING B.V."],
        "beta-cloud": ["Beta Cloud Ltd"],
        "gamma-net": ["Gamma Net LLC"],
        "delta-host": ["Delta Host FZE"],
        "<script>x</script>": ["Hostile & Name"],
    }
    rows = []
    for index, spec in enumerate(specs):
        if spec.provider is None:
            continue
        _asn, _network, country, eu, inhope, cdn = data.PROVIDERS[spec.provider]
        names = spelled[spec.provider]
        rows.append(
            {
                "source": "default",
                "ticket_id": spec.ticket_id,
                "provider": spec.provider,
                "asn": None,
                "network": names[index % len(names)],
                "country": country,
                "eu": eu,
                "inhope": inhope,
                "cdn": cdn,
                "resolved_at": resolved_at,
            }
        )
    with engine.begin() as connection:
        store_resolutions(connection, rows)


def test_network_rows_without_as_numbers_group_by_the_as_name(engine):
    rng = np.random.default_rng(11)
    specs = data.generate(
        rng, 400, start=datetime(2026, 1, 1, tzinfo=UTC), days=181, removal_cutoff=AS_OF
    )
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=1))
    _resolve_by_name_only(engine, specs, resolved_at=AS_OF + timedelta(days=1))
    card = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="network")
    expected = expected_rows(specs, PERIOD, AS_OF, lambda s, w: s.provider or "unknown")
    rows = {row["key"]: row for row in card["rows"]}
    # Only tickets that were never resolved are unknown; every resolved one has its network.
    assert rows["unknown"]["notices"] == len(expected.get("unknown", []))
    assert rows["unknown"]["network_id"] == "unknown"
    keys = {
        "alpha-hosting": "name:alpha hosting",
        "beta-cloud": "name:beta cloud",
        "gamma-net": "name:gamma net",
        "delta-host": "name:delta host",
        "<script>x</script>": "name:hostile and name",
    }
    for provider, (_asn, network, *_rest) in data.PROVIDERS.items():
        if provider not in expected:
            continue
        row = rows[keys[provider]]
        assert row["name"].casefold().startswith(network.casefold().split()[0])
        assert row["asn"] is None
        assert row["network_id"] == "AS name, no AS number (embedded network data)"
        assert_row_matches(row, expected[provider])
    # The two spellings of Alpha Hosting are one row.
    assert sum("alpha" in row["name"].casefold() for row in card["rows"]) == 1


def test_unknown_and_cdn_rows_are_never_ranked(engine):
    rng = np.random.default_rng(5)
    specs = data.generate(
        rng, 600, start=datetime(2026, 1, 1, tzinfo=UTC), days=181, removal_cutoff=AS_OF
    )
    from tests.resolution_rows import store_resolutions

    behind_cdn = []
    for index, spec in enumerate(specs[::7]):
        spec.stated_provider = None
        if index % 2:
            behind_cdn.append(spec)
        spec.provider = None
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=1))
    data.resolve(engine, specs, resolved_at=AS_OF + timedelta(days=1))
    with engine.begin() as connection:
        store_resolutions(
            connection,
            [
                {
                    "source": "default",
                    "ticket_id": spec.ticket_id,
                    "provider": "unknown (behind Cloudflare)",
                    "asn": 13335,
                    "network": "Cloudflare, Inc.",
                    "country": "US",
                    "eu": False,
                    "inhope": True,
                    "cdn": True,
                    "resolved_at": AS_OF + timedelta(days=1),
                }
                for spec in behind_cdn
            ],
        )
    card = compute_scorecard(
        engine, period=PERIOD, as_of=AS_OF, by="provider", config=StatisticsConfig(min_notices=5)
    )
    rows = {row["key"]: row for row in card["rows"]}
    assert rows["unknown"]["category"] == "unknown" and rows["unknown"]["rank"] is None
    assert rows["unknown"]["notices"] >= 5 and not rows["unknown"]["low_volume"]
    behind = rows["unknown (behind Cloudflare)"]
    assert behind["category"] == "cdn" and behind["rank"] is None
    ranked = sorted((r for r in card["rows"] if r["rank"] is not None), key=lambda r: r["rank"])
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r["category"] == "provider" for r in ranked)


def _small_store(engine, outcomes):
    """One ticket per (provider, hours to removal or None for still online, checked hours)."""
    specs = []
    start = datetime(2026, 5, 1, tzinfo=UTC)
    for index, (provider, removal, checked) in enumerate(outcomes):
        reported = start + timedelta(hours=index)
        specs.append(
            data.Spec(
                ticket_id=f"s{index}",
                reported_at=reported,
                notified_at=reported,
                removed_at=None if removal is None else reported + timedelta(hours=removal),
                checked_at=None if checked is None else reported + timedelta(hours=checked),
                provider=provider,
                stated_provider=None,
                stated_country=None,
            )
        )
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=1))
    data.resolve(engine, specs, resolved_at=AS_OF + timedelta(days=1))
    return compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")


def test_small_counts_get_wilson_intervals_never_zero_width(engine):
    from scipy.stats import binomtest

    outcomes = [("alpha-hosting", h, None) for h in (2.0, 5.0, 30.0, 100.0)]  # 2 of 4 in 24 h
    outcomes += [("beta-cloud", h, None) for h in (1.0, 3.0, 4.0)]  # 3 of 3 within 24 h
    outcomes += [("gamma-net", None, None)]  # 0 of 1, still online
    # Censored before 24 h and all the rest removed: Kaplan-Meier at 0, Greenwood [0, 0].
    outcomes += [("delta-host", h, None) for h in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)]
    outcomes += [("delta-host", None, 0.5)]
    card = _small_store(engine, outcomes)
    rows = {row["key"]: row for row in card["rows"]}
    expected = {
        "alpha-hosting": (2, 4),
        "beta-cloud": (3, 3),
        "gamma-net": (0, 1),
        "delta-host": (7, 7),
    }
    for key, (removed, known) in expected.items():
        row = rows[key]
        want = binomtest(removed, known).proportion_ci(method="wilson")
        assert row["counts"]["within_24h"] == {"removed": removed, "known": known}
        assert row["within_24h_ci"][0] == pytest.approx(want.low, abs=1e-12), key
        assert row["within_24h_ci"][1] == pytest.approx(want.high, abs=1e-12), key
        assert row["within_24h_ci"][1] - row["within_24h_ci"][0] > 0.2, key
        assert row["low_volume"] and row["rank"] is None
    # Fewer than 6 tickets: no median interval is claimed.
    for key in ("alpha-hosting", "beta-cloud", "gamma-net"):
        assert rows[key]["median_hours_ci"] == [None, None]
        assert rows[key]["median_hours_ci_estimable"] is False
    assert rows["delta-host"]["median_hours_ci_estimable"] is True
    lo, hi = rows["delta-host"]["median_hours_ci"]
    assert lo is not None and (hi is None or hi > lo)
