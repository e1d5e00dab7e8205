"""The quarterly documents end to end, from tickets in the database (SQLite and PostgreSQL):
the same numbers in HTML, CSV and JSON; briefing figures against independent references;
the PDFs; drift flags of the quarter; the `monitor briefing` command."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from monitor.statistics.periods import parse_period
from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot
from reports import briefing_figures, write_quarterly_reports
from tests.reports.test_reports_support import (
    HOSTILE,
    PROVIDERS,
    Document,
    generate_tickets,
    have_poppler,
    pdf_pages,
    pdf_text,
    store_tickets,
)

PERIOD = parse_period("2026Q3")
AS_OF = datetime(2026, 10, 15, tzinfo=UTC)
COLUMNS = [
    "rank",
    "name",
    "country",
    "notices",
    "removed",
    "open",
    "median",
    "p90",
    "atkm_12h",
    "industry_24h",
    "inhope_72h",
    "change_median",
    "change_24h",
    "cdn",
    "flags",
]


def _tickets(seed: int = 11, n: int = 700):
    rng = np.random.default_rng(seed)
    return generate_tickets(rng, n, start=datetime(2026, 4, 1, tzinfo=UTC), days=183, as_of=AS_OF)


@pytest.fixture
def filled(engine):
    tickets = _tickets()
    store_tickets(engine, tickets, learnt_at=AS_OF + timedelta(days=1))
    return engine, tickets


@pytest.fixture
def filled_sqlite(sqlite_engine):
    tickets = _tickets()
    store_tickets(sqlite_engine, tickets, learnt_at=AS_OF + timedelta(days=1))
    return sqlite_engine, tickets


def _rounded(value: float, digits: int = 1) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def _shown(text: str) -> float:
    """The first number a cell shows (English formatting: 1,234.5); over 72 hours the hours
    in brackets after the days (`12 days (284 h)`)."""
    if match := re.search(r"days?\s\(([\d,]+)\s", text.replace("\xa0", " ")):
        return float(match[1].replace(",", ""))
    return float(re.search(r"[+-]?[\d,]+(?:\.\d+)?", text)[0].replace(",", ""))


def _csv_number(text: str):
    return None if text == "" else float(text)


def test_html_csv_and_json_state_the_same_numbers(filled, tmp_path):
    engine, _tickets_ = filled
    paths = write_quarterly_reports(engine, period_label="2026Q3", out_dir=tmp_path, as_of=AS_OF)
    names = sorted(path.name for path in paths)
    assert names == sorted(
        [
            "scorecard-2026Q3-en.html",
            "scorecard-2026Q3-en.pdf",
            "scorecard-2026Q3.csv",
            "scorecard-2026Q3.json",
            "briefing-2026Q3-en.html",
            "briefing-2026Q3-en.pdf",
        ]
    )
    figures = json.loads((tmp_path / "scorecard-2026Q3.json").read_text(encoding="utf-8"))
    assert figures == load_snapshot(engine, figures["snapshot_id"])
    with (tmp_path / "scorecard-2026Q3.csv").open(encoding="utf-8") as handle:
        by_key = {row["key"]: row for row in csv.DictReader(handle)}
    html = (tmp_path / "scorecard-2026Q3-en.html").read_text(encoding="utf-8")
    doc = Document(html)
    assert figures["snapshot_id"] in doc.visible_text
    assert len(figures["rows"]) == len(PROVIDERS)
    for row in [*figures["rows"], figures["totals"]]:
        flat = by_key[row["key"]]
        cells = doc.rows[row["key"]]
        if row["low_volume"] or row.get("category", "provider") not in ("provider", "all"):
            cells = [None, *cells]
        cell = dict(zip(COLUMNS, cells, strict=False))
        for column in ("notices", "removed", "open"):
            assert int(flat[column]) == row[column]
            assert int(cell[column]["sort"]) == row[column]
            assert _shown(cell[column]["main"]) == row[column]
        for column, key in (("median", "median_hours"), ("p90", "p90_hours")):
            value = row[key]
            assert _csv_number(flat[key]) == value
            if value is None:
                assert cell[column]["sort"] == "Infinity"
                assert cell[column]["text"].startswith("not reached")
            else:
                assert float(cell[column]["sort"]) == value
                shown = round(value) if value > 72 else _rounded(value)
                assert _shown(cell[column]["main"]) == shown
        low, high = row["median_hours_ci"]
        assert (
            _csv_number(flat["median_hours_ci_lower"]),
            _csv_number(flat["median_hours_ci_upper"]),
        ) == (low, high)
        for norm in figures["norms"]:
            entry = row["norms"][norm["key"]]
            assert _csv_number(flat[f"norm_{norm['key']}"]) == entry["share"]
            shown = cell[norm["key"]]
            if entry["share"] is None:
                assert shown["sort"] == ""
            else:
                assert float(shown["sort"]) == entry["share"]
                assert _shown(shown["main"]) == _rounded(100 * entry["share"])
                interval = re.search(r"([\d.]+)–([\d.]+)%$", shown["text"])
                assert [float(interval[1]), float(interval[2])] == [
                    _rounded(100 * bound) for bound in entry["ci"]
                ]
        assert _csv_number(flat["within_24h"]) == row["within_24h"]
        assert _csv_number(flat["cdn_share"]) == row["cdn_share"]
        if row.get("rank") is not None:
            assert int(cell["rank"]["sort"]) == row["rank"] == int(flat["rank"])


def test_hostile_name_stays_text_in_every_document(filled_sqlite, tmp_path):
    engine, _ = filled_sqlite
    paths = write_quarterly_reports(
        engine, period_label="2026Q3", out_dir=tmp_path, as_of=AS_OF, lang="nl"
    )
    for path in paths:
        if path.suffix == ".html":
            html = path.read_text(encoding="utf-8")
            assert HOSTILE not in html, path.name
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path.name
            assert html.count("<script") == (1 if path.name.startswith("scorecard") else 0)
        elif path.suffix == ".json":
            assert any(row["name"] == HOSTILE for row in json.loads(path.read_text())["rows"])


def _expected_durations(tickets, name):
    """Durations (hours) and events of one provider's Q3 notices, by plain datetime arithmetic."""
    durations, events = [], []
    for ticket in tickets:
        clock = ticket["notified_at"]
        if ticket["provider"] != name or not PERIOD.contains(clock):
            continue
        removed = ticket["removed_at"]
        if removed is not None and removed < clock:
            continue  # removed before the notice: not in the curve
        event = removed is not None and removed <= AS_OF
        end = removed if event else AS_OF
        durations.append((end - clock).total_seconds() / 3600)
        events.append(event)
    return np.array(durations), np.array(events)


