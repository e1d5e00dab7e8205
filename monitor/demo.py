"""`monitor demo`: the whole pipeline on a generated hotline export.

Each step calls the same library function the real command calls, and yields
one or more lines saying what it did, so the demo doubles as a smoke test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from monitor.db import make_engine
from monitor.demo_data import quarter_start, write_export
from monitor.drift import run_drift
from monitor.ingest import IngestOptions, ingest_file
from monitor.overdue import overdue_notices
from monitor.periods import parse_period
from monitor.schema import upgrade
from monitor.scorecard import compute_scorecard
from monitor.status import store_status
from monitor.timeutil import iso, utcnow
from providers import resolve_pending
from reports import write_quarterly_reports


def run_demo(
    out: Path,
    *,
    tickets: int = 30000,
    seed: int = 2026,
    db_url: str | None = None,
    now: datetime | None = None,
) -> Iterator[str]:
    """Generate an export into `out`, ingest it into `out/monitor.db` (or `db_url`), and report."""
    now = now or utcnow()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        # The demo's own database starts afresh each run, so its figures match its export.
        for stale in out.glob("monitor.db*"):
            stale.unlink()
    url = db_url or f"sqlite:///{(out / 'monitor.db').resolve()}"
    export = write_export(out / "hotline-export.csv", tickets, seed, now)
    yield f"generated {tickets} tickets (and a few bad rows) -> {export}"
    engine = make_engine(url)
    try:
        yield f"schema at revision {', '.join(upgrade(engine))}"
        yield from _ingest(engine, export, now)
        resolved = resolve_pending(engine, now=now)
        versions = ", ".join(
            f"{name} {version}" for name, version in resolved["data_versions"].items()
        )
        late = resolved.get("resolved_late", 0)
        backfill = f"; {late} reported over a week ago, resolved with today's data" if late else ""
        count = resolved.get("resolved", 0)
        yield f"resolve: {count} tickets resolved offline ({versions}){backfill}"
        facts = store_status(engine)
        yield (
            f"store: {facts['tickets']} tickets, {facts['open']} still online, "
            f"{facts['quarantined']} quarantined"
        )
        period = parse_period(_last_full_quarter_label(now))
        yield from _scorecard(engine, period, now)
        overdue = overdue_notices(engine, older_than_hours=24, as_of=now, limit=0)
        yield f"overdue: {overdue['count']} notices still online more than 24 h after the notice"
        drift = run_drift(engine, as_of=now)
        yield f"drift: {len(drift['flags'])} flag(s)"
        for flag in drift["flags"][:8]:
            yield f"  [{flag['kind']}] {flag['detail']}"
        reports = write_quarterly_reports(
            engine, period_label=period.label, out_dir=out / "reports", as_of=now
        )
        for path in reports:
            yield f"report: {path}"
    finally:
        engine.dispose()


def _ingest(engine, export: Path, now: datetime) -> Iterator[str]:
    summary = ingest_file(engine, export, IngestOptions(source="demo"), now=now)
    yield (
        f"ingest: read {summary.read}, inserted {summary.inserted}, "
        f"unchanged {summary.unchanged}, quarantined {summary.quarantined}, "
        f"removed before notice {summary.removed_before_notice}"
    )
    for error in summary.errors[:10]:
        yield f"  quarantined line {error['line']}: {error['reason']}"


def _scorecard(engine, period, now: datetime) -> Iterator[str]:
    scorecard = compute_scorecard(engine, period=period, as_of=now, by="provider")
    totals = scorecard["totals"]
    yield (
        f"scorecard {period.label} as of {iso(now)}: {totals['notices']} notices, "
        f"median {_hours(totals['median_hours'])}, within 24 h {_share(totals['within_24h'])}"
    )
    for row in scorecard["rows"][:8]:
        low = "  (low volume)" if row["low_volume"] else ""
        yield (
            f"  {row['name'][:40]:40} {row['notices']:6} notices"
            f"  median {_hours(row['median_hours']):>12}"
            f"  within 24 h {_share(row['within_24h']):>6}{low}"
        )


def _hours(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} h"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _last_full_quarter_label(now: datetime) -> str:
    start = quarter_start(now)
    month = start.month - 3
    year = start.year - (month < 1)
    return f"{year}Q{((month - 1) % 12) // 3 + 1}"
