"""monitor.statistics.ticket_frame: per-ticket clock start, durations, censoring and `--known-at`
replay, read from the database (SQLite and PostgreSQL) and checked against plain
datetime arithmetic on the generated tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from monitor.statistics.ticket_frame import load_frame, to_us
from monitor.store.models import Ticket
from tests import survival_data as data

AS_OF = datetime(2026, 7, 20, tzinfo=UTC)


def by_ticket(frame, specs):
    """Map the frame's entries back to specs through url_hash (unique per generated ticket)."""
    index = {spec.url_hash.encode(): spec for spec in specs}
    return [index[h] for h in frame.url_hash]


def test_frame_matches_contract_definitions(engine):
    rng = np.random.default_rng(1)
    # Reported until 2 days after as_of; removals and checks known until 3 days after.
    specs = data.generate(
        rng, 400, start=data.UTC_START, days=112, removal_cutoff=AS_OF + timedelta(days=3)
    )
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=4))
    data.resolve(engine, specs, resolved_at=AS_OF + timedelta(days=4))
    frame = load_frame(engine, as_of=AS_OF)
    expected_in = [s for s in specs if (s.notified_at or s.reported_at) <= AS_OF]
    assert len(frame) == len(expected_in) and len(expected_in) < len(specs)
    providers, countries = frame.provider.values(), frame.country.values()
    for i, spec in enumerate(by_ticket(frame, specs)):
        want = data.expected(spec, AS_OF)
        assert frame.clock_start[i] == to_us(want["clock"])
        assert bool(frame.event[i]) == want["event"]
        assert bool(frame.removed_before_notice[i]) == want["before_notice"]
        if want["duration"] is None:
            assert np.isnan(frame.duration_hours[i])
        else:
            assert frame.duration_hours[i] == pytest.approx(want["duration"], abs=1e-12)
        assert providers[i] == want["provider"]
        assert countries[i] == want["country"]
        if spec.provider is None:
            assert frame.asn[i] == -1 and frame.eu[i] == -1 and frame.cdn[i] == -1
        else:
            asn, network, _country, eu, inhope, cdn = data.PROVIDERS[spec.provider]
            assert (frame.asn[i], frame.eu[i], frame.inhope[i], frame.cdn[i]) == (
                asn,
                eu,
                inhope,
                cdn,
            )
            assert frame.network.values()[i] == network
        assert frame.source.values()[i] == "default"
    assert (
        frame.event.any()
        and (~frame.event & frame.in_curve).any()
        and frame.removed_before_notice.any()
    )


def test_window_is_half_open_on_clock_start(engine):
    base = datetime(2026, 7, 1, tzinfo=UTC)
    specs = [
        data.Spec(
            "edge-from", base - timedelta(hours=5), base, None, None, "alpha-hosting", None, None
        ),
        data.Spec(
            "edge-to", base, base + timedelta(days=10), None, None, "alpha-hosting", None, None
        ),
        data.Spec(
            "reported-before",
            base - timedelta(hours=1),
            None,
            None,
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "after-as-of", base + timedelta(days=3), None, None, None, "alpha-hosting", None, None
        ),
    ]
    data.ingest(engine, specs, learnt_at=base + timedelta(days=20))
    frame = load_frame(
        engine, as_of=base + timedelta(days=2), start=base, end=base + timedelta(days=10)
    )
    # notified_at decides (clock start): "edge-from" is in (notified at `from`), "edge-to" is
    # out (notified at `to`), "reported-before" out, "after-as-of" not started by as_of.
    assert [s.ticket_id for s in by_ticket(frame, specs)] == ["edge-from"]


