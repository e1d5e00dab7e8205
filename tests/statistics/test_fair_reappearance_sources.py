"""Re-appearance from the scorecard's frame: later reports inside and outside the frame's
window (after the period, before it through a notice dated before its report), against a
direct reading of the definition; and exact url_hash codes under a crafted collision."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.statistics.reappearance import WHERE, compute_reappearance
from monitor.statistics.scorecard import compute_scorecard
from monitor.statistics.ticket_frame import (
    _WORD_MULTIPLIERS,
    distinct_hashes,
    hash_codes,
    hash_keys,
    positions_in,
)
from tests.statistics.test_fair_reappearance import AS_OF, GB, NL, Q3, T0, TICKETS, _store

AE = {"country": "AE", "eu": False, "inhope": False}
PROFILES = [("Host A", NL), ("Host B", GB), ("Far", AE), (None, {})]


def _random_tickets(seed: int) -> list[dict]:
    """Tickets over Q2 to Q4 on few url_hashes: removals, re-reports, notices late and (now
    and then) dated before the report, reports after the period and after as_of."""
    rng = np.random.default_rng(seed)
    tickets = []
    for i in range(160):
        reported = float(rng.uniform(-100, 170))
        ticket = {"id": f"t{i}", "hash": int(rng.integers(0, 25)), "reported": reported}
        draw = rng.random()
        if draw < 0.15:
            ticket["notified"] = reported - float(rng.uniform(1, 120))  # notice before report
        elif draw < 0.6:
            ticket["notified"] = reported + float(rng.uniform(0, 40))
        if rng.random() < 0.7:
            ticket["removed"] = reported + float(rng.uniform(0, 60))
        provider, flags = PROFILES[int(rng.integers(0, len(PROFILES)))]
        if provider is None:
            ticket["stated"] = "Someone"
        else:
            ticket.update(provider=provider, **flags)
        tickets.append(ticket)
    return tickets


def _expected(tickets: list[dict]) -> dict:
    """The definition (docs/fair-comparisons.md), read directly, per provider and `all`."""
    as_of = (AS_OF - T0).total_seconds() / 86_400
    start, end = 0.0, (Q3.end - T0).total_seconds() / 86_400

    def provider(t):
        return t.get("provider") or t.get("stated") or "unknown"

    figures: dict[str, dict] = {}
    for item in tickets:
        clock = item.get("notified", item["reported"])
        removed = item.get("removed")
        if not (start <= clock < end and clock <= as_of and item["reported"] <= as_of):
            continue
        if removed is None or removed > as_of:
            continue
        later = [
            t for t in tickets if t["hash"] == item["hash"] and removed < t["reported"] <= as_of
        ]
        back = min(later, key=lambda t: t["reported"]) if later else None
        where = None
        if back is not None:
            if provider(back) == provider(item) and not provider(back).startswith("unknown"):
                where = "same_provider"
            elif back.get("eu") or back.get("inhope"):
                where = "other_inside"
            elif back.get("eu") is False and back.get("inhope") is False:
                where = "outside"
            else:
                where = "unknown"
        for name in (provider(item), "all"):
            entry = figures.setdefault(
                name, {"removed": 0, "reappeared": 0, "where": dict.fromkeys(WHERE, 0)}
            )
            entry["removed"] += 1
            if back is not None:
                entry["reappeared"] += 1
                entry["where"][where] += 1
    return figures


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_the_definition_with_reports_outside_the_frame(engine, seed):
    tickets = _random_tickets(seed)
    _store(engine, tickets)
    expected = _expected(tickets)
    assert expected["all"]["reappeared"] > 0  # the data has something to find
    figures = compute_reappearance(engine, period=Q3, as_of=AS_OF)
    got = {
        name: {
            "removed": f["removed"],
            "reappeared": f["reappeared"],
            "where": f["reappeared_where"],
        }
        for name, f in figures.items()
    }
    assert got == expected
    # the scorecard matches on its own frame (from the previous quarter's start): same figures
    totals = compute_scorecard(engine, period=Q3, as_of=AS_OF)["totals"]
    assert totals["removed_items"] == figures["all"]["removed"]
    assert totals["reappeared"] == figures["all"]["reappeared"]
    assert totals["reappeared_30d_share"] == figures["all"]["reappeared_30d_share"]
    for where in WHERE:
        assert totals[f"reappeared_{where}"] == figures["all"]["reappeared_where"][where]


def test_a_notice_dated_before_its_report_still_counts_as_coming_back(engine):
    back = {"id": "a4-back", "hash": 4, "reported": 40, "notified": -30, "provider": "Far", **AE}
    _store(engine, [*TICKETS, back])
    host_a = compute_reappearance(engine, period=Q3, as_of=AS_OF)["Host A"]
    assert (host_a["removed"], host_a["reappeared"]) == (4, 4)
    assert host_a["reappeared_where"]["outside"] == 2


def _colliding_pair() -> np.ndarray:
    """Two different 64-byte hashes with the same key in `hash_keys`: its word sum is
    linear, so moving word 0 down by the second multiplier and word 1 up by the first
    leaves the sum as it was."""
    first = np.frombuffer(b"a" * 64, dtype=np.uint64).copy()
    second = first.copy()
    with np.errstate(over="ignore"):
        second[0] -= _WORD_MULTIPLIERS[1]
        second[1] += _WORD_MULTIPLIERS[0]
    pair = np.array([first.tobytes(), second.tobytes()], dtype="S64")
    assert pair[0] != pair[1]
    keys = hash_keys(pair)
    assert keys[0] == keys[1]
    return pair


def test_hash_codes_are_exact_even_for_a_crafted_collision():
    pair = _colliding_pair()
    hashes = np.array([pair[0], b"b" * 64, pair[1], pair[0], b"b" * 64], dtype="S64")
    codes = hash_codes(hashes)
    assert codes[0] == codes[3] and codes[1] == codes[4]
    assert len({codes[0], codes[1], codes[2]}) == 3
    assert sorted(distinct_hashes(hashes).tolist()) == sorted({pair[0], pair[1], b"b" * 64})


def test_hash_codes_partition_like_unique():
    rng = np.random.default_rng(5)
    hashes = np.array([f"{n:064x}".encode() for n in rng.integers(0, 300, 2000)], dtype="S64")
    codes = hash_codes(hashes)
    _, reference = np.unique(hashes, return_inverse=True)
    pairs = set(zip(codes.tolist(), reference.tolist(), strict=True))
    assert len(pairs) == len(set(codes.tolist())) == len(set(reference.tolist()))


def test_hash_codes_split_a_crafted_collision_among_many_hashes():
    """The exact split touches only the group holding the two colliding hashes."""
    rng = np.random.default_rng(11)
    pair = _colliding_pair()
    others = np.array([rng.bytes(32).hex().encode() for _ in range(5000)], dtype="S64")
    hashes = np.concatenate((others, others[:100], pair, pair[:1]))
    codes = hash_codes(hashes)
    _, reference = np.unique(hashes, return_inverse=True)
    pairs = set(zip(codes.tolist(), reference.reshape(-1).tolist(), strict=True))
    assert len(pairs) == len(set(codes.tolist())) == len(set(reference.reshape(-1).tolist()))
    assert codes.max() < 2 * len(hashes)


def test_positions_in_finds_each_query_or_says_absent():
    table = np.array([f"{n:064x}".encode() for n in (5, 9, 2)], dtype="S64")
    queries = np.array([f"{n:064x}".encode() for n in (2, 7, 5, 5)], dtype="S64")
    assert positions_in(table, queries).tolist() == [2, -1, 0, 0]
