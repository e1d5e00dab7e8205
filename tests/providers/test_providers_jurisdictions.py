"""EU and INHOPE membership on dates, unknowns kept unknown, analyst corrections."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import pytest

from monitor.core.errors import ConfigurationError
from providers.jurisdictions import (
    EU_FILE,
    INHOPE_FILE,
    Jurisdictions,
    correction_history,
    membership,
    parse_partial_date,
    reference_rows,
    set_membership,
)
from providers.resolve import resolve_pending
from tests.providers.test_providers_support import FakeResolver, add_tickets, tickets


@pytest.mark.parametrize(
    ("country", "on", "eu"),
    [
        ("GB", date(2020, 1, 30), True),
        ("GB", date(2020, 1, 31), True),  # exit day: still a member until 23:00 GMT
        ("GB", date(2020, 2, 1), False),
        ("UK", date(2019, 6, 1), True),  # the common non-ISO spelling
        ("HR", date(2013, 6, 30), False),
        ("HR", date(2013, 7, 1), True),  # Croatia's accession
        ("PL", date(2004, 4, 30), False),
        ("PL", date(2004, 5, 1), True),
        ("NL", date(2024, 1, 1), True),
        ("AE", date(2024, 1, 1), False),  # the EU list is complete: absent means no
        ("CH", date(2024, 1, 1), False),
    ],
)
def test_eu_membership_around_accessions_and_the_uk_exit(country, on, eu):
    assert membership(country, on).eu is eu


def test_the_shipped_eu_table_agrees_with_its_source_file():
    with EU_FILE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 28
    for row in rows:
        accession = date.fromisoformat(row["accession_date"])
        assert membership(row["ISO_alpha_2_code"], accession).eu is True
        if row["exit_date"] != "NA":
            assert row["ISO_alpha_2_code"] == "GB"


@pytest.mark.parametrize(
    ("country", "on", "inhope", "confidence"),
    [
        ("NL", date(2024, 5, 1), True, "confirmed"),
        ("DE", date(1998, 12, 31), False, "confirmed"),  # before FSM co-founded INHOPE in 1999
        ("DE", date(1999, 1, 1), True, "confirmed"),
        ("SK", date(2015, 1, 1), True, "likely"),  # first period 2010-05 .. 2018-01
        ("SK", date(2020, 1, 1), False, "likely"),  # no hotline 2018-2024
        ("SK", date(2024, 6, 1), True, "likely"),
        ("RU", date(2024, 1, 1), True, "uncertain"),
        ("TR", date(2024, 1, 1), None, "uncertain"),  # listed as unknown
        ("AE", date(2024, 1, 1), False, "likely"),
        # Not in the table: no member hotline as far as the sources show (data README).
        ("KZ", date(2024, 1, 1), False, "likely"),
        ("IR", date(2024, 1, 1), False, "likely"),
        ("PS", date(2024, 1, 1), False, "likely"),
        ("IN", date(2024, 1, 1), False, "likely"),
        ("VN", date(2024, 1, 1), False, "likely"),
        ("QQ", date(2024, 1, 1), None, None),  # not an ISO 3166-1 country: unknown
        ("PH", date(2020, 11, 30), False, "confirmed"),
        ("PH", date(2020, 12, 1), True, "confirmed"),
    ],
)
def test_inhope_membership_with_confidence(country, on, inhope, confidence):
    result = membership(country, on)
    assert (result.inhope, result.inhope_confidence) == (inhope, confidence)
    assert result.inhope_confirmed is (inhope is not None and confidence == "confirmed")


def test_every_shipped_inhope_row_keeps_its_confidence():
    with INHOPE_FILE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    shipped = [r for r in reference_rows(None) if r["kind"] == "inhope"]
    assert len(shipped) == len(rows) == 55
    assert sorted((r["country"], r["confidence"]) for r in shipped) == sorted(
        (r["iso2"], r["confidence"]) for r in rows
    )


def test_every_iso_country_has_a_name_and_a_status():
    from providers.jurisdictions import country_name, iso_countries

    countries = iso_countries()
    assert len(countries) == 250  # 249 ISO 3166-1 codes and XK (Kosovo)
    for code in countries:
        result = membership(code, date(2024, 1, 1))
        assert result.eu is not None and result.inhope_confidence is not None, code
        assert country_name(code) and country_name(code, "nl"), code
    assert membership("TR", date(2024, 1, 1)).inhope is None  # the table says unknown
    assert country_name("IR") == "Iran" and country_name("PS", "nl") == "Palestijnse gebieden"


def test_no_country_means_everything_unknown():
    result = membership(None, date(2024, 1, 1))
    assert (result.eu, result.inhope, result.inhope_confidence) == (None, None, None)


def test_datetimes_are_read_as_their_date():
    jurisdictions = Jurisdictions.load(None)
    assert jurisdictions.membership("GB", datetime(2020, 1, 31, 22, 59, tzinfo=UTC)).eu is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2006", date(2006, 1, 1)),
        ("2010-05", date(2010, 5, 1)),
        ("2020-12-01", date(2020, 12, 1)),
        ("", None),
        ("NA", None),
    ],
)
def test_partial_dates(text, expected):
    assert parse_partial_date(text) == expected


def test_partial_date_errors_name_the_value():
    with pytest.raises(ConfigurationError, match="cannot read date '2020-13'"):
        parse_partial_date("2020-13")


def test_analyst_correction_wins_and_history_is_kept(engine):
    assert membership("TR", date(2025, 1, 1), engine=engine).inhope is None
    set_membership(
        engine,
        "tr",
        "inhope",
        "yes",
        since=date(2024, 3, 1),
        confidence="confirmed",
        source_note="inhope.org member list, checked 2026-11-20",
    )
    after = membership("TR", date(2025, 1, 1), engine=engine)
    assert (after.inhope, after.inhope_confidence, after.inhope_source) == (
        True,
        "confirmed",
        "inhope.org member list, checked 2026-11-20",
    )
    assert membership("TR", date(2024, 2, 29), engine=engine).inhope is False
    assert membership("TR", date(2025, 1, 1)).inhope is None  # without the engine: shipped table

    # A second correction replaces the first; both stay on record.
    set_membership(
        engine, "TR", "inhope", "no", source_note="hotline left INHOPE", confidence="likely"
    )
    assert membership("TR", date(2025, 1, 1), engine=engine).inhope is False
    history = correction_history(engine, "TR")
    assert [(h["member"], h["since"], h["source_note"]) for h in history] == [
        ("yes", "2024-03-01", "inhope.org member list, checked 2026-11-20"),
        ("no", None, "hotline left INHOPE"),
    ]


def test_append_adds_a_period_to_the_correction_in_force(engine):
    set_membership(
        engine,
        "SK",
        "inhope",
        "yes",
        since=date(2010, 5, 1),
        until=date(2018, 1, 1),
        source_note="stopline.sk archive",
    )
    set_membership(
        engine,
        "SK",
        "inhope",
        "yes",
        since=date(2023, 11, 15),
        source_note="inhope.org news",
        append=True,
    )
    assert membership("SK", date(2020, 6, 1), engine=engine).inhope is False
    assert membership("SK", date(2023, 12, 1), engine=engine).inhope is True
    rows = [r for r in reference_rows(engine, "SK") if r["kind"] == "inhope"]
    assert [(r["since"], r["origin"], r["confidence"]) for r in rows] == [
        ("2010-05-01", "analyst", "confirmed"),
        ("2023-11-15", "analyst", "confirmed"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"country": "Turkey"}, "country must be an ISO 3166-1 alpha-2 code"),
        ({"kind": "nato"}, "kind must be one of eu, inhope"),
        ({"member": "maybe"}, "member must be one of yes, no, unknown"),
        ({"confidence": "sure"}, "confidence must be one of confirmed, likely, uncertain"),
        ({"source_note": "  "}, "a correction needs a source note"),
        ({"since": date(2024, 1, 1), "until": date(2023, 1, 1)}, "--until must be after --since"),
        ({"append": True}, "nothing to append to: no correction for TR inhope yet"),
    ],
)
def test_corrections_are_validated(sqlite_engine, kwargs, message):
    arguments = {
        "country": "TR",
        "kind": "inhope",
        "member": "yes",
        "source_note": "a source",
        **kwargs,
    }
    with pytest.raises(ConfigurationError, match=message):
        set_membership(
            sqlite_engine,
            arguments.pop("country"),
            arguments.pop("kind"),
            arguments.pop("member"),
            **arguments,
        )


def test_tickets_carry_membership_on_their_report_date(engine):
    from providers.results import IpResult

    geo = FakeResolver("embedded", {"198.18.0.0": IpResult()}, version="fake")
    add_tickets(
        engine,
        [
            {
                "ticket_id": "uk-in",
                "country": "GB",
                "reported_at": datetime(2020, 1, 31, 12, tzinfo=UTC),
            },
            {
                "ticket_id": "uk-out",
                "country": "GB",
                "reported_at": datetime(2020, 2, 1, 12, tzinfo=UTC),
            },
            {"ticket_id": "kz", "country": "KZ"},
            {"ticket_id": "tr", "country": "TR"},
            {"ticket_id": "none"},
        ],
    )
    resolve_pending(engine, resolvers=[geo])
    found = {k: (v["country"], v["eu"], v["inhope"]) for k, v in tickets(engine).items()}
    assert found == {
        "uk-in": ("GB", True, True),
        "uk-out": ("GB", False, True),
        "kz": ("KZ", False, False),
        "tr": ("TR", False, None),
        "none": (None, None, None),
    }


def test_reference_cli_sets_a_correction_and_re_evaluates_tickets(sqlite_cli, tmp_path):
    from monitor.store.db import make_engine

    engine = make_engine(sqlite_cli.db_url)
    add_tickets(
        engine,
        [{"ticket_id": "tr", "country": "TR", "reported_at": datetime(2025, 5, 1, tzinfo=UTC)}],
    )
    sqlite_cli("resolve")
    assert tickets(engine)["tr"]["inhope"] is None
    out = sqlite_cli(
        "reference",
        "set",
        "TR",
        "--inhope",
        "yes",
        "--since",
        "2024-03",
        "--source",
        "inhope.org member list 2026-11",
    ).output
    assert (
        "TR inhope=yes from 2024-03-01 to now [confirmed] recorded; 1 tickets re-evaluated" in out
    )
    assert tickets(engine)["tr"]["inhope"] is True
    shown = sqlite_cli("reference", "show", "--country", "TR").output
    assert (
        "TR inhope yes     2024-03-01 to …          confirmed analyst "
        "inhope.org member list 2026-11" in shown
    )
    on = sqlite_cli("reference", "show", "--country", "UK", "--on", "2020-02-01").output
    assert on.strip() == "GB on 2020-02-01: eu=no inhope=yes (confidence confirmed)"
    bad = sqlite_cli("reference", "set", "TR", "--source", "x", ok=False)
    assert bad.exit_code == 2 and "give exactly one of --inhope or --eu" in bad.output
    engine.dispose()