def test_briefing_curves_equal_lifelines_and_the_scorecard(filled_sqlite):
    from lifelines import KaplanMeierFitter

    engine, tickets = filled_sqlite
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    snapshot = load_snapshot(engine, snapshot_id)
    figures = briefing_figures(engine, snapshot)
    curves = {curve.name: curve for curve in figures.curves if not curve.total}
    assert set(curves) == {row["name"] for row in snapshot["rows"] if not row["low_volume"]}
    for name, curve in curves.items():
        durations, events = _expected_durations(tickets, name)
        fitter = KaplanMeierFitter().fit(durations, events)
        reference = fitter.survival_function_.iloc[:, 0]
        assert curve.notices == len(durations)
        for time, value in zip(curve.times, curve.survival, strict=True):
            assert value == pytest.approx(reference.loc[:time].iloc[-1], abs=1e-9)
        row = next(r for r in snapshot["rows"] if r["name"] == name)
        at_24 = curve.survival[curve.times <= 24.0]
        assert 1 - (at_24[-1] if len(at_24) else 1.0) == pytest.approx(row["within_24h"], abs=1e-12)
    total = next(curve for curve in figures.curves if curve.total)
    assert total.notices == snapshot["totals"]["removed"] + snapshot["totals"]["open"]


def test_monthly_share_outside_the_eu_and_inhope(filled_sqlite):
    engine, tickets = filled_sqlite
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    figures = briefing_figures(engine, load_snapshot(engine, snapshot_id))
    months = {m.month: m for m in figures.months}
    assert len(figures.months) == 12 and max(months).month == 9
    for month, shown in months.items():
        mine = [
            t
            for t in tickets
            if (t["notified_at"].year, t["notified_at"].month) == (month.year, month.month)
        ]
        # CDN-fronted notices count as unknown jurisdiction (the drift check's default).
        known = [t for t in mine if not t["cdn"]]
        outside = [t for t in known if not t["eu"] and not t["inhope"]]
        assert (shown.notices, shown.known, shown.outside) == (len(mine), len(known), len(outside))
        assert shown.unknown == len(mine) - len(known)
    in_q3 = [t for t in tickets if PERIOD.contains(t["notified_at"]) and not t["cdn"]]
    outside = sum(1 for t in in_q3 if not t["eu"] and not t["inhope"])
    assert figures.outside_now.value == pytest.approx(outside / len(in_q3))