def test_censoring_rules(engine):
    clock = datetime(2026, 7, 1, tzinfo=UTC)
    as_of = clock + timedelta(hours=100)
    specs = [
        data.Spec(
            "removed-before-as-of",
            clock,
            clock,
            clock + timedelta(hours=10),
            None,
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "removed-after-as-of",
            clock,
            clock,
            clock + timedelta(hours=150),
            clock + timedelta(hours=40),
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "checked-after-as-of",
            clock,
            clock,
            None,
            clock + timedelta(hours=120),
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec(
            "checked-before-notice",
            clock - timedelta(hours=3),
            clock,
            None,
            clock - timedelta(hours=2),
            "alpha-hosting",
            None,
            None,
        ),
        data.Spec("never-checked", clock, clock, None, None, "alpha-hosting", None, None),
    ]
    data.ingest(engine, specs, learnt_at=clock + timedelta(hours=200))
    frame = load_frame(engine, as_of=as_of)
    got = {
        s.ticket_id: (frame.duration_hours[i], bool(frame.event[i]))
        for i, s in enumerate(by_ticket(frame, specs))
    }
    assert got == {
        "removed-before-as-of": (10.0, True),
        "removed-after-as-of": (40.0, False),  # a later removal counts as still online at as_of
        "checked-after-as-of": (100.0, False),
        "checked-before-notice": (0.0, False),
        "never-checked": (100.0, False),
    }


def test_later_removals_do_not_change_a_past_as_of(engine):
    rng = np.random.default_rng(2)
    first_learnt = datetime(2026, 7, 1, tzinfo=UTC)
    specs = data.generate(rng, 300, start=data.UTC_START, days=80, removal_cutoff=first_learnt)
    data.ingest(engine, specs, learnt_at=first_learnt)
    before = load_frame(engine, as_of=first_learnt)
    # Later rows add removals (and checks) after first_learnt for tickets still open.
    later = []
    for spec in specs:
        if (
            spec.removed_at is None
            and spec.notified_at
            and spec.notified_at < first_learnt - timedelta(days=5)
        ):
            later.append(
                data.Spec(**{**spec.__dict__, "removed_at": first_learnt + timedelta(hours=7)})
            )
    assert len(later) > 10
    data.ingest(engine, later, learnt_at=first_learnt + timedelta(days=2))
    after = load_frame(engine, as_of=first_learnt)
    order_b, order_a = np.argsort(before.url_hash), np.argsort(after.url_hash)
    assert np.array_equal(
        before.duration_hours[order_b], after.duration_hours[order_a], equal_nan=True
    )
    assert np.array_equal(before.event[order_b], after.event[order_a])
    assert after.event.sum() == before.event.sum()
    assert load_frame(
        engine, as_of=first_learnt + timedelta(days=3)
    ).event.sum() == before.event.sum() + len(later)


def _columns(frame):
    order = np.argsort(frame.url_hash)
    return {
        "url_hash": frame.url_hash[order],
        "clock": frame.clock_start[order],
        "duration": frame.duration_hours[order],
        "event": frame.event[order],
        "before": frame.removed_before_notice[order],
        "provider": frame.provider.values()[order],
        "country": frame.country.values()[order],
        "asn": frame.asn[order],
        "eu": frame.eu[order],
    }


def assert_same_frame(a, b):
    ca, cb = _columns(a), _columns(b)
    for name in ca:
        if ca[name].dtype.kind == "f":
            assert np.array_equal(ca[name], cb[name], equal_nan=True), name
        else:
            assert list(ca[name]) == list(cb[name]), name


def test_known_at_replays_what_was_known(engine, tmp_path):
    """A frame `--known-at K` equals the frame of a database that only got what came by K."""
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    rng = np.random.default_rng(3)
    k = datetime(2026, 7, 1, tzinfo=UTC)
    early = data.generate(
        rng, 250, start=data.UTC_START, days=80, removal_cutoff=k - timedelta(days=1)
    )
    data.ingest(engine, early, learnt_at=k - timedelta(days=1))
    resolved_early = early[:150]
    data.resolve(engine, resolved_early, resolved_at=k - timedelta(hours=12))

    # What the past database held at K (independent: a separate store fed only those rows).
    past = make_engine(f"sqlite:///{tmp_path / 'past.db'}")
    upgrade(past)
    data.ingest(past, early, learnt_at=k - timedelta(days=1))
    data.resolve(past, resolved_early, resolved_at=k - timedelta(hours=12))

    # After K: removals, corrected notice times and providers, new tickets, more resolution.
    changed = []
    for i, spec in enumerate(early):
        update = dict(spec.__dict__)
        if spec.removed_at is None and spec.notified_at is not None:
            update["removed_at"] = spec.notified_at + timedelta(hours=3)
        if i % 7 == 0 and spec.notified_at is not None:
            update["notified_at"] = spec.notified_at + timedelta(hours=1)
            if update["removed_at"] is not None and update["removed_at"] < update["notified_at"]:
                update["removed_at"] = update["notified_at"]
        if i % 5 == 0:
            update["stated_provider"] = "renamed-by-hotline"
            update["stated_country"] = "FR"
        changed.append(data.Spec(**update))
    data.ingest(engine, changed, learnt_at=k + timedelta(days=2))
    newer = data.generate(rng, 60, start=data.UTC_START, days=80, removal_cutoff=k, prefix="N")
    data.ingest(engine, newer, learnt_at=k + timedelta(days=3))
    data.resolve(engine, early[150:] + newer, resolved_at=k + timedelta(days=4))  # the pending ones

    as_of = k - timedelta(days=2)
    for window in (
        {},
        {"start": datetime(2026, 5, 1, tzinfo=UTC), "end": datetime(2026, 6, 1, tzinfo=UTC)},
    ):
        replayed = load_frame(engine, as_of=as_of, known_at=k, **window)
        assert_same_frame(replayed, load_frame(past, as_of=as_of, **window))
        assert len(replayed) > 0
    # and the present differs (the test would be empty otherwise)
    now = load_frame(engine, as_of=as_of)
    assert len(now) > len(load_frame(past, as_of=as_of)) or not np.array_equal(
        np.sort(now.duration_hours),
        np.sort(load_frame(past, as_of=as_of).duration_hours),
        equal_nan=True,
    )
    past.dispose()


def test_known_at_before_a_ticket_was_learnt_leaves_it_out(engine):
    clock = datetime(2026, 7, 1, tzinfo=UTC)
    data.ingest(
        engine,
        [data.Spec("A", clock, clock, None, None, None, "x", None)],
        learnt_at=clock + timedelta(days=1),
    )
    data.ingest(
        engine,
        [data.Spec("B", clock, clock, None, None, None, "y", None)],
        learnt_at=clock + timedelta(days=3),
    )
    frame = load_frame(engine, as_of=clock + timedelta(days=5), known_at=clock + timedelta(days=2))
    assert list(frame.provider.values()) == ["x"]


def test_a_wide_window_is_read_by_a_full_scan_with_the_same_result(sqlite_engine, monkeypatch):
    from monitor.statistics import ticket_frame

    rng = np.random.default_rng(5)
    specs = data.generate(rng, 300, start=data.UTC_START, days=100, removal_cutoff=AS_OF)
    data.ingest(sqlite_engine, specs, learnt_at=AS_OF)
    seen = []
    original = ticket_frame.TicketQuery.current_rows

    def spy(self, **kwargs):
        sql, params = original(self, **kwargs)
        seen.append("NOT INDEXED" in sql)
        return sql, params

    monkeypatch.setattr(ticket_frame.TicketQuery, "current_rows", spy)
    wide = load_frame(sqlite_engine, as_of=AS_OF)
    narrow = load_frame(
        sqlite_engine,
        as_of=AS_OF,
        start=datetime(2026, 5, 1, tzinfo=UTC),
        end=datetime(2026, 5, 8, tzinfo=UTC),
    )
    assert seen == [True, False]
    from monitor.statistics import ticket_query

    monkeypatch.setattr(ticket_query, "FULL_SCAN_SHARE", 2.0)  # never scan
    assert_same_frame(load_frame(sqlite_engine, as_of=AS_OF), wide)
    assert seen[-1] is False and 0 < len(narrow) < len(wide)


def test_empty_store_gives_an_empty_frame(engine):
    frame = load_frame(engine, as_of=datetime(2026, 7, 1, tzinfo=UTC))
    assert len(frame) == 0 and frame.duration_hours.dtype == np.float64


def test_unexpected_stored_time_format_is_an_error(sqlite_engine):
    from monitor.core.errors import ReportError

    clock = datetime(2026, 7, 1, tzinfo=UTC)
    data.ingest(
        sqlite_engine, [data.Spec("A", clock, clock, None, None, None, "x", None)], learnt_at=clock
    )
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.update(Ticket.__table__).values(reported_at=sa.literal_column("'2026-07-01'"))
        )
    with pytest.raises(ReportError, match="timestamp format"):
        load_frame(sqlite_engine, as_of=clock + timedelta(days=1))
