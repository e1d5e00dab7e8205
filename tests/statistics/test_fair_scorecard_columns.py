"""The size and re-appearance columns of the scorecard in JSON, CSV and HTML."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard import compute_scorecard
from providers.prefix_import import refresh_prefix_table
from reports.scorecard_report import scorecard_html
from tests.reports.test_reports_support import Document
from tests.statistics.test_fair_reappearance import AS_OF, TICKETS, _store

Q3 = parse_period("2026Q3")
# AS64500: 10/8 with 10.1/16 and 10.2/15 inside it; AS64501: 192.168/16 with a /24 inside
HOST_A_ADDRESSES = 16_777_216 + 65_536


def _prefix_table(engine, tmp_path) -> str:
    v4 = tmp_path / "routeviews-rv2-20260101-1200.pfx2as"
    v4.write_text(
        "10.0.0.0\t8\t64500\n10.1.0.0\t16\t64500\n10.2.0.0\t15\t64500\n"
        "192.168.0.0\t16\t64501\n192.168.1.0\t24\t64501\n198.51.100.0\t24\t64502\n",
        encoding="utf-8",
    )
    names = tmp_path / "asnames.csv"
    names.write_text(
        "asn,name,country,registry\n64500,Host A B.V.,NL,ripencc\n"
        "64501,Host A Cloud,NL,ripencc\n64502,Far Host LLC,AE,ripencc\n",
        encoding="utf-8",
    )
    return refresh_prefix_table(engine, str(v4), None, str(names))["version"]


@pytest.fixture
def filled(engine, tmp_path):
    _store(engine, TICKETS)
    version = _prefix_table(engine, tmp_path)
    return engine, version


def test_json_rows_carry_size_and_reappearance(filled):
    engine, version = filled
    card = json.loads(json.dumps(compute_scorecard(engine, period=Q3, as_of=AS_OF)))
    assert card["size_data_version"] == version and card["size_data_date"] == "2026-01-01"
    rows = {row["name"]: row for row in card["rows"]}
    host_a = rows["Host A"]
    # Host A's own name has the key of AS64500's name "Host A B.V.": 10/8 with its nested
    # prefixes counted once
    assert host_a["announced_addresses"] == 16_777_216
    assert host_a["size_basis"] == version
    assert host_a["notices_per_100k_addresses"] == pytest.approx(5 / 16_777_216 * 100_000)
    assert (host_a["removed_items"], host_a["reappeared"]) == (4, 3)
    assert (host_a["reappeared_30d"], host_a["reappeared_90d"]) == (1, 2)
    assert host_a["reappeared_90d_share"] == pytest.approx(0.5)
    assert len(host_a["reappeared_90d_share_ci"]) == 2
    assert (
        host_a["reappeared_same_provider"],
        host_a["reappeared_other_inside"],
        host_a["reappeared_outside"],
        host_a["reappeared_unknown"],
    ) == (1, 1, 1, 0)
    # no AS has Host B's name: its size is unknown, never 0
    host_b = rows["Host B"]
    assert host_b["announced_addresses"] is None and host_b["notices_per_100k_addresses"] is None
    assert host_b["removed_items"] == 2
    assert card["totals"]["removed_items"] == 6 and card["totals"]["announced_addresses"] is None


def test_tickets_seen_in_an_as_give_the_provider_that_as_too(engine, tmp_path):
    from monitor.store.models import RESOLUTION

    _store(engine, TICKETS)
    _prefix_table(engine, tmp_path)
    with engine.begin() as connection:
        connection.execute(
            RESOLUTION.update().where(RESOLUTION.c.provider == "Host A").values(asn=64501)
        )
    card = compute_scorecard(engine, period=Q3, as_of=AS_OF)
    host_a = next(row for row in card["rows"] if row["name"] == "Host A")
    assert host_a["announced_addresses"] == HOST_A_ADDRESSES


def test_a_providers_ases_are_those_of_its_tickets_as_of_the_scorecard(engine, tmp_path):
    """Sizes re-derive with --as-of: an AS first seen on a ticket after as_of is not yet
    the provider's (reading every resolution in the store would have counted it)."""
    from datetime import timedelta

    from monitor.store.models import RESOLUTION, TICKET
    from providers.address_space import provider_sizes
    from tests.statistics.test_fair_reappearance import T0

    late = {"id": "a-late", "hash": 99, "reported": 70, "provider": "Host A"}
    _store(engine, [*TICKETS, late])
    _prefix_table(engine, tmp_path)
    with engine.begin() as connection:
        late_id = connection.execute(
            sa.select(TICKET.c.id).where(TICKET.c.ticket_id == "a-late")
        ).scalar_one()
        connection.execute(RESOLUTION.update().where(RESOLUTION.c.id == late_id).values(asn=64501))

    def host_a(as_of):
        card = compute_scorecard(engine, period=Q3, as_of=as_of)
        return next(row for row in card["rows"] if row["name"] == "Host A")

    assert host_a(T0 + timedelta(days=60))["announced_addresses"] == 16_777_216
    assert host_a(AS_OF)["announced_addresses"] == HOST_A_ADDRESSES
    assert provider_sizes(engine)["providers"]["Host A"]["addresses"] == HOST_A_ADDRESSES


