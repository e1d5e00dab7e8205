"""A briefing on content hosted in countries the INHOPE table does not list (real-world
shapes: Iran, Palestine, India, Vietnam), resolved by the real resolve stage offline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from monitor.statistics.periods import parse_period
from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot
from providers.resolve import resolve_pending
from reports import briefing_figures
from reports.briefing_report import briefing_html
from tests.providers.test_providers_support import add_tickets

PERIOD = parse_period("2026Q3")
AS_OF = datetime(2026, 10, 15, tzinfo=UTC)
COUNTRIES = ["IR", "PS", "IN", "VN", "NL", "RU"]


def test_hosting_outside_the_table_counts_as_outside_likely(sqlite_engine):
    rows = []
    for index in range(120):
        country = COUNTRIES[index % len(COUNTRIES)]
        rows.append(
            {
                "ticket_id": f"j{index}",
                "url_hash": hashlib.sha256(f"j{index}".encode()).hexdigest(),
                "reported_at": datetime(2026, 7, 2, tzinfo=UTC) + timedelta(hours=13 * index),
                "country": country,
                "provider": f"host-{country.lower()}",
            }
        )
    add_tickets(sqlite_engine, rows)
    resolve_pending(sqlite_engine, resolvers=[])
    snapshot_id = store_scorecard_snapshot(
        sqlite_engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    snapshot = load_snapshot(sqlite_engine, snapshot_id)
    figures = briefing_figures(sqlite_engine, snapshot)
    share = figures.outside_now
    # IR, PS, IN, VN: outside and "no (likely)"; RU: listed as uncertain yes; NL inside.
    assert (share.outside, share.known, share.unknown) == (80, 120, 0)
    assert share.value == pytest.approx(80 / 120)
    assert share.by_confidence == {"confirmed": 0, "likely": 80, "uncertain": 0}
    html = briefing_html(snapshot, figures, "en", flags=[])
    assert "66.7" in html or "67" in html
    assert "80 rest on an INHOPE entry that is only likely" in html
    assert "last checked on 22 November 2026" in html
    dutch = briefing_html(snapshot, figures, "nl", flags=[])
    assert "waarschijnlijk" in dutch


def test_documents_and_status_name_the_data_versions_and_warn_when_stale(sqlite_engine):
    from monitor.statistics.data_versions import data_versions
    from reports.scorecard_report import scorecard_html

    rows = [
        {
            "ticket_id": f"v{index}",
            "url_hash": hashlib.sha256(f"v{index}".encode()).hexdigest(),
            "reported_at": datetime(2026, 7, 2, tzinfo=UTC) + timedelta(hours=index),
            "country": "NL",
        }
        for index in range(5)
    ]
    add_tickets(sqlite_engine, rows)
    resolve_pending(sqlite_engine, resolvers=[])
    versions = data_versions(sqlite_engine, at=AS_OF)
    embedded = versions["network_data"]
    assert embedded["version"].startswith("geoip2fast-") and embedded["date"]
    # The bundled GeoLite2 extract (2024-06-18) is more than 12 months before 2026-10-15.
    assert embedded["stale"] is True
    assert any("monitor prefixes import" in warning for warning in versions["warnings"])
    assert versions["reference"]["inhope"]["last_checked"] == "2026-11-22"
    assert data_versions(sqlite_engine)["network_data"]["stale"] is True
    snapshot_id = store_scorecard_snapshot(
        sqlite_engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    snapshot = load_snapshot(sqlite_engine, snapshot_id)
    assert snapshot["data_versions"]["network_data"]["version"] == embedded["version"]
    for render in (
        lambda lang: scorecard_html(snapshot, lang),
        lambda lang: briefing_html(
            snapshot, briefing_figures(sqlite_engine, snapshot), lang, flags=[]
        ),
    ):
        english, dutch = render("en"), render("nl")
        assert embedded["version"] in english and embedded["version"] in dutch
        assert "<code>monitor prefixes import</code>" in english
        assert "Warning:" in english and "Waarschuwing:" in dutch
        assert "last checked on 22 November 2026" in english


def test_a_fresh_embedded_version_raises_no_warning():
    from monitor.statistics.data_versions import network_data

    fresh = network_data({"embedded@geoip2fast-1.2.2-geolite2-20260601": 3}, AS_OF)
    assert (fresh["date"], fresh["stale"], fresh["age_days"]) == ("2026-06-01", False, 136)
