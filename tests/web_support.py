"""A seeded store for the workbench tests: providers with known figures, a drift flag, a
hostile provider name, overdue notices with formula-leading ticket ids, quarantined rows,
and two accounts (an analyst and a viewer)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from monitor.drift import run_drift
from monitor.ingest import IngestOptions, ingest_file
from monitor.web.accounts import add_user
from tests.drift.test_drift_scenarios import (
    AS_OF,
    baseline_times,
    insert,
    recent_times,
    stable_providers,
    ticket,
)
from tests.reports.test_reports_support import HOSTILE
from tests.ticket_files import good_row, write_csv

AS_OF_PARAM = "as_of=2026-10-01T00:00:00Z"
PERIOD = "2026Q3"
RESELLER = "Example Reseller Ltd"
TERMINAL = "Evil\x1b[31m\x1b]0;owned\x07 Host"
FORMULA_ID = "=HYPERLINK(1)"
PASSWORD = "a long enough passphrase"
ANALYST, VIEWER = "ana", "victor"


def seed(engine, tmp_path: Path) -> None:
    """Fill the store (tickets as the resolution stage leaves them) and create the accounts."""
    rows = stable_providers(20)
    rows += [ticket(RESELLER, "NL", t) for t in baseline_times(40)]
    rows += [ticket(RESELLER, "AE", t, hours_to_removal=200.0) for t in recent_times(25)]
    rows += [ticket(HOSTILE, "NL", t, hours_to_removal=3.0) for t in recent_times(12)]
    rows += [ticket(TERMINAL, "DE", t, hours_to_removal=5.0) for t in recent_times(6)]
    # Still online at AS_OF: the overdue queue (one ticket id a spreadsheet would run).
    overdue_times = [AS_OF - timedelta(days=3, hours=i) for i in range(4)]
    rows += [ticket("Slow Host", "NL", t, hours_to_removal=None) for t in overdue_times]
    rows[-1]["ticket_id"] = FORMULA_ID
    insert(engine, rows)
    run_drift(engine, as_of=AS_OF)
    bad = [good_row(1, reported_at="not a time"), good_row(2, url_hash="short")]
    ingest_file(engine, write_csv(tmp_path / "bad.csv", bad), IngestOptions(source="hotline-b"))
    add_user(engine, ANALYST, "analyst", PASSWORD)
    add_user(engine, VIEWER, "viewer", PASSWORD)


def token(html: str) -> str:
    """The CSRF token in a page's forms."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    """Sign in through the login form; returns the response after the redirect."""
    page = client.get("/login")
    return client.post(
        "/login", data={"csrf": token(page.text), "name": name, "password": password}
    )
