"""`monitor statement`: one provider's statement (HTML/PDF, en/nl) and the batch of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.pofile import read_po

from monitor.store.db import make_engine
from reports.language import catalogue_path
from tests.reports.test_reports_support import Document, have_poppler, pdf_pages, pdf_text
from tests.statistics.test_fair_reappearance import NL, T0, _hash, _store

AS_OF = "2026-11-15T00:00:00Z"
AE = {"country": "AE", "eu": False, "inhope": False}


def _tickets() -> list[dict]:
    rows = []
    for i in range(12):  # Host A: 12 notices, 2 still online, one removed item back
        rows.append(
            {
                "id": f"A-{i:03d}",
                "hash": i,
                "reported": 5 + i,
                "removed": None if i in (3, 7) else 5 + i + 0.2 * (i + 1),
                "provider": "Host A",
                **NL,
            }
        )
    rows.append({"id": "A-back", "hash": 0, "reported": 40, "provider": "Far Host", **AE})
    for i in range(11):  # Host B: 11 notices, all removed
        rows.append(
            {
                "id": f"B-{i:03d}",
                "hash": 100 + i,
                "reported": 20 + i,
                "removed": 21 + i,
                "provider": "Host B",
                **NL,
            }
        )
    rows.append({"id": "C-1", "hash": 200, "reported": 30, "provider": "Small", **NL})
    return rows


@pytest.fixture
def filled(cli):
    engine = make_engine(cli.db_url)
    _store(engine, _tickets())
    engine.dispose()
    return cli


def _text(path) -> str:
    return Document(path.read_text(encoding="utf-8")).visible_text


def test_statement_shows_the_providers_own_figures_and_open_notices(filled, tmp_path):
    out = tmp_path / "a.html"
    result = filled(
        "statement",
        "host a",
        "--period",
        "2026Q3",
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--out",
        out,
    )
    snapshot_id = re.search(r"snapshot (sc-[0-9a-f]+)", result.output)[1]
    html = out.read_text(encoding="utf-8")
    text = _text(out)
    assert "Notices to Host A, Q3 2026" in text
    assert snapshot_id in text
    # open notices: ticket ids, URL hashes and notice times of its own notices only
    assert "A-003" in text and "A-007" in text and _hash(3) in text and _hash(7) in text
    assert "2 notices sent up to the end of the period were still online" in text
    assert "2026-07-09 00:00" in text  # A-003's notice time (reported day 8)
    assert "B-000" not in text and "C-1" not in text
    assert "http" not in html.replace("http-equiv", "")
    # removal times against the median provider; one removed item came back, outside
    assert "Median provider" in text
    assert re.search(r"Of the 10 notices whose removal was confirmed, 1 came back", text)
    assert re.search(r"outside the EU and INHOPE\s*1", text)
    # the last four quarters end with the period
    for name in ("Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026"):
        assert name in text
    assert "Announced addresses: unknown (no size known)" in text


def test_dutch_statement_reads_dutch(filled, tmp_path):
    out = tmp_path / "a-nl.html"
    filled(
        "statement",
        "Host A",
        "--period",
        "2026Q3",
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--lang",
        "nl",
        "--out",
        out,
    )
    text = _text(out)
    assert "Meldingen aan Host A, 3e kwartaal 2026" in text
    assert "Openstaande meldingen" in text and "Verwijdertijden afgezet tegen de normen" in text
    with catalogue_path("nl").open("rb") as handle:
        catalogue = read_po(handle, locale="nl")
    english = [
        m.id
        for m in catalogue
        if m.id
        and isinstance(m.id, str)
        and m.string != m.id
        and "%(" not in m.id
        and len(m.id) >= 5
        and re.search(rf"\b{re.escape(m.id.replace('%%', '%'))}\b", text)
    ]
    assert english == []


def test_batch_writes_one_statement_per_provider_above_the_minimum(filled, tmp_path):
    config = tmp_path / "monitor.toml"
    config.write_text("[statistics]\nmin_notices = 10\n", encoding="utf-8")
    result = filled(
        "statement",
        "--all",
        "--period",
        "2026Q3",
        "--as-of",
        AS_OF,
        "--format",
        "html",
        "--config",
        config,
        "--out",
        tmp_path / "out",
    )
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "statement-host-a-2026Q3-en.html",
        "statement-host-b-2026Q3-en.html",
    ]
    assert result.output.count("wrote ") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--all", "Host A"), "error: name one PROVIDER or give --all"),
        ((), "error: name one PROVIDER or give --all"),
        (
            ("Host Z",),
            "error: no notices for provider 'Host Z' in 2026Q3; did you mean 'Host B', 'Host A'?",
        ),
        (("Host A", "--lang", "de"), "error: unknown language 'de'; use en or nl"),
    ],
)
def test_statement_errors(filled, tmp_path, args, message):
    result = filled(
        "statement",
        *args,
        "--period",
        "2026Q3",
        "--as-of",
        AS_OF,
        "--out",
        tmp_path / "x",
        ok=False,
    )
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.skipif(not have_poppler(), reason="poppler-utils (pdftotext) is not installed")
def test_statement_pdf_in_both_languages(sqlite_cli, tmp_path):
    engine = make_engine(sqlite_cli.db_url)
    _store(engine, _tickets())
    engine.dispose()
    for lang in ("en", "nl"):
        out = tmp_path / f"a-{lang}.pdf"
        sqlite_cli(
            "statement",
            "Host A",
            "--period",
            "2026Q3",
            "--as-of",
            AS_OF,
            "--lang",
            lang,
            "--out",
            out,
        )
        pages = pdf_pages(out)
        assert 1 <= pages <= 2
        text = pdf_text(out)
        assert ("Openstaande meldingen" if lang == "nl" else "Notices still open") in text
        for page in range(1, pages + 1):
            assert "sc-" in pdf_text(out, page)  # the snapshot id on every page


def test_open_notices_are_those_still_online_at_as_of(filled, tmp_path):
    later = (T0 + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = tmp_path / "later.html"
    filled(
        "statement",
        "Host A",
        "--period",
        "2026Q3",
        "--as-of",
        later,
        "--format",
        "html",
        "--out",
        out,
    )
    assert "2 notices sent up to the end of the period were still online" in _text(out)
    before_removal = datetime(2026, 7, 10, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    filled(
        "statement",
        "Host A",
        "--period",
        "2026Q3",
        "--as-of",
        before_removal,
        "--format",
        "html",
        "--out",
        out,
    )
    text = _text(out)
    # at 10 July: A-000..A-004 had clock starts by then; A-003 open, A-004 removed 6 July + 1 d
    assert re.search(r"(\d+) notices? sent up to the end of the period (was|were) still", text)
