"""A period not over at the as-of time: labelled "to date" everywhere, and its counts are
compared with the full previous period per day, never as a bare percentage."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard_output import print_table
from reports.briefing_report import briefing_html
from reports.language import Language
from reports.scorecard_report import scorecard_html
from tests.reports.test_reports_language import _figures
from tests.reports.test_reports_support import Document, sample_snapshot

Q4 = parse_period("2026Q4")
AS_OF = datetime(2026, 12, 7, tzinfo=UTC)


def partial_snapshot() -> dict:
    snapshot = sample_snapshot()
    snapshot["period"] = {**Q4.to_json(), **Q4.progress(AS_OF)}
    snapshot["previous_period"] = Q4.previous().to_json()
    snapshot["as_of"] = "2026-12-07T00:00:00Z"
    snapshot["totals"]["notices"] = 8000
    snapshot["totals"]["previous"]["notices"] = 11000
    return snapshot


def test_progress_of_a_quarter():
    assert Q4.progress(AS_OF) == {"complete": False, "days_elapsed": 67.0, "days": 92.0}
    assert Q4.progress(datetime(2027, 1, 3, tzinfo=UTC))["complete"] is True


def test_partial_quarter_is_labelled_and_compared_per_day():
    snapshot = partial_snapshot()
    for lang, label, per_day in (
        ("en", "Q4 2026 to date, 67 of 92 days", "per day"),
        ("nl", "4e kwartaal 2026 tot nu toe, 67 van 92 dagen", "per dag"),
    ):
        scorecard = Document(scorecard_html(snapshot, lang)).visible_text
        briefing = Document(briefing_html(snapshot, _figures(), lang, flags=[])).visible_text
        assert label in scorecard and label in briefing
        # 8,000 in 67 days against 11,000 in 92 days (Q3): -0 % per day, never "-27%".
        assert per_day in briefing and "-27%" not in briefing and "−27%" not in briefing
        assert (
            Language(lang)
            .count_change(8000, 11000, snapshot["period"], snapshot["previous_period"])
            .startswith(("0%", "0 %"))
        )


def test_partial_quarter_in_the_terminal_table():
    snapshot = partial_snapshot()
    out = io.StringIO()
    print_table(snapshot, Console(file=out, width=250))
    assert "2026Q4 to date, 67 of 92 days" in out.getvalue()


def test_unknown_and_cdn_rows_are_shown_apart_and_never_ranked():
    from tests.reports.test_reports_support import _row

    snapshot = sample_snapshot()
    for key in ("unknown", "unknown (behind Cloudflare)"):
        row = _row(
            key,
            notices=300,
            removed=200,
            open_=100,
            median=40.0,
            ci=[30.0, 50.0],
            p90=None,
            w12=0.1,
            w24=0.3,
            w72=0.6,
            rank=None,
        )
        row["category"] = "unknown" if key == "unknown" else "cdn"
        snapshot["rows"].append(row)
    html = scorecard_html(snapshot, "en")
    ranked = html[html.index('id="ranked"') : html.index('id="low-volume"')]
    apart = html[html.index('id="not-providers"') :]
    for key in ("unknown", "unknown (behind Cloudflare)"):
        assert f'data-key="{key}"' not in ranked and f'data-key="{key}"' in apart
    assert "Unknown and CDN-fronted notices: not ranked" in html
    briefing = briefing_html(snapshot, _figures(), "en", flags=[])
    assert "not a provider: not ranked" in briefing
    out = io.StringIO()
    print_table(snapshot, Console(file=out, width=250))
    lines = [line for line in out.getvalue().splitlines() if "unknown" in line]
    assert lines and all("not ranked" in line for line in lines)
