"""Ingest benchmark: 1,000,000 generated tickets from CSV into SQLite and PostgreSQL.

Targets (issue 2): >= 100,000 tickets/s on SQLite on a 2-core machine, within 3x of a bare
`sqlite3.executemany` of the same already-parsed rows in the same run, peak memory under 1 GB.

    python bench/ingest.py [--tickets 1000000] [--skip-postgres]
    python bench/ingest.py --gigabyte        # a 1 GB file through SQLite: peak memory stays flat

Each database run happens in a child process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import POSTGRES_URL, machine, peak_rss_mb, print_table  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def make_file(folder: Path, tickets: int) -> Path:
    from monitor.demo.data import write_export

    return write_export(folder / f"tickets-{tickets}.csv", tickets, seed=1, now=NOW, bad_rows=False)


def _ingest(url: str, path: str, queue) -> None:
    from monitor.ingest import ingest_file
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    summary = ingest_file(engine, Path(path), now=NOW)
    seconds = time.perf_counter() - start
    queue.put({"seconds": seconds, "inserted": summary.inserted, "peak_mb": peak_rss_mb()})


def _bare_sqlite(url: str, path: str, queue) -> None:
    """The baseline: parse all rows first (not timed), then one executemany into the same schema."""
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [
            (
                "default",
                r["ticket_id"],
                r["url_hash"],
                r["reported_at"],
                r["notified_at"] or None,
                r["removed_at"] or None,
                r["checked_at"] or None,
                r["ip"] or None,
                r["hostname"] or None,
                r["provider"] or None,
                r["country"] or None,
                r["reported_at"],
                r["reported_at"],
            )
            for r in csv.DictReader(handle)
        ]
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    connection.executemany(
        "INSERT INTO ticket (source, ticket_id, url_hash, reported_at, notified_at, removed_at,"
        " checked_at, ip, hostname, stated_provider, stated_country, first_learnt_at,"
        " last_learnt_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    connection.commit()
    queue.put(
        {"seconds": time.perf_counter() - start, "inserted": len(rows), "peak_mb": peak_rss_mb()}
    )


def _in_child(target, *args) -> dict:
    queue = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _fresh_postgres_url() -> tuple[str, str]:
    import uuid

    import sqlalchemy as sa

    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    return schema, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _drop_postgres_schema(schema: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def gigabyte() -> None:
    """A 1 GB export (about 5.4 M tickets) streamed into SQLite; reports time and peak memory."""
    tickets = 5_400_000
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = make_file(folder, tickets)
        size_gb = path.stat().st_size / 1e9
        result = _in_child(_ingest, f"sqlite:///{folder / 'big.db'}", str(path))
    print(f"machine: {machine()}")
    print_table(
        [
            ("input", f"{result['inserted']:,} tickets, {size_gb:.2f} GB CSV", ""),
            (
                "SQLite ingest of the 1 GB file",
                f"{result['inserted'] / result['seconds']:,.0f} tickets/s "
                f"({result['seconds']:.0f} s)",
                "",
            ),
            ("peak memory, 1 GB file", f"{result['peak_mb']:.0f} MB", "bounded (< 1,024 MB)"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--gigabyte", action="store_true", help="only: stream a 1 GB file into SQLite"
    )
    args = parser.parse_args()
    if args.gigabyte:
        gigabyte()
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = make_file(folder, args.tickets)
        size_mb = path.stat().st_size / 1e6
        ours = _in_child(_ingest, f"sqlite:///{folder / 'ours.db'}", str(path))
        bare = _in_child(_bare_sqlite, f"sqlite:///{folder / 'bare.db'}", str(path))
        again = _in_child(
            _ingest, f"sqlite:///{folder / 'ours.db'}", str(path)
        )  # idempotent re-run
        rows = [
            ("input", f"{args.tickets:,} tickets, {size_mb:.0f} MB CSV", ""),
            (
                "SQLite ingest",
                f"{ours['inserted'] / ours['seconds']:,.0f} tickets/s ({ours['seconds']:.1f} s)",
                ">= 100,000 tickets/s",
            ),
            (
                "bare sqlite3.executemany (parsed rows)",
                f"{bare['inserted'] / bare['seconds']:,.0f} rows/s",
                "",
            ),
            ("ratio ours / bare (time)", f"{ours['seconds'] / bare['seconds']:.2f}x", "<= 3x"),
            ("SQLite ingest peak memory", f"{ours['peak_mb']:.0f} MB", "< 1,024 MB"),
            (
                "SQLite re-ingest (all unchanged)",
                f"{args.tickets / again['seconds']:,.0f} tickets/s",
                "",
            ),
        ]
        if not args.skip_postgres:
            schema, url = _fresh_postgres_url()
            try:
                pg = _in_child(_ingest, url, str(path))
            finally:
                _drop_postgres_schema(schema)
            rows.append(
                (
                    "PostgreSQL ingest",
                    f"{pg['inserted'] / pg['seconds']:,.0f} tickets/s ({pg['seconds']:.1f} s)",
                    "",
                )
            )
            rows.append(("PostgreSQL ingest peak memory", f"{pg['peak_mb']:.0f} MB", "< 1,024 MB"))
    print(f"machine: {machine()}")
    print_table(rows)


if __name__ == "__main__":
    main()