@pytest.mark.skipif(not have_poppler(), reason="poppler-utils (pdftotext) is not installed")
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_briefing_pdf_pages_text_and_charts(filled_sqlite, tmp_path, lang):
    engine, _ = filled_sqlite
    paths = write_quarterly_reports(
        engine, period_label="2026Q3", out_dir=tmp_path, as_of=AS_OF, lang=lang
    )
    pdf = next(p for p in paths if p.name == f"briefing-2026Q3-{lang}.pdf")
    snapshot_id = json.loads(next(p for p in paths if p.suffix == ".json").read_text())[
        "snapshot_id"
    ]
    pages = pdf_pages(pdf)
    assert 2 <= pages <= 4
    for page in range(1, pages + 1):
        assert snapshot_id in pdf_text(pdf, page)
    text = re.sub(r"\s+", " ", pdf_text(pdf))
    # Each chart is in the PDF: its axis labels are text inside the vector drawing.
    labels = {
        "en": [
            "Month in which the notice was sent",
            "Share of notices (%)",
            "Share of notices removed within the norm (%)",
            "Hours since the notice (h)",
            "Still online (% of notices)",
            "Removal of reported child sexual abuse material",
        ],
        "nl": [
            "Maand waarin de melding is verstuurd",
            "Aandeel van de meldingen (%)",
            "Aandeel meldingen binnen de norm verwijderd (%)",
            "Tijd sinds de melding (uur)",
            "Nog online (% van de meldingen)",
            "3e kwartaal 2026",
            "Kerncijfers",
        ],
    }[lang]
    for label in labels:
        assert label in text, label
    for figure in (
        ("Figure 1.", "Figure 2.", "Figure 3.")
        if lang == "en"
        else ("Figuur 1.", "Figuur 2.", "Figuur 3.")
    ):
        assert figure in text


def test_flags_of_the_quarter_reach_both_documents(sqlite_engine, tmp_path):
    mover = {"Mover Hosting": (64600, "Mover NL", "NL", True, True, False, 10.0)}
    moved = {"Mover Hosting": (64601, "Mover AE", "AE", False, False, False, 10.0)}
    rng = np.random.default_rng(3)
    before = generate_tickets(
        rng,
        70,
        start=datetime(2026, 6, 5, tzinfo=UTC),
        days=85,
        as_of=AS_OF,
        prefix="B",
        providers=mover,
    )
    after = generate_tickets(
        rng,
        60,
        start=datetime(2026, 9, 2, tzinfo=UTC),
        days=27,
        as_of=AS_OF,
        prefix="A",
        providers=moved,
    )
    store_tickets(sqlite_engine, before + after, learnt_at=AS_OF)
    paths = write_quarterly_reports(
        sqlite_engine, period_label="2026Q3", out_dir=tmp_path, as_of=AS_OF, lang="nl"
    )
    briefing = (tmp_path / "briefing-2026Q3-nl.html").read_text(encoding="utf-8")
    assert (
        "<strong>Mover Hosting</strong> heeft de hosting verplaatst van Nederland (NL) naar "
        "Verenigde Arabische Emiraten (AE)"
    ) in briefing
    scorecard = Document((tmp_path / "scorecard-2026Q3-nl.html").read_text(encoding="utf-8"))
    assert int(scorecard.rows["Mover Hosting"][-1]["sort"]) >= 1
    assert len(paths) == 6


def test_briefing_command(sqlite_cli, tmp_path):
    from monitor.store.db import make_engine

    engine = make_engine(sqlite_cli.db_url)
    store_tickets(engine, _tickets(n=300), learnt_at=AS_OF)
    engine.dispose()
    out = tmp_path / "briefing.html"
    result = sqlite_cli(
        "briefing", "--period", "2026Q3", "--as-of", "2026-10-15", "--format", "html", "--out", out
    )
    snapshot_id = re.search(r"snapshot (sc-[0-9a-f]+)", result.output)[1]
    assert f"wrote {out}" in result.output
    assert snapshot_id in out.read_text(encoding="utf-8")
    again = tmp_path / "briefing-nl.pdf"
    sqlite_cli("briefing", "--snapshot", snapshot_id, "--lang", "nl", "--out", again)
    if have_poppler():
        assert "Kerncijfers" in pdf_text(again)
        assert snapshot_id in pdf_text(again, 1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--period", "2026Q3", "--format", "docx"], "unknown format 'docx'; use html or pdf"),
        (["--period", "2026Q3", "--lang", "fr"], "unknown language 'fr'; use en or nl"),
        (["--snapshot", "sc-00", "--period", "2026Q3"], "--snapshot renders stored figures"),
        (["--snapshot", "sc-00"], "no scorecard snapshot 'sc-00'"),
        ([], "give --period (e.g. 2026Q3) or both --from and --to"),
    ],
)
def test_briefing_command_errors(sqlite_cli, tmp_path, args, message):
    result = sqlite_cli("briefing", *args, "--out", tmp_path / "b.pdf", ok=False)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "b.pdf").exists()


