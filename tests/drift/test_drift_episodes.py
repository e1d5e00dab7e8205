"""Drift episodes accumulate over the scheduler's weekly runs: one flag per episode, with
when it began, the union of its evidence and the latest figures; a new episode only after
the previous one closed; the quarter's reports read the flags from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from monitor.core.timeutil import iso
from monitor.drift import run_drift
from monitor.drift.store import RUN, list_flags, merge_evidence
from reports.period_flags import period_flags
from tests.drift.test_drift_scenarios import insert, spread, ticket, url

WAVE_FROM = datetime(2026, 7, 6, tzinfo=UTC)
WAVE_TO = datetime(2026, 9, 21, tzinfo=UTC)
Q3_FROM, Q3_TO = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)


def _wave(engine, n: int = 150, *, start=WAVE_FROM, end=WAVE_TO, label: str = "w") -> list:
    """n URLs hosted by a Dutch provider in spring, re-reported at an Emirati one in a wave."""
    earlier = spread(n, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 6, 25, tzinfo=UTC))
    later = spread(n, start, end)
    insert(
        engine,
        [ticket("Dutch Host", "NL", t, url_hash=url(f"{label}{i}")) for i, t in enumerate(earlier)]
        + [ticket("Gulf Host", "AE", t, url_hash=url(f"{label}{i}")) for i, t in enumerate(later)],
    )
    return later


def _weekly(engine, first: datetime, last: datetime) -> list[dict]:
    results, when = [], first
    while when <= last:
        results.append(run_drift(engine, as_of=when))
        when += timedelta(days=7)
    return results


def _url_flags(flags: list[dict]) -> list[dict]:
    return [flag for flag in flags if flag["kind"] == "url_relocated"]


def _runs(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(RUN))


def test_weekly_runs_keep_the_whole_wave_in_one_episode(engine):
    later = _wave(engine)
    results = _weekly(engine, datetime(2026, 7, 8, tzinfo=UTC), Q3_TO)
    # One run's 30-day window sees only part of the wave (about 60 of the 150 URLs) ...
    alone = run_drift(engine, as_of=Q3_TO, store=False)
    assert len(_url_flags(alone["flags"])[0]["evidence"]["url_hashes"]) < 80
    # ... but the stored episode keeps all of them, from when the wave began.
    (episode,) = _url_flags(list_flags(engine, include_acknowledged=True))
    assert len({r_flag["id"] for r in results for r_flag in _url_flags(r["flags"])}) == 1
    assert sorted(episode["evidence"]["url_hashes"]) == sorted(url(f"w{i}") for i in range(150))
    assert episode["evidence"]["url_hashes_more"] == 0
    assert len(episode["evidence"]["re_reports"]) == episode["evidence"]["tickets"] == 150
    assert episode["since"] == iso(later[0])
    assert episode["evidence"]["re_reported"] == {"from": iso(later[0]), "to": iso(later[-1])}
    assert episode["detail"].startswith("150 URLs were reported earlier at Dutch Host (NL)")
    assert episode["as_of"] == "2026-09-30T00:00:00Z" and episode["closed_at"] is None
    # The quarter's documents read it from the store: no drift run is made for them.
    runs = _runs(engine)
    flags = period_flags(engine, period_from=Q3_FROM, period_to=Q3_TO, as_of=Q3_TO)
    assert _runs(engine) == runs
    (quarter_flag,) = _url_flags(flags)
    assert quarter_flag["id"] == episode["id"] and quarter_flag["since"] == episode["since"]


def test_a_new_episode_starts_only_after_the_previous_one_closed(engine):
    _wave(engine, 60, start=datetime(2026, 7, 6, tzinfo=UTC), end=datetime(2026, 8, 1, tzinfo=UTC))
    _weekly(engine, datetime(2026, 7, 8, tzinfo=UTC), datetime(2026, 8, 26, tzinfo=UTC))
    (first,) = _url_flags(list_flags(engine))
    # The run of 9 September no longer sees a re-report in its window: the episode closes.
    run_drift(engine, as_of=datetime(2026, 9, 9, tzinfo=UTC))
    (closed,) = _url_flags(list_flags(engine))
    assert closed["id"] == first["id"] and closed["closed_at"] == "2026-09-09T00:00:00Z"
    # A second wave of the same pair is a new episode with its own start.
    _wave(
        engine,
        20,
        start=datetime(2026, 9, 12, tzinfo=UTC),
        end=datetime(2026, 9, 20, tzinfo=UTC),
        label="x",
    )
    run_drift(engine, as_of=datetime(2026, 9, 23, tzinfo=UTC))
    episodes = sorted(_url_flags(list_flags(engine)), key=lambda f: f["since"])
    assert [e["id"] == first["id"] for e in episodes] == [True, False]
    assert len(episodes[1]["evidence"]["url_hashes"]) == 20
    assert episodes[1]["since"].startswith("2026-09-12")
    # Both overlap Q3, and only the second one overlaps the days after 9 September.
    both = period_flags(engine, period_from=Q3_FROM, period_to=Q3_TO, as_of=Q3_TO)
    assert {f["id"] for f in _url_flags(both)} == {e["id"] for e in episodes}


def test_evidence_union_is_capped_with_a_count_of_the_rest():
    stored = {"url_hashes": ["a", "b"], "url_hashes_more": 0, "tickets": 2, "p": 1}
    latest = {"url_hashes": ["b", "c", "d"], "tickets": 3, "p": 2}
    merged = merge_evidence(stored, latest, cap=3, latest_is_newer=True)
    assert merged["url_hashes"] == ["a", "b", "c"] and merged["url_hashes_more"] == 1
    assert merged["p"] == 2  # the latest statistics
    older = merge_evidence(stored, latest, cap=3, latest_is_newer=False)
    assert older["p"] == 1 and older["url_hashes"] == ["a", "b", "c"]


def test_evidence_names_networks_without_as_numbers_without_a_question_mark(engine):
    from tests.drift.test_drift_scenarios import baseline_times, recent_times, stable_providers

    insert(
        engine,
        stable_providers()
        + [ticket("Reseller", "NL", t, asn=None) for t in baseline_times(40)]
        + [ticket("Reseller", "AE", t, asn=None) for t in recent_times(25)],
    )
    result = run_drift(engine, as_of=datetime(2026, 10, 1, tzinfo=UTC), store=False)
    (flag,) = [f for f in result["flags"] if f["kind"] == "provider_relocated"]
    text = repr(flag["evidence"])
    assert "AS?" not in text
    assert "IQWeb FZ-LLC (no AS number)" in text
    assert "LeaseWeb Netherlands B.V. (no AS number)" in text
