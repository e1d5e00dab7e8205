"""Feed and scheduler benchmark: a paginated pull from a fake hotline API; the job-status query.

Targets (issue 6):
- a feed pull of 1,000-item pages costs at most 2x the time of ingesting the same tickets
  from one file (the per-page transaction, ingest-run record and cursor write are the
  overhead), on SQLite and PostgreSQL; peak memory under 512 MB (one page at a time);
- `schedule list` / `job_status` answer in under 100 ms with 100,000 recorded job runs;
- a 60 MB page built to be slow to parse (brackets nested to the bound and past it, a
  string of escaped quotes, millions of small strings) is read or refused in under 10 s
  (issue 18).

    python bench/feed.py [--tickets 200000] [--page-size 1000] [--runs 100000] [--skip-postgres]

The API is an httpx MockTransport reading pre-written page files from disk (no network,
page bodies are not held in memory). Each database run happens in a child process so
its peak memory is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, peak_rss_mb, print_table  # noqa: E402
from bench.ingest import _drop_postgres_schema, _fresh_postgres_url, make_file  # noqa: E402

BASE = "https://hotline.example/api/tickets"


def write_pages(export: Path, folder: Path, page_size: int) -> int:
    """Split a CSV export into JSON pages `page-N.json` linked by `next`; returns the count."""
    with export.open(encoding="utf-8", newline="") as handle:
        rows = [
            {key: value for key, value in row.items() if value} for row in csv.DictReader(handle)
        ]
    pages = (len(rows) + page_size - 1) // page_size
    for number in range(pages):
        body = {
            "tickets": rows[number * page_size : (number + 1) * page_size],
            "next": f"{BASE}?page={number + 1}" if number + 1 < pages else None,
        }
        (folder / f"page-{number}.json").write_text(json.dumps(body), "utf-8")
    return pages


def _pull(url: str, pages_dir: str, queue) -> None:
    import httpx

    from monitor.ingest.feed import pull
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    def serve(request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("page", "0")
        return httpx.Response(
            200,
            content=(Path(pages_dir) / f"page-{page}.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )

    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    result = pull(
        engine,
        BASE,
        source="bench",
        token_env=None,
        transport=httpx.MockTransport(serve),
        max_pages=1_000_000,
        deadline=24 * 3600.0,  # measure the whole pull, not the default five-minute slice
    )
    queue.put(
        {
            "seconds": time.perf_counter() - start,
            "inserted": result["inserted"],
            "pages": result["pages"],
            "peak_mb": peak_rss_mb(),
        }
    )


def _ingest(url: str, path: str, queue) -> None:
    from monitor.ingest import ingest_file
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    summary = ingest_file(engine, Path(path))  # the real clock, as the pull uses
    queue.put(
        {
            "seconds": time.perf_counter() - start,
            "inserted": summary.inserted,
            "peak_mb": peak_rss_mb(),
        }
    )


def _status(url: str, runs: int, queue) -> None:
    import sqlalchemy as sa

    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade
    from schedules import job_status, list_jobs, load_config
    from schedules.config import JOB_NAMES
    from schedules.models import JobRun

    engine = make_engine(url)
    upgrade(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "job": JOB_NAMES[n % len(JOB_NAMES)],
            "trigger": "schedule",
            "runner": "bench:1",
            "started_at": start + timedelta(minutes=n),
            "finished_at": start + timedelta(minutes=n, seconds=5),
            "outcome": "ok" if n % 11 else "failed",
            "counts": '{"read": 1000}',
        }
        for n in range(runs)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(JobRun.__table__), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # what autovacuum does after a bulk insert
            connection.exec_driver_sql("ANALYZE job_run")
    config = load_config()
    job_status(engine)  # warm the connection pool
    timings = {}
    for name, call in (
        ("job_status", lambda: job_status(engine)),
        ("list_jobs", lambda: list_jobs(engine, config)),
    ):
        begin = time.perf_counter()
        for _ in range(5):
            call()
        timings[name] = (time.perf_counter() - begin) / 5
    queue.put(timings)


def _hostile_pages(queue) -> None:
    """Seconds to read (or refuse) 60 MB pages built to be slow: brackets nested to the
    bound over and over, one past it, one string of escaped quotes, 15 million small strings."""
    from monitor.ingest.feed_page import MAX_JSON_DEPTH, MalformedPage, parse_page

    size = 60_000_000
    deep = MAX_JSON_DEPTH - 2  # inside the envelope object and the tickets list
    bodies = {
        "nested to the bound": b'{"tickets": ['
        + b",".join([b"[" * deep + b"]" * deep] * (size // (2 * deep + 1)))
        + b"]}",
        "nested one past it": b'{"tickets": [' + (b"[" * 65 + b"]" * 65) * (size // 130) + b"]}",
        "escaped quotes": b'{"tickets": [], "x": "' + b'a\\"' * (size // 3) + b'"}',
        "small strings": b'{"tickets": [' + b",".join([b'"a"'] * (size // 4)) + b"]}",
    }
    timings = {}
    for name, body in bodies.items():
        begin = time.perf_counter()
        try:
            parse_page(body)
        except MalformedPage:
            pass
        timings[name] = time.perf_counter() - begin
    queue.put({"timings": timings})


def _in_child(target, *args) -> dict:
    """Run `target(*args, queue)` in a forked child; a child dying without an answer is an error."""
    import multiprocessing
    import queue as queues

    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    process = context.Process(target=target, args=(*args, answers))
    process.start()
    while True:
        try:
            result = answers.get(timeout=1)
            break
        except queues.Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"{target.__name__} died (exit code {process.exitcode})"
                ) from None
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        export = make_file(folder, args.tickets)
        pages_dir = folder / "pages"
        pages_dir.mkdir()
        pages = write_pages(export, pages_dir, args.page_size)
        rows.append(("input", f"{args.tickets:,} tickets in {pages} pages of {args.page_size}", ""))
        backends = [("SQLite", lambda name: (None, f"sqlite:///{folder / name}"))]
        if not args.skip_postgres:
            backends.append(("PostgreSQL", lambda name: _fresh_postgres_url()))
        for label, make_url in backends:
            schemas = []
            try:
                schema, url = make_url("pull.db")
                schemas.append(schema)
                feed = _in_child(_pull, url, str(pages_dir))
                schema, url = make_url("file.db")
                schemas.append(schema)
                file = _in_child(_ingest, url, str(export))
                schema, url = make_url("status.db")
                schemas.append(schema)
                status = _in_child(_status, url, args.runs)
            finally:
                for schema in filter(None, schemas):
                    _drop_postgres_schema(schema)
            assert feed["inserted"] == file["inserted"] == args.tickets, (feed, file)
            rows += [
                (
                    f"{label} feed pull",
                    f"{feed['inserted'] / feed['seconds']:,.0f} tickets/s "
                    f"({feed['pages'] / feed['seconds']:,.1f} pages/s, {feed['seconds']:.1f} s)",
                    "",
                ),
                (
                    f"{label} file ingest, same tickets",
                    f"{file['inserted'] / file['seconds']:,.0f} tickets/s",
                    "",
                ),
                (
                    f"{label} ratio pull / file (time)",
                    f"{feed['seconds'] / file['seconds']:.2f}x",
                    "<= 2x",
                ),
                (f"{label} feed pull peak memory", f"{feed['peak_mb']:.0f} MB", "< 512 MB"),
                (
                    f"{label} job_status, {args.runs:,} runs",
                    f"{status['job_status'] * 1000:.1f} ms",
                    "< 100 ms",
                ),
                (
                    f"{label} schedule list, {args.runs:,} runs",
                    f"{status['list_jobs'] * 1000:.1f} ms",
                    "< 100 ms",
                ),
            ]
    hostile = _in_child(_hostile_pages)
    for name, seconds in hostile["timings"].items():
        rows.append((f"60 MB hostile page: {name}", f"{seconds:.1f} s", "< 10 s"))
    print(f"machine: {machine()}")
    print_table(rows)


if __name__ == "__main__":
    main()
