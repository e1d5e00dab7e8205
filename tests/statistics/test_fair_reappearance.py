"""Re-appearance of removed content: matching, censoring against lifelines, where it came back."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.statistics.periods import parse_period
from monitor.statistics.reappearance import compute_reappearance
from monitor.store.models import QUEUE_UNRESOLVED, TICKET
from tests.resolution_rows import store_resolutions

LEARNT = datetime(2026, 12, 1, tzinfo=UTC)
T0 = datetime(2026, 7, 1, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
Q3 = parse_period("2026Q3")


def _hash(n: int) -> str:
    return f"{n:064x}"


def _store(engine, tickets: list[dict]) -> None:
    """Tickets: id, hash, reported (days after T0), removed (days or None), provider,
    and optionally notified (days), eu/inhope/country (stored as a resolution)."""
    with engine.begin() as connection:
        for t in tickets:
            connection.execute(
                TICKET.insert().values(
                    source=t.get("source", "default"),
                    ticket_id=t["id"],
                    url_hash=_hash(t["hash"]),
                    reported_at=T0 + timedelta(days=t["reported"]),
                    notified_at=T0 + timedelta(days=t["notified"]) if "notified" in t else None,
                    removed_at=T0 + timedelta(days=t["removed"])
                    if t.get("removed") is not None
                    else None,
                    stated_provider=t.get("stated"),
                    first_learnt_at=LEARNT,
                    last_learnt_at=LEARNT,
                )
            )
        connection.exec_driver_sql(QUEUE_UNRESOLVED)
        store_resolutions(
            connection,
            [
                {
                    "source": t.get("source", "default"),
                    "ticket_id": t["id"],
                    "provider": t["provider"],
                    "country": t.get("country"),
                    "eu": t.get("eu"),
                    "inhope": t.get("inhope"),
                    "resolved_at": LEARNT,
                }
                for t in tickets
                if "provider" in t
            ],
        )


NL = {"country": "NL", "eu": True, "inhope": True}
GB = {"country": "GB", "eu": False, "inhope": True}
AE = {"country": "AE", "eu": False, "inhope": False}

TICKETS = [
    # Host A: four removed items
    {"id": "a1", "hash": 1, "reported": 1, "removed": 2, "provider": "Host A", **NL},
    {"id": "a1-back", "hash": 1, "reported": 12, "provider": "Host A", **NL},  # 10 d, same
    {"id": "a2", "hash": 2, "reported": 3, "removed": 5, "provider": "Host A", **NL},
    {"id": "a2-back", "hash": 2, "reported": 65, "provider": "Host B", **GB},  # 60 d, inside
    {"id": "a3", "hash": 3, "reported": 10, "removed": 10.5, "provider": "Host A", **NL},
    {"id": "a3-back", "hash": 3, "reported": 130.5, "source": "feed", "provider": "Far", **AE},
    {"id": "a4", "hash": 4, "reported": 20, "removed": 21, "provider": "Host A", **NL},  # never
    # Host B: removed; the re-report is the same moment as the removal (not after), then later
    {"id": "b1", "hash": 5, "reported": 30, "removed": 31, "provider": "Host B", **GB},
    {"id": "b1-same", "hash": 5, "reported": 31, "provider": "Host B", **GB},
    {"id": "b1-back", "hash": 5, "reported": 46, "stated": "Someone"},  # 15 d, unresolved
    # Host B: still online: no removed item
    {"id": "b2", "hash": 6, "reported": 40, "provider": "Host B", **GB},
    {"id": "b2-again", "hash": 6, "reported": 50, "provider": "Host B", **GB},
    # Host B: removed in Q3, re-reported after as_of: censored at as_of
    {"id": "b3", "hash": 7, "reported": 80, "removed": 85, "provider": "Host B", **GB},
    {"id": "b3-late", "hash": 7, "reported": 160, "provider": "Host B", **GB},
    # clock start (notice) after Q3: not an item of Q3, though reported in it
    {"id": "c1", "hash": 8, "reported": 91, "notified": 93, "removed": 94, "provider": "Host C"},
    {"id": "c1-back", "hash": 8, "reported": 100, "provider": "Host C"},
]
DAYS_TO_AS_OF = (AS_OF - T0).days  # 153


def _lifelines_share(durations, events, t):
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter(alpha=0.05).fit(np.array(durations, float), np.array(events, bool))
    bands = kmf.confidence_interval_survival_function_
    s = float(kmf.predict(t))
    at = bands.index.searchsorted(t, side="right") - 1
    low, high = bands.iloc[at, 0], bands.iloc[at, 1]
    return 1 - s, 1 - high, 1 - low


def test_counts_where_and_censoring_against_lifelines(engine):
    _store(engine, TICKETS)
    figures = compute_reappearance(engine, period=Q3, as_of=AS_OF)
    host_a, host_b = figures["Host A"], figures["Host B"]
    assert "Host C" not in figures
    counts = ("removed", "reappeared", "reappeared_30d", "reappeared_90d")
    assert {k: host_a[k] for k in counts} == {
        "removed": 4,
        "reappeared": 3,
        "reappeared_30d": 1,
        "reappeared_90d": 2,
    }
    assert host_a["reappeared_where"] == {
        "same_provider": 1,
        "other_inside": 1,
        "outside": 1,
        "unknown": 0,
    }
    assert host_b["removed"] == 2 and host_b["reappeared"] == 1
    assert host_b["reappeared_where"]["unknown"] == 1
    # Host A: 10, 60 and 120 days back; a4 censored at as_of (153 - 21 = 132 days)
    durations = [10, 60, 120, DAYS_TO_AS_OF - 21]
    events = [1, 1, 1, 0]
    for window in (30, 90):
        share, low, high = _lifelines_share(durations, events, window)
        assert host_a[f"reappeared_{window}d_share"] == pytest.approx(share, abs=1e-9)
        got_low, got_high = host_a[f"reappeared_{window}d_share_ci"]
        assert got_low == pytest.approx(low, abs=1e-6)
        assert got_high == pytest.approx(high, abs=1e-6)
    # Host B: 15 days back; b3 censored at as_of (153 - 85 = 68 days): 90 days is beyond
    # its follow-up with S > 0, so that share is unknown rather than a made-up number.
    b_durations, b_events = [15, DAYS_TO_AS_OF - 85], [1, 0]
    share, low, high = _lifelines_share(b_durations, b_events, 30)
    assert host_b["reappeared_30d_share"] == pytest.approx(share, abs=1e-9)
    assert host_b["reappeared_30d_share_ci"][0] == pytest.approx(low, abs=1e-6)
    assert host_b["reappeared_90d_share"] is None
    total = figures["all"]
    assert (total["removed"], total["reappeared"]) == (6, 4)
    share, _, _ = _lifelines_share(durations + b_durations, events + b_events, 30)
    assert total["reappeared_30d_share"] == pytest.approx(share, abs=1e-9)


def test_an_earlier_as_of_censors_and_leaves_later_reports_out(engine):
    _store(engine, TICKETS)
    as_of = T0 + timedelta(days=40)
    figures = compute_reappearance(engine, period=Q3, as_of=as_of)
    # a3 came back on day 130.5: after this as_of, so it is censored at 29.5 days
    assert figures["Host A"]["removed"] == 4
    assert figures["Host A"]["reappeared"] == 1
    assert figures["Host A"]["reappeared_where"]["same_provider"] == 1
    # b3 was removed after this as_of: not an item yet
    assert figures["Host B"]["removed"] == 1


def test_no_removals_give_only_an_empty_total(engine):
    figures = compute_reappearance(engine, period=Q3, as_of=AS_OF)
    assert figures == {
        "all": {
            "removed": 0,
            "reappeared": 0,
            "reappeared_30d": 0,
            "reappeared_90d": 0,
            "reappeared_30d_share": None,
            "reappeared_30d_share_ci": [None, None],
            "reappeared_90d_share": None,
            "reappeared_90d_share_ci": [None, None],
            "reappeared_where": {"same_provider": 0, "other_inside": 0, "outside": 0, "unknown": 0},
        }
    }


def test_nothing_back_gives_a_clopper_pearson_interval_not_a_zero_width_one(engine):
    from scipy.stats import binomtest

    _store(
        engine,
        [
            {"id": f"z{i}", "hash": 100 + i, "reported": i, "removed": i + 1, "provider": "Z"}
            for i in range(5)
        ],
    )
    figures = compute_reappearance(engine, period=Q3, as_of=AS_OF)["Z"]
    assert figures["removed"] == 5 and figures["reappeared"] == 0
    assert figures["reappeared_30d_share"] == 0.0
    expected = binomtest(0, 5).proportion_ci(confidence_level=0.95, method="exact")
    assert figures["reappeared_30d_share_ci"] == pytest.approx([0.0, expected.high], abs=1e-12)


def test_known_at_takes_tickets_as_they_were_known(engine):
    import sqlalchemy as sa

    from monitor.store.models import RESOLUTION, TicketEvent

    _store(engine, TICKETS)
    known_at = LEARNT - timedelta(days=10)
    later = LEARNT  # every ticket was learnt at LEARNT: first make them known earlier
    removal_of_a3 = (T0 + timedelta(days=10.5)).isoformat()
    with engine.begin() as connection:
        connection.execute(
            TICKET.update().values(
                first_learnt_at=known_at - timedelta(days=1),
                last_learnt_at=known_at - timedelta(days=1),
            )
        )
        connection.execute(RESOLUTION.update().values(resolved_at=known_at - timedelta(days=1)))
        # a3's removal was learnt after K: at K it was still online
        connection.execute(
            TICKET.update().where(TICKET.c.ticket_id == "a3").values(last_learnt_at=later)
        )
        connection.execute(
            sa.insert(TicketEvent.__table__).values(
                source="default",
                ticket_id="a3",
                field="removed_at",
                old_value=None,
                new_value=removal_of_a3,
                learnt_at=later,
            )
        )
        # a1's re-report was first learnt after K: not known then
        connection.execute(
            TICKET.update()
            .where(TICKET.c.ticket_id == "a1-back")
            .values(first_learnt_at=later, last_learnt_at=later)
        )
    now = compute_reappearance(engine, period=Q3, as_of=AS_OF)["Host A"]
    then = compute_reappearance(engine, period=Q3, as_of=AS_OF, known_at=known_at)["Host A"]
    assert (now["removed"], now["reappeared"]) == (4, 3)
    assert (then["removed"], then["reappeared"]) == (3, 1)
    assert then["reappeared_where"]["other_inside"] == 1
