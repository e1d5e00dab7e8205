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
from monitor.ingest import IngestOptions, ingest_file
from monitor.schema import upgrade
from monitor.status import store_status
from monitor.timeutil import utcnow


def run_demo(out: Path, *, tickets: int = 30000, seed: int = 2026, db_url: str | None = None,
             now: datetime | None = None) -> Iterator[str]:
    """Generate an export into `out`, ingest it into `out/monitor.db` (or `db_url`), and report."""
    now = now or utcnow()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    url = db_url or f"sqlite:///{(out / 'monitor.db').resolve()}"
    export = write_export(out / "hotline-export.csv", tickets, seed, now)
    yield f"generated {tickets} tickets (and a few bad rows) -> {export}"
    engine = make_engine(url)
    try:
        yield f"schema at revision {', '.join(upgrade(engine))}"
        summary = ingest_file(engine, export, IngestOptions(source="demo"), now=now)
        yield (f"ingest: read {summary.read}, inserted {summary.inserted}, unchanged {summary.unchanged}, "
               f"quarantined {summary.quarantined}, removed before notice {summary.removed_before_notice}")
        for error in summary.errors[:10]:
            yield f"  quarantined line {error['line']}: {error['reason']}"
        facts = store_status(engine)
        yield f"store: {facts['tickets']} tickets, {facts['open']} still online, {facts['quarantined']} quarantined"
        last_quarter = _last_full_quarter_label(now)
        yield f"last full quarter: {last_quarter}"
    finally:
        engine.dispose()


def _last_full_quarter_label(now: datetime) -> str:
    start = quarter_start(now)
    month = start.month - 3
    year = start.year - (month < 1)
    return f"{year}Q{((month - 1) % 12) // 3 + 1}"
