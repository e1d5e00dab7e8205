"""The scorecard document from a snapshot written by hand: what it states, how it escapes,
that it is self-contained, and how it shows what the statistics cannot say yet."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

import pytest

from monitor.core.errors import ReportError
from reports.flag_text import flag_sentence
from reports.language import Language
from reports.scorecard_report import render_scorecard, scorecard_html
from tests.reports.test_reports_support import (
    HOSTILE,
    Document,
    have_poppler,
    pdf_pages,
    pdf_text,
    sample_snapshot,
)

FLAGS = [
    {
        "id": "a1b2c3d4e5f60718",
        "status": "open",
        "kind": "provider_relocated",
        "subject": HOSTILE,
        "detail": "...",
        "from": {"country": "NL", "eu": True, "inhope": True},
        "to": {"country": "AE", "eu": False, "inhope": False},
        "window": {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
        "evidence": {
            "recent": {
                "from": "2026-09-01T00:00:00Z",
                "to": "2026-10-01T00:00:00Z",
                "inside": 4,
                "outside": 40,
            },
            "baseline": {
                "from": "2026-06-03T00:00:00Z",
                "to": "2026-09-01T00:00:00Z",
                "inside": 90,
                "outside": 0,
            },
            "p_adjusted": 1e-9,
            "inhope_check_needed": True,
        },
    },
    {
        "id": "0f0f0f0f0f0f0f0f",
        "status": "acknowledged",
        "kind": "removal_slowdown",
        "subject": "Fast Host B.V.",
        "detail": "...",
        "from": {},
        "to": {},
        "window": {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
        "evidence": {
            "recent": {"within_24h": 0.5, "tickets": 50, "median_hours": 25.0},
            "baseline": {"within_24h": 0.9, "tickets": 150, "median_hours": 5.0},
        },
    },
]


@pytest.fixture(scope="module")
def snapshot():
    return sample_snapshot()


@pytest.fixture(scope="module", params=["en", "nl"])
def rendered(request, snapshot):
    html = scorecard_html(snapshot, request.param, flags=FLAGS)
    return request.param, html, Document(html)


def test_every_row_states_the_snapshot_numbers_exactly(rendered, snapshot):
    _lang, _html, doc = rendered
    columns = ["name", "country", "notices", "removed", "open", "median", "p90"]
    for row in snapshot["rows"]:
        cells = doc.rows[row["key"]]
        if not row["low_volume"]:
            assert cells[0]["sort"] == str(row["rank"])
            cells = cells[1:]
        by_column = dict(zip(columns, cells, strict=False))
        assert by_column["notices"]["sort"] == str(row["notices"])
        assert by_column["removed"]["sort"] == str(row["removed"])
        assert by_column["open"]["sort"] == str(row["open"])
        expected_median = "Infinity" if row["median_hours"] is None else repr(row["median_hours"])
        assert by_column["median"]["sort"] == expected_median
        norms = cells[len(columns) : len(columns) + 3]
        for norm, cell in zip(snapshot["norms"], norms, strict=True):
            share = row["norms"][norm["key"]]["share"]
            assert cell["sort"] == ("" if share is None else repr(share))


def test_median_not_reached_is_said_never_zero(rendered):
    lang, _html, doc = rendered
    word = {"en": "not reached", "nl": "niet bereikt"}[lang]
    median = doc.rows["Slow Offshore Ltd"][6]
    assert median["text"].startswith(word)
    assert median["sort"] == "Infinity"
    assert not re.match(r"^0([.,]0)?\b", median["text"])
    p90 = doc.rows[HOSTILE][7]
    assert p90["text"] == word


def test_a_share_the_follow_up_cannot_tell_is_not_available(rendered):
    lang, _html, doc = rendered
    within_72h = doc.rows["Slow Offshore Ltd"][10]
    assert within_72h["text"] == {"en": "n/a", "nl": "n.v.t."}[lang]
    assert within_72h["sort"] == ""


def test_low_volume_rows_are_apart_and_unranked(rendered):
    lang, html, doc = rendered
    ranked, low = html.split('id="low-volume"')
    assert 'data-key="Tiny Host"' in low and 'data-key="Tiny Host"' not in ranked
    assert 'data-key="Fast Host B.V."' in ranked
    # The low-volume table has no rank column: its first cell is the name.
    assert doc.rows["Tiny Host"][0]["text"].startswith("Tiny Host")


def test_hostile_provider_name_is_text_not_markup(rendered):
    lang, html, doc = rendered
    assert html.count("<script") == 1  # the document's own sorting script only
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    name_cell = doc.rows[HOSTILE][1]
    assert name_cell["text"].startswith(HOSTILE)
    assert doc.row_attrs[HOSTILE]["data-name"] == HOSTILE


def test_document_is_self_contained_and_only_its_own_script_may_run(rendered):
    _lang, html, doc = rendered
    external = [url for _tag, _attr, url in doc.urls if not url.startswith("#")]
    assert external == []
    assert not re.search(r"url\((?!#)", html)
    assert "@import" not in html
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1])
    assert "default-src 'none'" in policy
    (script,) = doc.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_rendering_twice_gives_the_same_bytes(snapshot):
    assert scorecard_html(snapshot, "nl", flags=FLAGS) == scorecard_html(
        snapshot, "nl", flags=FLAGS
    )


def test_open_flags_are_counted_per_provider_and_acknowledged_ones_are_not(rendered):
    _lang, _html, doc = rendered
    assert doc.rows[HOSTILE][-1]["sort"] == "1"
    assert doc.rows["Fast Host B.V."][-1]["sort"] == "0"  # its flag was acknowledged
    assert doc.row_attrs[HOSTILE]["data-flags"] == "1"


def test_without_flags_the_document_says_they_were_not_checked(snapshot):
    html = scorecard_html(snapshot, "en")
    assert "Drift flags were not checked for this document." in html
    assert 'data-column="flags"' not in html


def test_dutch_numbers_and_dates_read_as_dutch(snapshot):
    doc = Document(scorecard_html(snapshot, "nl", flags=FLAGS))
    fast = doc.rows["Fast Host B.V."]
    assert fast[6]["text"].startswith("6,3\u00a0uur")  # 6.25 h, half away from zero
    assert fast[6]["text"].endswith("5,0–7,5\u00a0uur")  # its 95 % interval
    assert "95%-BI" in doc.visible_text  # said once, in the column heading
    assert fast[8]["text"].startswith("81,0%")
    text = doc.visible_text
    assert "1 juli 2026 t/m 30 september 2026" in text
    assert "cijfers per 15 oktober 2026, 00.00 uur UTC" in text
    assert "Verwijdertijden per hostingprovider, 3e kwartaal 2026" in text
    assert "t.o.v. 2e kwartaal 2026" in text


def test_change_against_the_previous_period(snapshot):
    doc = Document(scorecard_html(snapshot, "en"))
    fast = doc.rows["Fast Host B.V."]
    change_median, change_24h = fast[11], fast[12]
    assert change_median["sort"] == repr(6.25 - 8.5)
    assert change_median["text"].startswith("-2.3\u00a0h")  # -2.25, half away from zero
    assert change_24h["sort"] == repr(0.93 - 0.9)
    assert change_24h["text"].startswith("+3.0\u00a0pp")
    # A median that was not reached before cannot be compared: said so, not computed.
    assert doc.rows[HOSTILE][11]["text"].startswith("not comparable")


def test_flag_sentences_escape_names_and_keep_the_caveat():
    for lang, expected in (
        ("en", "moved its hosting from Netherlands (NL) to United Arab Emirates (AE)"),
        (
            "nl",
            "heeft de hosting verplaatst van Nederland (NL) naar Verenigde Arabische Emiraten (AE)",
        ),
    ):
        sentence = str(flag_sentence(Language(lang), FLAGS[0]))
        assert "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>" in sentence
        assert "<script>" not in sentence
        assert expected in sentence
        assert ("not confirmed" if lang == "en" else "niet bevestigd") in sentence
        assert "< 0" in sentence.replace("&lt;", "<")


def test_not_a_snapshot_is_refused():
    with pytest.raises(ReportError, match="not a scorecard snapshot: missing rows"):
        scorecard_html(
            {
                "period": {},
                "as_of": "x",
                "by": "provider",
                "totals": {},
                "norms": [],
                "min_notices": 10,
            },
            "en",
        )


def test_unknown_language_is_refused(snapshot):
    with pytest.raises(ReportError, match="unknown report language 'fr'; use en or nl"):
        scorecard_html(snapshot, "fr")


@pytest.mark.skipif(not have_poppler(), reason="poppler-utils (pdftotext) is not installed")
def test_pdf_is_valid_with_extractable_text_and_the_snapshot_on_every_page(tmp_path, snapshot):
    out = render_scorecard(snapshot, "pdf", tmp_path / "scorecard.pdf", "nl", flags=FLAGS)
    pages = pdf_pages(out)
    assert pages >= 2
    text = pdf_text(out)
    assert "Verwijdertijden per hostingprovider" in text
    assert HOSTILE in re.sub(r"\s+", "", text)  # printed as text (wrapped in its narrow cell)
    for page in range(1, pages + 1):
        assert "sc-0123456789abcdef0123" in pdf_text(out, page)
    # The print version has no buttons or filters.
    assert "Filter op naam" not in text


def test_briefing_is_self_contained_script_free_and_escapes_names_in_charts():
    from dataclasses import replace

    import numpy as np

    from reports.briefing_report import briefing_html
    from reports.charts import Curve
    from tests.reports.test_reports_language import _figures

    hostile_curve = Curve(HOSTILE + " $x^2$", 60, np.array([3.0, 50.0]), np.array([0.5, 0.2]), 90.0)
    figures = replace(_figures(), curves=[hostile_curve, *_figures().curves])
    html = briefing_html(sample_snapshot(), figures, "en", flags=FLAGS)
    doc = Document(html)
    assert "<script" not in html
    assert [url for _tag, _attr, url in doc.urls if not url.startswith("#")] == []
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1])
    assert "default-src 'none'" in policy and "script-src" not in policy
    charts = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(charts) == 3
    # The name is text in the norms chart's axis and the curves' legend; a dollar sign
    # stays a dollar sign (no math rendering of hostile input).
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in charts[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x^2$" in charts[2]
    # Each chart's ids are its own, so three inline charts never collide.
    ids = re.findall(r' id="([^"]+)"', "".join(charts))
    assert len(ids) == len(set(ids))
