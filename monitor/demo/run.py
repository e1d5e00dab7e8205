"""`monitor demo`: the whole pipeline on a generated hotline export.

Each step calls the same library function the real command calls, and yields
one or more lines saying what it did, so the demo doubles as a smoke test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from monitor.core.timeutil import iso, utcnow
from monitor.demo.data import demo_window, quarter_start, write_export
from monitor.drift import run_drift
from monitor.ingest import IngestOptions, ingest_file
from monitor.statistics.overdue import overdue_notices
from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard import compute_scorecard
from monitor.store.db import make_engine
from monitor.store.schema import upgrade
from monitor.store.status import store_status
from providers import resolve_pending
from reports import publish_briefing, write_quarterly_reports
from reports.publish import file_stem

# Weekly drift runs start once a baseline (90 days) and a recent window (30 days) exist.
DRIFT_HISTORY_DAYS = 120


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
        yield from _weekly_drift(engine, now)
        drift = run_drift(engine, as_of=now)
        yield f"drift: {len(drift['flags'])} flag(s)"
        for flag in drift["flags"][:8]:
            yield f"  [{flag['kind']}] since {flag['since'][:10]}: {flag['detail']}"
        reports = write_quarterly_reports(
            engine, period_label=period.label, out_dir=out / "reports", as_of=now
        )
        for path in reports:
            yield f"report: {path}"
        # The current quarter, to date: where the reseller's move to the UAE shows.
        current = parse_period(_quarter_label(quarter_start(now)))
        for fmt in ("html", "pdf"):
            path, _snapshot = publish_briefing(
                engine,
                out=out / "reports" / f"briefing-{file_stem(current.label)}-to-date-en.{fmt}",
                fmt=fmt,
                period=current,
                as_of=now,
            )
            yield f"report: {path}"
    finally:
        engine.dispose()


def _weekly_drift(engine, now: datetime) -> Iterator[str]:
    """The drift check as the scheduler runs it, weekly, over the demo's months (stored
    runs: the episodes accumulate and the reports read them from the store)."""
    start, _ = demo_window(now)
    first = start + timedelta(days=DRIFT_HISTORY_DAYS)
    when, runs = first, 0
    while when < now:
        run_drift(engine, as_of=when)
        when += timedelta(days=7)
        runs += 1
    yield f"drift: {runs} weekly runs from {first.date().isoformat()}, as the scheduler makes them"


def _quarter_label(start: datetime) -> str:
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


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
    from monitor.core.durations import duration_text

    return duration_text(value, missing="not reached")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _last_full_quarter_label(now: datetime) -> str:
    start = quarter_start(now)
    month = start.month - 3
    year = start.year - (month < 1)
    return f"{year}Q{((month - 1) % 12) // 3 + 1}"
