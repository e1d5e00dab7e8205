"""`monitor demo` runs end to end on the embedded default and produces realistic data."""

from __future__ import annotations

import csv
import re
import sqlite3
import statistics
from contextlib import closing
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from monitor.demo.data import BAD_ROWS, demo_window, generate_rows

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _hours(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600


def test_generated_rows_are_valid_and_providers_differ():
    rows = list(generate_rows(6000, seed=7, now=NOW))
    start, _ = demo_window(NOW)
    assert start == datetime(2026, 4, 1, tzinfo=UTC)
    assert all(start.isoformat()[:10] <= r["reported_at"][:10] <= "2026-11-22" for r in rows)
    by_provider: dict[str, list[float]] = {}
    for row in rows:
        if row["removed_at"] and row["removed_at"] >= row["notified_at"]:
            by_provider.setdefault(row["provider"], []).append(
                _hours(row["notified_at"], row["removed_at"])
            )
    fast = statistics.median(by_provider["LeaseWeb Netherlands B.V."])
    slow = statistics.median(by_provider["IQWeb FZ-LLC"])
    assert fast < 12 < 200 < slow
    assert any(not r["removed_at"] for r in rows)  # some content still online
    assert any(not r["provider"] for r in rows)  # origin unknown (behind a CDN)
    reseller = [r for r in rows if r["provider"] == "Example Reseller Ltd"]
    assert {r["ip"].split(".")[0] for r in reseller[:50]} == {"5"}  # LeaseWeb NL upstream first ...
    assert {r["ip"].split(".")[0] for r in reseller[-10:]} == {
        "190"
    }  # ... IQWeb AE in the last weeks
    hashes = [r["url_hash"] for r in rows]
    assert (
        len(hashes) - len(set(hashes)) >= 5
    )  # some URLs re-reported (inside the EU, then outside)


def test_same_seed_same_data():
    assert list(generate_rows(300, seed=1, now=NOW)) == list(generate_rows(300, seed=1, now=NOW))


def test_demo_command_runs_the_pipeline(tmp_path):
    from monitor.cli import app

    began = datetime.now(UTC)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--tickets", "3000"])
    ended = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    assert "inserted 3000" in result.output
    assert f"quarantined {len(BAD_ROWS)}" in result.output
    assert (tmp_path / "demo" / "monitor.db").exists()
    # The demo's drift story is in the quarter-to-date briefing, read from the weekly runs.
    assert "weekly runs from" in result.output
    (to_date,) = (tmp_path / "demo" / "reports").glob("briefing-*-to-date-en.html")
    assert "to date" in to_date.read_text(encoding="utf-8")
    assert (
        "Example Reseller</strong> moved its hosting from Netherlands (NL) to United Arab "
        "Emirates (AE)" in to_date.read_text(encoding="utf-8")
    )
    with (tmp_path / "demo" / "hotline-export.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3000 + len(BAD_ROWS)
    # The demo is a backfill: it says how many tickets were resolved with today's data.
    late = re.search(
        r"resolve: 3000 tickets resolved offline \(.*\); (\d+) reported over a week ago, "
        r"resolved with today's data\n",
        result.output,
    )
    assert late, result.output
    with closing(sqlite3.connect(tmp_path / "demo" / "monitor.db")) as db:  # UTC, as text
        reported = [
            datetime.fromisoformat(r) for (r,) in db.execute("SELECT reported_at FROM ticket")
        ]

    def older_than_a_week(moment: datetime) -> int:
        limit = (moment - timedelta(days=7)).replace(tzinfo=None)
        return sum(1 for stamp in reported if stamp < limit)

    # The run's own clock lies between the two.
    assert older_than_a_week(began) <= int(late.group(1)) <= older_than_a_week(ended)
    assert int(late.group(1)) > 2500
