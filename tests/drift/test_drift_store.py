"""Stored drift flags: idempotent re-runs, episodes, acknowledgement, `--as-of` reproducibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.drift import run_drift
from monitor.drift.store import DriftFlag, acknowledge, key_digest, list_flags, store_flags
from monitor.store.models import Ticket
from tests.drift.test_drift_scenarios import (
    AS_OF,
    baseline_times,
    insert,
    recent_times,
    stable_providers,
    ticket,
    url,
)

RESELLER = "Example Reseller Ltd"


def _reseller_moves(engine) -> None:
    insert(
        engine,
        stable_providers()
        + [ticket(RESELLER, "NL", t) for t in baseline_times(40)]
        + [ticket(RESELLER, "AE", t) for t in recent_times(25)],
    )


def _stored(engine) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(sa.select(DriftFlag.__table__)).mappings()]


def _relocation(result: dict) -> dict:
    (flag,) = [f for f in result["flags"] if f["kind"] == "provider_relocated"]
    return flag


def test_a_rerun_updates_the_stored_flags_instead_of_adding_new_ones(engine):
    _reseller_moves(engine)
    first = run_drift(engine, as_of=AS_OF)
    stored = _stored(engine)
    second = run_drift(engine, as_of=AS_OF)
    assert [f["id"] for f in second["flags"]] == [f["id"] for f in first["flags"]]
    assert second == first
    again = _stored(engine)
    assert len(again) == len(stored) == len(first["flags"]) >= 2
    by_id = {row["id"]: row for row in stored}
    for row in again:
        assert row["first_seen"] == by_id[row["id"]]["first_seen"]
        assert row["last_seen"] >= by_id[row["id"]]["last_seen"]


def test_a_daily_run_with_a_sliding_window_keeps_one_flag_per_episode(engine):
    _reseller_moves(engine)
    first = _relocation(run_drift(engine, as_of=AS_OF))
    next_day = _relocation(run_drift(engine, as_of=AS_OF + timedelta(days=1)))
    assert next_day["id"] == first["id"]
    assert next_day["window"]["to"] == "2026-10-02T00:00:00Z"
    (row,) = [r for r in _stored(engine) if r["id"] == first["id"]]
    assert row["window_to"] == AS_OF + timedelta(days=1)
    assert row["episode_from"] == AS_OF - timedelta(days=30)
    assert len(_stored(engine)) == 2  # the relocation and the overall shift, once each


def test_an_acknowledgement_survives_later_runs(engine):
    _reseller_moves(engine)
    flag = _relocation(run_drift(engine, as_of=AS_OF))
    acked = acknowledge(
        engine, flag["id"][:8], note="Escalated to the AE regulator.", by="analyst-7"
    )
    assert acked["status"] == "acknowledged"
    assert acked["acknowledgement"]["note"] == "Escalated to the AE regulator."
    assert acked["acknowledgement"]["by"] == "analyst-7"
    for as_of in (AS_OF, AS_OF + timedelta(days=3)):
        again = _relocation(run_drift(engine, as_of=as_of))
        assert (again["id"], again["status"]) == (flag["id"], "acknowledged")
    assert flag["id"] not in {f["id"] for f in list_flags(engine)}
    (stored,) = [f for f in list_flags(engine, include_acknowledged=True) if f["id"] == flag["id"]]
    assert stored["acknowledgement"]["note"] == "Escalated to the AE regulator."
    assert stored["window"]["to"] == "2026-10-04T00:00:00Z"


def test_acknowledgement_notes_never_keep_a_raw_url(engine):
    _reseller_moves(engine)
    flag = _relocation(run_drift(engine, as_of=AS_OF))
    acked = acknowledge(
        engine, flag["id"], note="same as https://bad.example/x?y=1 last month", by="a"
    )
    assert "bad.example" not in acked["acknowledgement"]["note"]
    assert acked["acknowledgement"]["note"] == "same as [redacted: raw URL] last month"


def test_acknowledging_needs_a_known_unambiguous_id_and_a_note(engine):
    _reseller_moves(engine)
    run_drift(engine, as_of=AS_OF)
    with pytest.raises(LookupError, match="no drift flag with id 'abcdef00'"):
        acknowledge(engine, "abcdef00", note="x", by="a")
    with pytest.raises(LookupError, match="give at least 6 of its hex characters"):
        acknowledge(engine, "abc", note="x", by="a")
    with pytest.raises(LookupError, match="is not a flag id"):
        acknowledge(engine, "%%%%%%%", note="x", by="a")
    flag_id = _stored(engine)[0]["id"]
    with pytest.raises(ValueError, match="needs a note"):
        acknowledge(engine, flag_id, note="   ", by="a")


def test_an_ambiguous_prefix_is_refused(engine):
    window = {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    rows = [
        {
            "id": f"abcdef000000000{i}",
            "key": key_digest(("jurisdiction_shift", str(i))),
            "kind": "jurisdiction_shift",
            "subject": str(i),
            "from_jurisdiction": "{}",
            "to_jurisdiction": "{}",
            "episode_from": AS_OF - timedelta(days=30),
            "window_from": AS_OF - timedelta(days=30),
            "window_to": AS_OF,
            "detail": "d",
            "evidence": "{}",
            "as_of": AS_OF,
            "first_seen": AS_OF,
            "last_seen": AS_OF,
            "status": "open",
        }
        for i in (1, 2)
    ]
    with engine.begin() as connection:
        connection.execute(DriftFlag.__table__.insert(), rows)
    with pytest.raises(LookupError, match="flag id 'ABCDEF' is ambiguous: give more characters"):
        acknowledge(engine, "ABCDEF", note="x", by="a")
    assert acknowledge(engine, "abcdef0000000002", note="x", by="a")["subject"] == "2"
    assert window == list_flags(engine)[0]["window"]


def test_an_earlier_as_of_never_overwrites_newer_figures(engine):
    _reseller_moves(engine)
    later = _relocation(run_drift(engine, as_of=AS_OF + timedelta(days=2)))
    earlier = _relocation(run_drift(engine, as_of=AS_OF))
    assert earlier["id"] == later["id"]
    assert earlier["window"]["to"] == "2026-10-01T00:00:00Z"  # what was computed for that date
    (row,) = [r for r in _stored(engine) if r["id"] == later["id"]]
    assert row["as_of"] == AS_OF + timedelta(days=2) and row["window_to"] == AS_OF + timedelta(
        days=2
    )


def test_a_drift_that_returns_after_a_gap_is_a_new_episode(engine):
    base = {
        "kind": "provider_relocated",
        "subject": RESELLER,
        "detail": "d",
        "from": {},
        "to": {},
        "evidence": {},
        "key": key_digest(("provider_relocated", RESELLER, "NL", "AE")),
    }
    september = {**base, "window": {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}}
    december = {**base, "window": {"from": "2026-12-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}}
    (first,) = store_flags(engine, [september], as_of=AS_OF)
    (second,) = store_flags(engine, [december], as_of=AS_OF + timedelta(days=91))
    assert first["id"] != second["id"]
    assert {f["id"] for f in list_flags(engine)} == {first["id"], second["id"]}


def test_as_of_gives_the_flags_as_they_stood_then(engine):
    _reseller_moves(engine)
    insert(
        engine, [ticket("Slow Starter", "DE", t, hours_to_removal=3) for t in baseline_times(40)]
    )
    insert(
        engine, [ticket("Slow Starter", "DE", t, hours_to_removal=None) for t in recent_times(30)]
    )
    insert(engine, [ticket("Dutch Host", "NL", AS_OF - timedelta(days=60), url_hash=url("late"))])
    before = run_drift(engine, as_of=AS_OF, store=False)
    # Later reports (a re-report outside among them) are not known as of AS_OF.
    insert(engine, [ticket(RESELLER, "AE", AS_OF + timedelta(hours=h)) for h in range(1, 40)])
    insert(engine, [ticket("Offshore", "HK", AS_OF + timedelta(hours=5), url_hash=url("late"))])
    # Notices still open at AS_OF and removed later count as open at AS_OF.
    with engine.begin() as connection:
        connection.execute(
            sa.update(Ticket.__table__)
            .where(Ticket.__table__.c.removed_at.is_(None))
            .values(removed_at=AS_OF + timedelta(days=1))
        )
    assert run_drift(engine, as_of=AS_OF, store=False) == before
    assert {(f["kind"], f["subject"]) for f in before["flags"]} == {
        ("provider_relocated", RESELLER),
        ("jurisdiction_shift", "all"),
        ("removal_slowdown", "Slow Starter"),
    }
    assert "id" not in before["flags"][0] and _stored(engine) == []


def test_concurrent_runs_store_each_flag_once(engine):
    import threading

    _reseller_moves(engine)
    results, errors = [], []
    barrier = threading.Barrier(4)

    def run():
        try:
            barrier.wait()
            results.append(run_drift(engine, as_of=AS_OF))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({tuple(f["id"] for f in result["flags"]) for result in results}) == 1
    assert len(_stored(engine)) == len(results[0]["flags"]) == 2