def test_publish_scorecard_adds_the_periods_flags_and_data_sources(filled_sqlite, tmp_path):
    from reports import publish_scorecard

    engine, _ = filled_sqlite
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    out = publish_scorecard(engine, load_snapshot(engine, snapshot_id), "html", tmp_path / "s.html")
    html = out.read_text(encoding="utf-8")
    assert 'data-column="flags"' in html
    assert "EU member states (jfjelstul/eums)" in html
    assert re.search(r"sha256:[0-9a-f]{12}", html)
    network = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="network",
        label=PERIOD.label,
    )
    html = publish_scorecard(
        engine, load_snapshot(engine, network), "html", tmp_path / "n.html"
    ).read_text(encoding="utf-8")
    assert 'data-column="flags"' not in html  # flags name providers, not networks
    assert ">Network<" in html


def test_public_surface():
    import reports

    assert reports.__all__ == sorted(reports.__all__)
    assert set(reports.__all__) == {
        "Language",
        "briefing_figures",
        "data_sources",
        "period_flags",
        "publish_briefing",
        "publish_scorecard",
        "render_briefing",
        "render_scorecard",
        "write_briefing",
        "write_quarterly_reports",
    }
    for name in reports.__all__:
        assert getattr(reports, name).__doc__, name


@pytest.mark.filterwarnings("error::UserWarning")
def test_an_empty_period_gives_documents_that_say_so(sqlite_engine, tmp_path):
    paths = write_quarterly_reports(
        sqlite_engine, period_label="2026Q3", out_dir=tmp_path, as_of=AS_OF, lang="nl"
    )
    assert len(paths) == 6
    briefing = Document((tmp_path / "briefing-2026Q3-nl.html").read_text(encoding="utf-8"))
    text = briefing.visible_text
    assert "stuurde het meldpunt 0 meldingen" in text
    assert "Geen meldingen om te tonen" in text  # in the charts, not an empty frame
    assert "van het gemelde materiaal" not in text  # no median sentence about nothing
    scorecard = Document((tmp_path / "scorecard-2026Q3-nl.html").read_text(encoding="utf-8"))
    assert "Geen enkele provider had genoeg meldingen voor een positie." in scorecard.visible_text


def test_briefing_shows_the_trend_and_reappearance_of_the_stage_functions(filled):
    """The briefing's trend is `quarterly_trend` (the stored Q3 scorecard's figures for Q3;
    read with the briefing's own tickets) and its re-appearance is `compute_reappearance`'s
    (taken from the snapshot); the document shows both."""
    from monitor.statistics.fair_columns import REAPPEARANCE_KEYS
    from monitor.statistics.reappearance import compute_reappearance
    from reports.briefing_data import briefing_reappearance
    from reports.briefing_report import briefing_html
    from reports.language import Language
    from reports.trend_data import quarterly_trend

    engine, _tickets = filled
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD.label,
    )
    snapshot = load_snapshot(engine, snapshot_id)
    figures = briefing_figures(engine, snapshot)
    assert figures.trend == quarterly_trend(engine, last=PERIOD, as_of=AS_OF, count=4)
    q3 = figures.trend["quarters"][-1]
    assert q3["label"] == "2026Q3" and q3["snapshot_id"] == snapshot_id
    assert q3["notices"] == snapshot["totals"]["notices"]
    # Taken from the snapshot's totals; the same as computing it (as for a snapshot stored
    # before the re-appearance columns existed).
    computed = compute_reappearance(engine, period=PERIOD, as_of=AS_OF)["all"]
    assert figures.reappearance == {"all": computed}
    legacy = {
        **snapshot,
        "totals": {k: v for k, v in snapshot["totals"].items() if k not in REAPPEARANCE_KEYS},
    }
    assert briefing_reappearance(engine, legacy) == {"all": computed}
    html = briefing_html(snapshot, figures, "en", flags=[])
    trend = html[
        html.index('<section id="trend">') : html.index(
            "</section>", html.index('<section id="trend">')
        )
    ]
    body = trend[trend.index("<tbody>") :]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)

    def cells(row: str) -> list[str]:
        found = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]

    assert [cells(r)[0] for r in rows] == ["Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026"]
    lang = Language("en")
    for row, quarter in zip(rows, figures.trend["quarters"], strict=True):
        shown = cells(row)
        assert shown[1] == lang.count(quarter["notices"])
        if quarter["notices"]:
            outside = quarter["outside"]
            assert (
                shown[-1] == f"{lang.share(outside['share'])} {lang.share_interval(outside['ci'])}"
            )
    assert f'data-snapshot="{snapshot_id}"' in body
    assert "<svg" in trend
    everyone = figures.reappearance["all"]
    start = html.index('<section id="reappearance">')
    text = " ".join(re.sub(r"<[^>]+>", " ", html[start : html.index("</section>", start)]).split())
    assert f"Of the {lang.count(everyone['removed'])} notices of Q3 2026" in text
    assert f"{lang.count(everyone['reappeared'])} came back" in text
    outside_times = lang.count(everyone["reappeared_where"]["outside"])
    assert f"outside the EU and INHOPE {outside_times} times" in text