def test_network_rows_by_as_number(filled):
    engine, _version = filled
    from monitor.store.models import RESOLUTION

    with engine.begin() as connection:
        connection.execute(
            RESOLUTION.update().where(RESOLUTION.c.provider == "Host A").values(asn=64501)
        )
    card = compute_scorecard(engine, period=Q3, as_of=AS_OF, by="network")
    row = next(row for row in card["rows"] if row["key"] == "AS64501")
    assert row["announced_addresses"] == 65_536
    assert row["removed_items"] is None  # re-appearance is counted per provider
    assert card["totals"]["removed_items"] == 6


def test_csv_has_the_columns(filled, tmp_path):
    engine, version = filled
    cli_url = engine.url.render_as_string(hide_password=False)
    from tests.conftest import Cli

    out = tmp_path / "card.csv"
    Cli(cli_url)(
        "scorecard",
        "--period",
        "2026Q3",
        "--as-of",
        "2026-12-01T00:00:00Z",
        "--format",
        "csv",
        "--out",
        out,
    )
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(out.read_text("utf-8")))}
    assert rows["Host A"]["announced_addresses"] == "16777216"
    assert rows["Host A"]["size_basis"] == version
    assert rows["Host A"]["reappeared"] == "3" and rows["Host A"]["removed_items"] == "4"
    assert float(rows["Host A"]["reappeared_90d_share"]) == pytest.approx(0.5)
    assert rows["Host A"]["reappeared_90d_share_ci_lower"] != ""
    assert rows["Host B"]["announced_addresses"] == "" and rows["all"]["reappeared"] == "4"


def test_html_shows_the_columns_on_screen_and_apart_on_paper(filled):
    engine, _version = filled
    snapshot = compute_scorecard(engine, period=Q3, as_of=AS_OF)
    screen = Document(scorecard_html(snapshot, "en"))
    cells = [cell["text"] for cell in screen.rows["Host A"]]
    # 5 notices / 16,777,216 addresses * 100,000, then the share back in 90 days and its CI
    assert "0.0316,777,216 addresses" in cells
    assert "3 of 450.0%15.5–94.2%" in cells
    host_b = [cell["text"] for cell in screen.rows["Host B"]]
    assert "unknown" in host_b
    assert "Per 100,000 addresses" in screen.visible_text
    paper = Document(scorecard_html(snapshot, "nl", for_print=True))
    assert "Omvang en teruggekomen materiaal" in paper.visible_text
    assert "3 van 4" in paper.visible_text
    assert "16.777.216" in paper.visible_text


def test_no_prefix_table_says_unknown(engine):
    _store(engine, TICKETS)
    card = compute_scorecard(engine, period=Q3, as_of=AS_OF)
    assert card["size_data_version"] is None
    assert all(row["announced_addresses"] is None for row in card["rows"])
    html = Document(scorecard_html(card, "en"))
    assert "unknown" in [cell["text"] for cell in html.rows["Host A"]]


def test_rows_whose_names_differ_only_in_case_keep_their_own_columns(engine):
    tickets = [dict(t) for t in TICKETS]
    for ticket in tickets:
        if ticket["id"] == "a4":
            ticket["provider"] = "HOST A"
    _store(engine, tickets)
    snapshot = compute_scorecard(engine, period=Q3, as_of=AS_OF)
    html = Document(scorecard_html(snapshot, "en"))
    assert "3 of 3" in "".join(cell["text"] for cell in html.rows["Host A"])
    assert "0 of 1" in "".join(cell["text"] for cell in html.rows["HOST A"])


def test_snapshots_of_every_grouping_at_once_equal_those_stored_one_by_one(filled):
    """The metrics job stores the three groupings from one read of the tickets: the very
    same snapshots (same content, same id) as computing each grouping alone."""
    from monitor.statistics.snapshots import (
        load_snapshot,
        store_scorecard_snapshot,
        store_scorecard_snapshots,
    )

    engine, _version = filled
    window = {"period_from": Q3.start, "period_to": Q3.end, "as_of": AS_OF, "label": Q3.label}
    together = store_scorecard_snapshots(
        engine, **window, groupings=("provider", "network", "country")
    )
    for by, snapshot_id in together.items():
        assert store_scorecard_snapshot(engine, **window, by=by) == snapshot_id
        assert load_snapshot(engine, snapshot_id)["by"] == by
    assert len(set(together.values())) == 3
