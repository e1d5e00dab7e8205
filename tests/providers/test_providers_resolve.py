"""The resolution stage end to end: merged columns, idempotence, history across data versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import providers
import providers.resolve as resolve_module
from monitor.store.db import make_engine
from monitor.store.models import RESOLUTION, Ticket
from monitor.store.schema import upgrade
from providers.models import IpResolution
from providers.prefix_import import refresh_prefix_table
from providers.resolve import resolve_pending
from providers.results import IpResult
from tests.providers.test_providers_support import (
    ASNAMES,
    PFX_V4,
    PFX_V6,
    FakeResolver,
    add_tickets,
    tickets,
)

RESOLUTION_COLUMNS = (
    "registered_domain",
    "provider",
    "asn",
    "network",
    "prefix",
    "geo_country",
    "registered_country",
    "country",
    "cdn",
    "eu",
    "inhope",
    "resolution_sources",
    "resolved_at",
)


def _columns(engine) -> dict[str, tuple]:
    return {k: tuple(v[c] for c in RESOLUTION_COLUMNS) for k, v in tickets(engine).items()}


def test_tickets_get_merged_hosting_facts(engine):
    refresh_prefix_table(engine, str(PFX_V4), str(PFX_V6), str(ASNAMES))
    add_tickets(
        engine,
        [
            {
                "ticket_id": "lw",
                "ip": "5.79.64.1",
                "hostname": "cdn.shop.example.co.uk",
                "provider": "LeaseWeb Netherlands B.V.",
                "reported_at": datetime(2020, 1, 31, 12, tzinfo=UTC),
            },
            {"ticket_id": "hz6", "ip": "2a01:4f8:c17::1"},
            {"ticket_id": "cf", "ip": "104.16.5.5"},
            {"ticket_id": "private", "ip": "10.1.2.3", "country": "GB"},
            {"ticket_id": "host-only", "hostname": "files.example.com", "country": "tr"},
        ],
    )
    summary = resolve_pending(engine)
    assert (summary["pending"], summary["resolved"], summary["ips"], summary["special_ips"]) == (
        5,
        5,
        4,
        1,
    )
    assert summary["country_from"] == {"geo": 3, "registered": 0, "stated": 2, "none": 0}
    found = tickets(engine)

    lw = found["lw"]
    assert (
        lw["asn"],
        lw["network"],
        lw["prefix"],
        lw["geo_country"],
        lw["registered_country"],
        lw["country"],
    ) == (60781, "LeaseWeb Netherlands B.V.", "5.79.64.0/18", "NL", "NL", "NL")
    assert (lw["provider"], lw["cdn"], lw["eu"], lw["inhope"], lw["registered_domain"]) == (
        "LeaseWeb Netherlands",
        False,
        True,
        True,
        "example.co.uk",
    )
    versions = summary["data_versions"]
    assert (
        lw["resolution_sources"] == f"country=geo {versions['prefix_table']} {versions['embedded']}"
    )

    hz6 = found["hz6"]
    assert (hz6["asn"], hz6["network"], hz6["provider"], hz6["country"], hz6["eu"]) == (
        24940,
        "Hetzner Online GmbH",
        "Hetzner Online",
        "DE",
        True,
    )

    cf = found["cf"]
    assert (cf["asn"], cf["cdn"], cf["provider"]) == (13335, True, "unknown (behind Cloudflare)")
    assert cf["resolution_sources"].endswith("cdn=Cloudflare")

    private = found["private"]
    assert (private["asn"], private["network"], private["geo_country"], private["country"]) == (
        None,
        None,
        None,
        "GB",
    )
    assert private["resolution_sources"] == "country=stated ip=private-address"
    assert (private["provider"], private["cdn"]) == ("unknown", None)

    host = found["host-only"]
    assert (host["registered_domain"], host["country"], host["eu"], host["inhope"]) == (
        "example.com",
        "TR",
        False,
        None,
    )
    assert host["resolution_sources"] == "country=stated ip=none"


def test_re_running_changes_nothing(engine):
    add_tickets(
        engine, [{"ticket_id": "1", "ip": "88.198.0.1"}, {"ticket_id": "2", "ip": "45.148.164.1"}]
    )
    resolve_pending(engine)
    before = _columns(engine)
    again = resolve_pending(engine)
    assert (again["pending"], again["resolved"]) == (0, 0)
    assert _columns(engine) == before
    assert before["2"][RESOLUTION_COLUMNS.index("network")] == "IQWeb FZ-LLC"
    assert before["2"][RESOLUTION_COLUMNS.index("country")] == "AE"


def _answers(engine) -> list[tuple]:
    table = IpResolution.__table__
    with engine.connect() as connection:
        return connection.execute(
            sa.select(table.c.ip, table.c.source, table.c.data_version, table.c.network)
            .where(table.c.source == "prefix_table")
            .order_by(table.c.id)
        ).all()


def test_history_is_kept_when_data_versions_change(engine, tmp_path):
    first = refresh_prefix_table(engine, str(PFX_V4), str(PFX_V6), str(ASNAMES))
    add_tickets(engine, [{"ticket_id": "old", "ip": "88.198.0.1"}])
    resolve_pending(engine)
    old_before = _columns(engine)["old"]

    renamed = tmp_path / "asnames.csv"
    renamed.write_text(ASNAMES.read_text().replace("Hetzner Online GmbH", "Hetzner Online AG"))
    second = refresh_prefix_table(engine, str(PFX_V4), str(PFX_V6), str(renamed))
    add_tickets(engine, [{"ticket_id": "new", "ip": "88.198.0.1"}])
    summary = resolve_pending(engine)

    assert summary["lookups"]["prefix_table"] == 1 and summary["reused"]["embedded"] == 1
    resolved = tickets(engine)
    assert _columns(engine)["old"] == old_before  # never rewritten
    assert (
        resolved["old"]["network"] == "Hetzner Online GmbH"
        and first["version"] in resolved["old"]["resolution_sources"]
    )
    assert (
        resolved["new"]["network"] == "Hetzner Online AG"
        and second["version"] in resolved["new"]["resolution_sources"]
    )
    assert _answers(engine) == [
        ("88.198.0.1", "prefix_table", first["version"], "Hetzner Online GmbH"),
        ("88.198.0.1", "prefix_table", second["version"], "Hetzner Online AG"),
    ]


def test_each_distinct_ip_is_looked_up_once_per_data_version(engine):
    geo = FakeResolver(
        "embedded",
        {
            "5.0.0.1": IpResult(geo_country="NL", network="Example Hosting B.V."),
            "5.0.0.2": IpResult(geo_country="DE", network="Beispiel GmbH"),
        },
    )
    add_tickets(engine, [{"ticket_id": str(n), "ip": f"5.0.0.{n % 2 + 1}"} for n in range(6)])
    resolve_pending(engine, resolvers=[geo])
    assert sorted(geo.asked) == ["5.0.0.1", "5.0.0.2"]

    add_tickets(
        engine, [{"ticket_id": "later", "ip": "5.0.0.1"}, {"ticket_id": "fresh", "ip": "5.0.0.9"}]
    )
    resolve_pending(engine, resolvers=[geo])
    assert sorted(geo.asked) == ["5.0.0.1", "5.0.0.2", "5.0.0.9"]  # only the new address

    geo.version = "v2"
    add_tickets(engine, [{"ticket_id": "v2", "ip": "5.0.0.1"}])
    resolve_pending(engine, resolvers=[geo])
    assert geo.asked[-1] == "5.0.0.1"
    assert tickets(engine)["fresh"]["resolution_sources"] == "country=none ip=no-data"


def test_country_falls_back_to_registration_then_to_the_hotline(engine):
    table = FakeResolver(
        "prefix_table",
        {"5.0.0.1": IpResult(asn=64500, network="Example Net", registered_country="CH")},
    )
    add_tickets(
        engine,
        [
            {"ticket_id": "registered", "ip": "5.0.0.1", "country": "NL"},
            {"ticket_id": "stated", "ip": "5.0.0.2", "country": "nl"},
            {"ticket_id": "nothing", "ip": "5.0.0.3"},
        ],
    )
    summary = resolve_pending(engine, resolvers=[table])
    found = {k: (v["country"], v["eu"], v["inhope"]) for k, v in tickets(engine).items()}
    assert found == {
        "registered": ("CH", False, False),
        "stated": ("NL", True, True),
        "nothing": (None, None, None),
    }
    assert summary["country_from"] == {"geo": 0, "registered": 1, "stated": 1, "none": 1}
    assert (summary["eu_unknown"], summary["inhope_unknown"]) == (1, 1)


def test_tickets_reported_long_before_the_run_are_counted_as_resolved_late(engine):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    add_tickets(
        engine,
        [
            {"ticket_id": "backfill", "reported_at": datetime(2024, 2, 1, tzinfo=UTC)},
            {"ticket_id": "week", "reported_at": now - timedelta(days=7, seconds=1)},
            {"ticket_id": "boundary", "reported_at": now - timedelta(days=7)},
            {"ticket_id": "fresh", "reported_at": now - timedelta(hours=3)},
        ],
    )
    summary = resolve_pending(engine, resolvers=[], now=now)
    assert summary["resolved"] == 4 and summary["resolved_late"] == 2


def test_chunks_report_progress(engine):
    add_tickets(engine, [{"ticket_id": str(n)} for n in range(5)])
    calls = []
    summary = resolve_pending(
        engine, resolvers=[], chunk_size=2, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(2, 5), (4, 5), (5, 5)] and summary["resolved"] == 5


def test_a_ticket_resolved_concurrently_keeps_the_other_runs_values(sqlite_engine):
    add_tickets(
        sqlite_engine, [{"ticket_id": "1", "ip": "5.0.0.1"}, {"ticket_id": "2", "ip": "5.0.0.1"}]
    )
    ticket = Ticket.__table__

    class Racing(FakeResolver):
        def resolve(self, ips):
            # Another run writes ticket 2's resolution meanwhile (its queue row is still there,
            # as between that run's insert and its delete).
            with sqlite_engine.begin() as connection:
                second = connection.scalar(sa.select(ticket.c.id).where(ticket.c.ticket_id == "2"))
                connection.execute(
                    RESOLUTION.insert().values(
                        id=second,
                        provider="set by the other run",
                        resolved_at=datetime(2026, 1, 2, tzinfo=UTC),
                    )
                )
            return super().resolve(ips)

    summary = resolve_pending(
        sqlite_engine, resolvers=[Racing("embedded", {"5.0.0.1": IpResult(geo_country="NL")})]
    )
    assert summary["resolved"] == 1
    assert tickets(sqlite_engine)["2"]["provider"] == "set by the other run"
    with sqlite_engine.connect() as connection:  # and neither ticket is pending any more
        assert connection.exec_driver_sql("SELECT count(*) FROM resolution_pending").scalar() == 0


def test_an_in_memory_database_is_resolved():
    # Each thread gets its own in-memory database: every step must use the one connection.
    engine = make_engine("sqlite://")
    upgrade(engine)
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "ip": "5.0.0.1", "hostname": "www.example.com"},
            {"ticket_id": "2", "provider": "Example Hosting B.V.", "country": "DE"},
        ],
    )
    geo = FakeResolver("embedded", {"5.0.0.1": IpResult(geo_country="NL")})
    summary = resolve_pending(engine, resolvers=[geo])
    after = tickets(engine)
    assert summary["resolved"] == 2
    assert (after["1"]["country"], after["1"]["registered_domain"]) == ("NL", "example.com")
    assert (after["2"]["country"], after["2"]["provider"]) == ("DE", "Example Hosting")
    engine.dispose()


def test_resolve_cli_and_export_fill_the_contract_columns(sqlite_cli, tmp_path):
    data = tmp_path / "tickets.csv"
    data.write_text(
        "ticket_id,url_hash,reported_at,ip,hostname,provider,country\n"
        f"t1,{'a' * 64},2024-02-01T10:00:00Z,5.79.64.1,img.example.nl,"
        "LeaseWeb Netherlands B.V.,NL\n"
        f"t2,{'b' * 64},2024-02-01T11:00:00+01:00,45.148.164.1,,,\n"
    )
    sqlite_cli("ingest", data)
    summary = json.loads(sqlite_cli("resolve", "--json").output)
    assert summary["resolved"] == 2 and summary["skipped_sources"] == ["prefix_table"]
    assert summary["resolved_late"] == 2  # reported in 2024
    fresh = tmp_path / "fresh.csv"
    reported = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh.write_text(f"ticket_id,url_hash,reported_at\nt3,{'c' * 64},{reported}\n")
    sqlite_cli("ingest", fresh)
    text = sqlite_cli("resolve").output
    assert text.startswith("resolved 1 of 1 pending tickets") and "7 days" not in text
    out = tmp_path / "export.jsonl"
    sqlite_cli("tickets", "export", "--format", "jsonl", "--out", out)
    rows = {row["ticket_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert {
        k: rows["t1"][k]
        for k in ("registered_domain", "provider", "asn", "network", "country", "eu", "inhope")
    } == {
        "registered_domain": "example.nl",
        "provider": "LeaseWeb Netherlands",
        "asn": None,
        "network": "LeaseWeb Netherlands B.V.",
        "country": "NL",
        "eu": True,
        "inhope": True,
    }
    assert {k: rows["t2"][k] for k in ("provider", "network", "country", "eu", "inhope")} == {
        "provider": "IQWeb",
        "network": "IQWeb FZ-LLC",
        "country": "AE",
        "eu": False,
        "inhope": False,
    }


def test_the_cli_warns_when_tickets_are_resolved_long_after_their_report(sqlite_cli, tmp_path):
    data = tmp_path / "backfill.csv"
    data.write_text(
        "ticket_id,url_hash,reported_at,ip\n"
        f"old1,{'a' * 64},2023-05-01T10:00:00Z,5.79.64.1\n"
        f"old2,{'b' * 64},2023-05-02T10:00:00Z,5.79.64.2\n"
    )
    sqlite_cli("ingest", data)
    text = sqlite_cli("resolve").output
    assert (
        "  2 tickets were reported more than 7 days before this run: resolved with today's data, "
        "not the data of their report date\n"
    ) in text


def test_prefixes_cli_imports_and_reports(sqlite_cli):
    first = sqlite_cli(
        "prefixes", "import", PFX_V4, "--v6", PFX_V6, "--asnames", ASNAMES, "--date", "2020-02-01"
    )
    assert first.output.startswith("imported: pfx2as-20200201-")
    assert "(14 IPv4 and 9 IPv6 prefixes, 12 AS names, 0 lines rejected)" in first.output
    again = sqlite_cli("prefixes", "import", PFX_V4, "--v6", PFX_V6, "--asnames", ASNAMES, "--json")
    assert json.loads(again.output)["unchanged"] is True
    status = sqlite_cli("prefixes", "status").output
    assert (
        "active  pfx2as-20200201-" in status and "14 IPv4, 9 IPv6 prefixes, 12 AS names" in status
    )
    bad = sqlite_cli("prefixes", "import", "/nonexistent.gz", "--asnames", ASNAMES, ok=False)
    assert bad.exit_code == 2 and "error: /nonexistent.gz: no such file" in bad.output


def test_public_surface():
    assert sorted(providers.__all__) == providers.__all__
    for name in providers.__all__:
        assert getattr(providers, name) is not None
    assert {"resolve_pending", "refresh_prefix_table", "membership", "Membership"} <= set(
        providers.__all__
    )


def test_membership_that_changes_within_a_run_is_taken_per_report_day(engine):
    geo = FakeResolver(
        "embedded", {"5.0.0.1": IpResult(geo_country="GB"), "5.0.0.2": IpResult(geo_country="DE")}
    )
    last_day_in, first_day_out = (
        datetime(2020, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2020, 2, 1, 0, 1, tzinfo=UTC),
    )
    add_tickets(
        engine,
        [
            {"ticket_id": "gb-ip-in", "ip": "5.0.0.1", "reported_at": last_day_in},
            {"ticket_id": "gb-ip-out", "ip": "5.0.0.1", "reported_at": first_day_out},
            {"ticket_id": "de-ip-in", "ip": "5.0.0.2", "reported_at": last_day_in},
            {"ticket_id": "de-ip-out", "ip": "5.0.0.2", "reported_at": first_day_out},
            {"ticket_id": "uk-stated-in", "country": "UK", "reported_at": last_day_in},
            {"ticket_id": "uk-stated-out", "country": "UK", "reported_at": first_day_out},
        ],
    )
    resolve_pending(engine, resolvers=[geo])
    found = {k: (v["country"], v["eu"]) for k, v in tickets(engine).items()}
    assert found == {
        "gb-ip-in": ("GB", True),
        "gb-ip-out": ("GB", False),
        "de-ip-in": ("DE", True),
        "de-ip-out": ("DE", True),
        "uk-stated-in": ("GB", True),
        "uk-stated-out": ("GB", False),
    }


def test_a_ticket_whose_keys_changed_during_the_run_stays_pending(engine, monkeypatch):
    add_tickets(
        engine,
        [
            {"ticket_id": "steady", "ip": "5.0.0.1", "hostname": "a.example.com"},
            {"ticket_id": "new-ip", "ip": "5.0.0.1"},
            {"ticket_id": "new-host", "ip": "5.0.0.1", "hostname": "a.example.com"},
            {"ticket_id": "new-provider", "ip": "5.0.0.1", "provider": "Old Name B.V."},
            # GB left the EU on 2020-01-31: on the run's one report day (2024-02-01) its
            # membership is fixed, on the day the ingest moves this report to it is not.
            {"ticket_id": "new-day", "ip": "5.0.0.2"},
            {"ticket_id": "new-country", "country": "CH"},
        ],
    )
    ticket = Ticket.__table__
    changes = {
        "new-ip": {"ip": "5.0.0.9"},
        "new-host": {"hostname": "b.example.org"},
        "new-provider": {"stated_provider": "Brand New Hosting"},
        "new-day": {"reported_at": datetime(2019, 6, 1, 12, tzinfo=UTC)},
        "new-country": {"stated_country": "FR"},
    }

    write = resolve_module.write_resolution

    def ingest_then_write(connection, **arguments):  # an ingest updates tickets after
        with engine.begin() as other:  # the run read them, before it writes
            for ticket_id, values in changes.items():
                other.execute(
                    ticket.update().where(ticket.c.ticket_id == ticket_id).values(**values)
                )
        return write(connection, **arguments)

    geo = FakeResolver(
        "embedded",
        {
            "5.0.0.1": IpResult(geo_country="NL"),
            "5.0.0.9": IpResult(geo_country="NL"),
            "5.0.0.2": IpResult(geo_country="GB"),
        },
    )
    monkeypatch.setattr(resolve_module, "write_resolution", ingest_then_write)
    summary = resolve_pending(engine, resolvers=[geo])
    monkeypatch.setattr(resolve_module, "write_resolution", write)
    after = tickets(engine)
    assert summary["resolved"] == 1 and after["steady"]["resolved_at"] is not None
    for ticket_id in changes:  # left exactly as pending tickets are: nothing written
        assert all(after[ticket_id][c] is None for c in RESOLUTION_COLUMNS), ticket_id
    again = resolve_pending(engine, resolvers=[geo])
    after = tickets(engine)
    assert again["resolved"] == len(changes)
    assert (after["new-ip"]["country"], after["new-host"]["registered_domain"]) == (
        "NL",
        "example.org",
    )
    assert after["new-provider"]["provider"] == "Brand New Hosting"
    assert (after["new-day"]["country"], after["new-day"]["eu"]) == ("GB", True)
    assert (after["new-country"]["country"], after["new-country"]["eu"]) == ("FR", True)


def test_every_ticket_follows_the_per_ticket_rules(engine):
    """Random tickets against the rules computed one ticket at a time in Python."""
    import random

    from providers.cdn import cdn_operator
    from providers.hostnames import registered_domain
    from providers.jurisdictions import Jurisdictions, normalise_country
    from providers.registry import AliasMap

    geo = {
        "5.0.0.1": IpResult(geo_country="GB", network="Brit Hosting Ltd"),
        "5.0.0.2": IpResult(geo_country="HR", network="Zagreb Net d.o.o."),
        "5.0.0.4": IpResult(geo_country="US", network="Cloudflare, Inc."),
    }
    table = {
        "5.0.0.1": IpResult(asn=64501, network="Brit Hosting Ltd", registered_country="GB"),
        "5.0.0.3": IpResult(asn=64503, network="Only Registered GmbH", registered_country="DE"),
        "5.0.0.4": IpResult(asn=13335, network="Cloudflare, Inc.", registered_country="US"),
    }
    resolvers = [FakeResolver("embedded", geo), FakeResolver("prefix_table", table)]
    rng = random.Random(20261122)
    days = [
        datetime(2013, 6, 30, 23, tzinfo=UTC),
        datetime(2013, 7, 1, 1, tzinfo=UTC),
        datetime(2020, 1, 31, 22, tzinfo=UTC),
        datetime(2020, 2, 1, 2, tzinfo=UTC),
        datetime(2024, 5, 5, 12, tzinfo=UTC),
    ]
    rows = [
        {
            "ticket_id": str(n),
            "ip": rng.choice(
                [None, "5.0.0.1", "5.0.0.2", "5.0.0.3", "5.0.0.4", "5.0.0.5", "10.0.0.1"]
            ),
            "hostname": rng.choice([None, "a.shop.example.co.uk", "files.example.com"]),
            "provider": rng.choice(
                [None, "LeaseWeb Netherlands B.V.", "leaseweb netherlands bv", "Other Host Ltd"]
            ),
            "country": rng.choice([None, "nl", "UK", "hr", "EL", "KZ"]),
            "reported_at": rng.choice(days),
        }
        for n in range(300)
    ]
    add_tickets(engine, rows)
    assert resolve_pending(engine, resolvers=resolvers)["resolved"] == 300

    aliases, jurisdictions = None, Jurisdictions.load(engine)
    with engine.connect() as connection:
        aliases = AliasMap.load(connection)
    for row in rows:
        got = tickets(engine)[row["ticket_id"]]
        seen, registered = geo.get(row["ip"]), table.get(row["ip"])
        geo_country = seen.geo_country if seen else None
        registered_country = registered.registered_country if registered else None
        country = geo_country or registered_country or normalise_country(row["country"])
        origin = (
            "geo"
            if geo_country
            else "registered"
            if registered_country
            else "stated"
            if row["country"]
            else "none"
        )
        member = jurisdictions.membership(country, row["reported_at"].date())
        network = (registered or seen).network if (registered or seen) else None
        asn = registered.asn if registered else None
        provider = aliases.canonical(row["provider"], network, cdn_operator(asn, (network,)))
        expected = {
            "asn": asn,
            "geo_country": geo_country,
            "registered_country": registered_country,
            "country": country,
            "eu": member.eu if country else None,
            "inhope": member.inhope if country else None,
            "provider": provider,
            "registered_domain": registered_domain(row["hostname"]),
            "cdn": True if asn == 13335 else (False if network else None),
        }
        assert {key: got[key] for key in expected} == expected, row
        assert got["resolution_sources"].startswith(f"country={origin} "), (row, got)
