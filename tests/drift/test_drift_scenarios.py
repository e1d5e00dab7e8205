"""Drift flags on generated ticket tables with a known truth, on SQLite and PostgreSQL.

Tickets are written straight into `ticket` with the resolution columns set, the way
the resolution stage leaves them. The helpers here are reused by the other drift tests.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from monitor.drift import run_drift
from monitor.drift.config import DriftConfig
from monitor.store.models import QUEUE_UNRESOLVED, Ticket
from tests.resolution_rows import RESOLUTION_COLUMNS, store_resolutions

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
RECENT_FROM = AS_OF - timedelta(days=30)
BASELINE_FROM = RECENT_FROM - timedelta(days=90)
# eu, inhope as the resolution stage sets them on these dates.
JURISDICTION = {
    "NL": (True, True),
    "DE": (True, True),
    "FR": (True, True),
    "AE": (False, False),
    "HK": (False, False),
    "US": (False, True),
    "XX": (None, None),
    "SC": (False, None),
}
NETWORKS = {
    "NL": ("LeaseWeb Netherlands B.V.", 60781),
    "DE": ("Hetzner Online GmbH", 24940),
    "FR": ("OVH SAS", 16276),
    "AE": ("IQWeb FZ-LLC", 42692),
    "HK": ("Example HK Hosting", 64444),
    "US": ("Example US Hosting", 65002),
    "XX": (None, None),
    "SC": ("Offshore Example", 65003),
}
_serial = itertools.count(1)


def url(label: object) -> str:
    """A url_hash for a label (hex SHA-256: the store only ever sees hashes)."""
    return hashlib.sha256(f"https://example.invalid/{label}".encode()).hexdigest()


def ticket(
    provider: str | None,
    country: str,
    reported_at: datetime,
    *,
    hours_to_removal: float | None = 6.0,
    url_hash: str | None = None,
    cdn: bool = False,
    source: str = "hotline-a",
    **extra,
) -> dict:
    """One ticket row as the resolution stage leaves it (notice 30 minutes after the report)."""
    eu, inhope = JURISDICTION[country]
    network, asn = NETWORKS[country]
    serial = next(_serial)
    notified = reported_at + timedelta(minutes=30)
    return {
        "source": source,
        "ticket_id": f"T-{serial:06d}",
        "url_hash": url_hash or url(serial),
        "reported_at": reported_at,
        "notified_at": notified,
        "removed_at": None
        if hours_to_removal is None
        else notified + timedelta(hours=hours_to_removal),
        "stated_provider": provider,
        "provider": provider,
        "network": network,
        "asn": asn,
        "country": None if country == "XX" else country,
        "geo_country": None if country == "XX" else country,
        "eu": eu,
        "inhope": inhope,
        "cdn": cdn,
        "resolved_at": reported_at,
        "first_learnt_at": reported_at,
        "last_learnt_at": reported_at,
        **extra,
    }


def spread(n: int, start: datetime, end: datetime) -> list[datetime]:
    """n report times evenly spread over [start, end)."""
    step = (end - start) / n
    return [start + step * (i + 0.5) for i in range(n)]


def baseline_times(n: int) -> list[datetime]:
    return spread(n, BASELINE_FROM, RECENT_FROM)


def recent_times(n: int) -> list[datetime]:
    return spread(n, RECENT_FROM, AS_OF - timedelta(days=2))


def insert(engine, rows: list[dict]) -> None:
    """Write ticket rows, with their resolution columns, straight into the store."""
    tickets = [{k: v for k, v in row.items() if k not in RESOLUTION_COLUMNS} for row in rows]
    with engine.begin() as connection:
        connection.execute(Ticket.__table__.insert(), tickets)
        connection.exec_driver_sql(QUEUE_UNRESOLVED)
        store_resolutions(connection, [row for row in rows if row.get("resolved_at")])


def stable_providers(n_each: int = 60) -> list[dict]:
    """Three EU providers that do not change, removing within 2-20 hours."""
    rows = []
    for name, country in (
        ("Stable Host NL", "NL"),
        ("Stable Host DE", "DE"),
        ("Stable Host FR", "FR"),
    ):
        times = baseline_times(n_each * 3) + recent_times(n_each)
        rows += [
            ticket(name, country, t, hours_to_removal=2 + (i * 7) % 18) for i, t in enumerate(times)
        ]
    return rows


def flags_by(result: dict) -> dict[tuple[str, str], dict]:
    return {(flag["kind"], flag["subject"]): flag for flag in result["flags"]}


def test_reseller_moving_from_dutch_to_emirati_upstream_is_relocated(engine):
    reseller = "Example Reseller Ltd"
    insert(
        engine,
        stable_providers()
        + [ticket(reseller, "NL", t) for t in baseline_times(40)]
        + [ticket(reseller, "AE", t) for t in recent_times(25)]
        + [ticket(reseller, "NL", t) for t in recent_times(3)],
    )
    result = run_drift(engine, as_of=AS_OF)
    flags = flags_by(result)
    flag = flags[("provider_relocated", reseller)]
    assert flag["from"] == {
        "country": "NL",
        "eu": True,
        "inhope": True,
        "share_outside": 0.0,
        "inhope_confidence": "confirmed",
    }
    assert flag["to"] == {
        "country": "AE",
        "eu": False,
        "inhope": False,
        "share_outside": pytest.approx(25 / 28),
        "inhope_confidence": "likely",
    }
    assert flag["window"] == {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    evidence = flag["evidence"]
    assert evidence["tickets"] == 28
    assert (evidence["baseline"]["outside"], evidence["baseline"]["inside"]) == (0, 40)
    assert (evidence["recent"]["outside"], evidence["recent"]["inside"]) == (25, 3)
    # The reseller kept its name; what moved is the upstream network underneath it.
    assert evidence["baseline"]["networks"] == {"LeaseWeb Netherlands B.V. (AS60781)": 40}
    assert evidence["recent"]["networks"] == {
        "IQWeb FZ-LLC (AS42692)": 25,
        "LeaseWeb Netherlands B.V. (AS60781)": 3,
    }
    assert len(evidence["outside_tickets"]) == 25 and evidence["p_adjusted"] < 0.05
    assert flag["detail"].startswith(
        "Example Reseller Ltd moved its hosting from NL to AE: 25 of 28 notices"
    )
    # AE's "no INHOPE hotline" is a `likely` row of the reference table: the flag says so.
    assert flag["detail"].endswith(
        f"(adjusted p = {evidence['p_adjusted']:.2g}); the INHOPE status of AE is likely, "
        "not confirmed: check it before acting."
    )
    assert evidence["inhope_check_needed"] is True and "\n" not in flag["detail"]
    # One flag per phenomenon: the reseller's shift is reported as the relocation only,
    # and the stable providers raise nothing.
    assert ("jurisdiction_shift", reseller) not in flags
    assert not [key for key in flags if key[1].startswith("Stable Host")]
    assert flag["status"] == "open" and len(flag["id"]) == 16


def test_urls_rehosted_outside_are_one_flag_per_provider_pair(engine):
    earlier = [
        ticket("Dutch Host", "NL", t, url_hash=url(f"u{i}"))
        for i, t in enumerate(baseline_times(12))
    ]
    moved = [
        ticket("Offshore Host", "HK", t, url_hash=url(f"u{i}"))
        for i, t in enumerate(recent_times(5))
    ]
    moved += [
        ticket("Other Offshore", "AE", t, url_hash=url(f"u{i}"))
        for i, t in zip(range(5, 7), recent_times(2), strict=True)
    ]
    stayed = [
        ticket("Dutch Host", "NL", t, url_hash=url(f"u{i}"))
        for i, t in zip(range(7, 12), recent_times(5), strict=True)
    ]
    insert(engine, earlier + moved + stayed)
    result = run_drift(engine, as_of=AS_OF)
    url_flags = {
        flag["to"]["provider"]: flag for flag in result["flags"] if flag["kind"] == "url_relocated"
    }
    assert set(url_flags) == {"Offshore Host", "Other Offshore"}
    offshore = url_flags["Offshore Host"]
    assert offshore["evidence"]["url_hashes"] == sorted(url(f"u{i}") for i in range(5))
    assert offshore["from"] == {
        "country": "NL",
        "eu": True,
        "inhope": True,
        "provider": "Dutch Host",
        "inhope_confidence": "confirmed",
    }
    assert offshore["to"] == {
        "country": "HK",
        "eu": False,
        "inhope": False,
        "provider": "Offshore Host",
        "inhope_confidence": "likely",
    }
    assert offshore["subject"] == "Offshore Host"
    assert offshore["detail"].startswith(
        "5 URLs were reported earlier at Dutch Host (NL) and re-reported between"
    )
    assert url_flags["Other Offshore"]["evidence"]["url_hashes"] == sorted(
        url(f"u{i}") for i in (5, 6)
    )


def test_urls_re_reported_at_the_same_eu_provider_raise_nothing(engine):
    rows = [
        ticket("Dutch Host", "NL", t, url_hash=url(f"u{i}"))
        for i, t in enumerate(baseline_times(30))
    ]
    rows += [
        ticket("Dutch Host", "NL", t, url_hash=url(f"u{i}")) for i, t in enumerate(recent_times(30))
    ]
    insert(engine, rows)
    assert run_drift(engine, as_of=AS_OF)["flags"] == []


def test_an_older_report_inside_counts_for_url_relocation_within_the_lookback(engine):
    long_ago = BASELINE_FROM - timedelta(days=100)
    too_old = BASELINE_FROM - timedelta(days=400)
    insert(
        engine,
        [
            ticket("Dutch Host", "NL", long_ago, url_hash=url("old")),
            ticket("Dutch Host", "NL", too_old, url_hash=url("ancient")),
            ticket("Offshore Host", "HK", RECENT_FROM + timedelta(days=3), url_hash=url("old")),
            ticket("Offshore Host", "HK", RECENT_FROM + timedelta(days=4), url_hash=url("ancient")),
        ],
    )
    (flag,) = run_drift(engine, as_of=AS_OF)["flags"]
    assert flag["kind"] == "url_relocated" and flag["evidence"]["url_hashes"] == [url("old")]
    assert flag["evidence"]["earlier_reported"]["from"] == long_ago.isoformat().replace(
        "+00:00", "Z"
    )


def test_rising_share_outside_over_many_small_providers_is_an_overall_shift(engine):
    rows = []
    for i, t in enumerate(baseline_times(400)):
        rows.append(ticket(f"Small Host {i % 40}", "AE" if i % 20 == 0 else "NL", t))
    for i, t in enumerate(recent_times(150)):
        rows.append(ticket(f"Small Host {i % 40}", "AE" if i % 4 == 0 else "NL", t))
    insert(engine, rows)
    flags = flags_by(run_drift(engine, as_of=AS_OF))
    assert list(flags) == [("jurisdiction_shift", "all")]
    flag = flags[("jurisdiction_shift", "all")]
    assert flag["evidence"]["baseline"]["share_outside"] == pytest.approx(20 / 400)
    assert flag["evidence"]["recent"]["share_outside"] == pytest.approx(38 / 150)
    assert flag["to"]["country"] == "AE"
    assert flag["detail"].startswith(
        "The share of all notices hosted outside the EU and INHOPE rose "
        "from 5 % (20 of 400) to 25 % (38 of 150)"
    )


def test_provider_slowing_down_is_flagged(engine):
    slow = "Slowing Host"
    rows = stable_providers()
    rows += [
        ticket(slow, "DE", t, hours_to_removal=4 + i % 8) for i, t in enumerate(baseline_times(60))
    ]
    rows += [
        ticket(slow, "DE", t, hours_to_removal=40 + i % 30) for i, t in enumerate(recent_times(30))
    ]
    insert(engine, rows)
    flags = flags_by(run_drift(engine, as_of=AS_OF))
    assert list(flags) == [("removal_slowdown", slow)]
    flag = flags[("removal_slowdown", slow)]
    assert flag["evidence"]["baseline"]["within_24h"] == 1.0
    assert flag["evidence"]["recent"]["within_24h"] == 0.0
    assert flag["evidence"]["recent"]["median_hours"] > 40
    assert flag["from"]["country"] == flag["to"]["country"] == "DE"
    assert flag["detail"].startswith("Slowing Host removed 0 % of 30 notices within 24 h")


def test_unknown_jurisdiction_never_raises_a_flag_by_itself(engine):
    rows = [ticket("Vanishing Host", "NL", t) for t in baseline_times(60)]
    rows += [ticket("Vanishing Host", "XX", t) for t in recent_times(20)]  # unresolved
    rows += [ticket("Vanishing Host", "SC", t) for t in recent_times(20)]  # EU no, INHOPE unknown
    rows += [ticket("Fronted Host", "NL", t) for t in baseline_times(60)]
    rows += [
        ticket("Fronted Host", "AE", t, cdn=True) for t in recent_times(40)
    ]  # CDN edge, not the host
    insert(engine, rows)
    assert run_drift(engine, as_of=AS_OF)["flags"] == []


def test_too_few_tickets_raise_nothing(engine):
    rows = [ticket("Tiny Host", "NL", t) for t in baseline_times(10)]
    rows += [ticket("Tiny Host", "AE", t) for t in recent_times(10)]
    insert(engine, rows)
    assert run_drift(engine, as_of=AS_OF)["flags"] == []
    config = DriftConfig(min_tickets=5)
    flags = flags_by(run_drift(engine, as_of=AS_OF, config=config))
    assert ("provider_relocated", "Tiny Host") in flags
