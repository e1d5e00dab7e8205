"""The reports' languages: Dutch numbers and dates, and a complete, consistent catalogue."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.pofile import read_po

from reports.briefing_data import BriefingFigures, Share
from reports.briefing_report import briefing_html
from reports.catalogue import extract_messages
from reports.charts import Curve, MonthShare
from reports.language import Language, catalogue_path
from reports.scorecard_report import scorecard_html
from tests.reports.test_reports_documents import FLAGS
from tests.reports.test_reports_support import Document, sample_snapshot

NL, EN = Language("nl"), Language("en")
NBSP = "\u00a0"


def _catalogue():
    with catalogue_path("nl").open("rb") as handle:
        return read_po(handle, locale="nl")


def _key(message):
    return (message.context, message.id if isinstance(message.id, str) else message.id[0])


@pytest.mark.parametrize(
    "call, dutch, english",
    [
        (lambda lang: lang.hours(12.5), f"12,5{NBSP}uur", f"12.5{NBSP}h"),
        (lambda lang: lang.hours(None), "niet bereikt", "not reached"),
        (lambda lang: lang.share(0.625), "62,5%", "62.5%"),
        (lambda lang: lang.share(None), "n.v.t.", "n/a"),
        (lambda lang: lang.share_interval([0.53, 0.7012]), "53,0–70,1%", "53.0–70.1%"),
        (
            lambda lang: lang.hours_interval([30.0, None]),
            f"vanaf 30,0{NBSP}uur",
            f"from 30.0{NBSP}h",
        ),
        (lambda lang: lang.points(0.052), f"+5,2{NBSP}%-punt", f"+5.2{NBSP}pp"),
        (lambda lang: lang.points(-0.0004), f"0,0{NBSP}%-punt", f"0.0{NBSP}pp"),
        (lambda lang: lang.count(11822), "11.822", "11,822"),
        (lambda lang: lang.decimal(1234.25), "1.234,3", "1,234.3"),
        (lambda lang: lang.date(date(2026, 7, 1)), "1 juli 2026", "1 July 2026"),
        (
            lambda lang: lang.moment("2026-10-15T14:30:00Z"),
            "15 oktober 2026, 14.30 uur UTC",
            "15 October 2026, 14:30 UTC",
        ),
        (lambda lang: lang.period_name({"label": "2026Q3"}), "3e kwartaal 2026", "Q3 2026"),
        (
            lambda lang: lang.period_phrase({"label": "2026Q3"}),
            "het 3e kwartaal van 2026",
            "Q3 2026",
        ),
        (lambda lang: lang.period_name({"label": "2026-07"}), "juli 2026", "July 2026"),
        (
            lambda lang: lang.period_span(
                {"from": "2026-07-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
            ),
            "1 juli 2026 t/m 30 september 2026",
            "1 July 2026 to 30 September 2026",
        ),
        (lambda lang: lang.country("AE"), "Verenigde Arabische Emiraten", "United Arab Emirates"),
        (
            lambda lang: lang.ngettext("Within %(num)d day", "Within %(num)d days", 3),
            "Binnen 3 dagen",
            "Within 3 days",
        ),
    ],
)
def test_numbers_dates_and_periods(call, dutch, english):
    assert call(NL) == dutch
    assert call(EN) == english


def test_every_message_has_a_dutch_translation():
    catalogue = _catalogue()
    translated = {_key(m): m for m in catalogue if m.id}
    missing = [
        key
        for key in map(_key, (m for m in extract_messages() if m.id))
        if key not in translated or not translated[key].string or translated[key].fuzzy
    ]
    assert missing == []


def test_the_catalogue_has_no_stale_messages():
    extracted = {_key(m) for m in extract_messages() if m.id}
    stale = [_key(m) for m in _catalogue() if m.id and _key(m) not in extracted]
    assert stale == [], "run `python -m reports.catalogue` and drop the obsolete entries"


def test_translations_keep_every_placeholder():
    catalogue = _catalogue()
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(placeholder.findall(ids[-1]))
        for text in strings:
            assert set(placeholder.findall(text)) == wanted, (message.id, text)


def _figures() -> BriefingFigures:
    import numpy as np

    return BriefingFigures(
        months=[MonthShare(date(2026, m, 1), 100, 80, 15, 30, 5) for m in range(1, 10)],
        outside_now=Share(40, 250, 14),
        outside_before=Share(30, 180, 12),
        curves=[
            Curve(
                "Fast Host B.V.", 117, np.array([1.0, 5.0, 30.0]), np.array([0.8, 0.4, 0.1]), 200.0
            ),
            Curve("", 264, np.array([2.0, 40.0]), np.array([0.7, 0.4]), 300.0, total=True),
        ],
    )


@pytest.mark.parametrize("document", ["scorecard", "briefing"])
def test_dutch_documents_carry_no_english_text(document):
    """Every English text that has a different Dutch translation is absent from the Dutch
    output (data aside: the hand-written snapshot's names are not English words)."""
    snapshot = sample_snapshot()
    if document == "scorecard":
        html = scorecard_html(snapshot, "nl", flags=FLAGS)
    else:
        html = briefing_html(snapshot, _figures(), "nl", flags=FLAGS)
    # The one English term Dutch documents use as is.
    text = Document(html).visible_text.replace("content delivery network", "")
    english = []
    for message in _catalogue():
        if not message.id or not isinstance(message.id, str) or message.string == message.id:
            continue
        if "%(" in message.id or len(message.id) < 5:
            continue
        if re.search(rf"\b{re.escape(message.id.replace('%%', '%'))}\b", text):
            english.append(message.id)
    assert english == []
    assert "Verwijdertijden per hostingprovider" in text or "Kerncijfers" in text


def test_trend_rows_name_a_quarter_not_yet_over_in_both_languages():
    from reports.briefing_report import trend_rows

    quarter = {
        "label": "2026Q4",
        "from": "2026-10-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
        "complete": False,
        "days": 67,
        "notices": 0,
        "median_hours": None,
        "median_hours_ci": [None, None],
        "norms": {"atkm_12h": {"share": None, "ci": [None, None]}},
        "low_volume": True,
        "outside": {"outside": 0, "known": 0, "unknown": 0, "share": None, "ci": [None, None]},
        "snapshot_id": None,
    }
    trend = {"norms": [{"key": "atkm_12h", "hours": 12.0, "label": "ATKM 12 h"}]}
    trend["quarters"] = [quarter]
    assert trend_rows(EN, trend)[0]["name"] == "Q4 2026 to date"
    assert trend_rows(NL, trend)[0]["name"] == "4e kwartaal 2026 tot nu toe"
    assert trend_rows(EN, trend)[0]["norms"] == [("–", None)]
