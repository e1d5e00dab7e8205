"""Fair-comparison columns benchmark (issue 22).

Target: the size and re-appearance columns add less than 25 % to the scorecard time on
10,000,000 tickets (the full quarterly scorecard: provider, network and country groupings).

    python bench/fair.py [--tickets 10000000] [--providers 500] [--reappear 0.1] [--repeat 3]
                         [--pfx2as FILE --asnames FILE] [--cache-dir /tmp/monitor-bench]

The database is the scorecard benchmark's (bench/scorecard.py: Zipf-like providers, log-normal
removal times, censoring), with two changes so the new columns have real work to do:
- a share (`--reappear`, default 10 %) of the tickets re-report the url_hash of another
  ticket, so removed items come back;
- the providers' tickets are resolved to real AS numbers of the RouteViews table
  (../shared/data/routeviews, 845,161 IPv4 prefixes, imported into the database), so the
  provider sizes are unions over real prefixes.

Each run is a child process: after an untimed warm-up read, it computes the scorecard
figures as they were before issue 22 (ticket frame without url_hash, then the three
groupings), then the full scorecard as `compute_scorecards` does now (frame with url_hash, then
`scorecards_with_fair_columns`: the groupings, and beside them in a second thread the sizes
and the re-appearance matched on that frame plus one indexed query for later reports
outside it), alternately PAIRS times, and keeps the fastest of each kind. The table shows
the medians over the `--repeat` processes and the difference. The machine is shared: CPU
time (the frame's parsing thread included) and load average are printed beside the wall
time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, peak_rss_mb, print_table  # noqa: E402
from bench.scorecard import (  # noqa: E402
    AS_OF,
    QUARTER,
    RESOLVED_COLUMNS,
    SPLIT,
    TICKET_COLUMNS,
    _cpu_seconds,
    _insert,
    _ticket_columns,
)
from monitor.store.models import QUEUE_UNRESOLVED  # noqa: E402

# ../shared next to the checkout (a worktree sits one level deeper)
SHARED = next(
    (
        parent / "shared" / "data" / "routeviews"
        for parent in Path(__file__).resolve().parents[2:4]
        if (parent / "shared").is_dir()
    ),
    Path("shared/data/routeviews"),
)
HASH, ASN = 3, 10  # positions in bench.scorecard's generated rows


def _real_asns(pfx2as: Path, count: int) -> list[int]:
    """The `count` ASes with the most IPv4 prefixes in the table (hosting-sized networks)."""
    import gzip

    counts: dict[int, int] = {}
    opener = gzip.open if pfx2as.suffix == ".gz" else open
    with opener(pfx2as, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) == 3 and fields[2].isdigit():
                counts[int(fields[2])] = counts.get(int(fields[2]), 0) + 1
    return [asn for asn, _ in sorted(counts.items(), key=lambda item: -item[1])[:count]]


def make_database(path: Path, args) -> None:
    """The benchmark database: tickets with re-reports and real ASes, plus the prefix table."""
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade
    from providers.prefix_import import refresh_prefix_table

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    refresh_prefix_table(engine, str(args.pfx2as), None, str(args.asnames))
    engine.dispose()
    asns = _real_asns(args.pfx2as, args.providers)
    rng = np.random.default_rng(22)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    chunk = 250_000
    for start in range(0, args.tickets, chunk):
        rows = [
            list(row)
            for row in _ticket_columns(rng, min(chunk, args.tickets - start), args.providers, start)
        ]
        again = np.flatnonzero(rng.random(len(rows)) < args.reappear)
        source = rng.integers(0, start + len(rows), len(again))
        for position, other in zip(again.tolist(), source.tolist(), strict=True):
            rows[position][HASH] = f"{other:064x}"
        for row in rows:
            if row[ASN] is not None:
                row[ASN] = asns[(row[ASN] - 64512) % len(asns)]
        parts = [SPLIT(tuple(row)) for row in rows]
        connection.executemany(_insert("ticket", TICKET_COLUMNS), (t for t, _ in parts))
        connection.executemany(
            _insert("ticket_resolution", RESOLVED_COLUMNS), (r for _, r in parts if r)
        )
        connection.commit()
        print(f"  generated {start + len(rows):,} tickets", file=sys.stderr, flush=True)
    connection.execute(QUEUE_UNRESOLVED)
    connection.commit()
    connection.close()


PAIRS = 2  # (scorecard alone, scorecard with the columns) measured this often per process


def _run(url: str, queue) -> None:
    """One process's measurement: the scorecard alone (its frame without url_hash, as
    before issue 22) and the scorecard with the fair columns as `compute_scorecards`
    computes it (frame with url_hash, the re-appearance matched on it), alternately PAIRS
    times; the fastest of each kind counts (the machine is shared: slower runs are noise)."""
    from monitor.statistics.periods import parse_period
    from monitor.statistics.scorecard import (
        GROUPINGS,
        scorecards_from_frame,
        scorecards_with_fair_columns,
    )
    from monitor.statistics.ticket_frame import load_frame
    from monitor.store.db import make_engine

    engine = make_engine(url)
    period = parse_period(QUARTER)
    window = {"as_of": AS_OF, "start": period.previous().start, "end": period.end}
    scorecards_from_frame(  # warm-up, untimed: imports and the page cache favour no side
        load_frame(engine, **window, columns=("network",)), period=period, groupings=GROUPINGS
    )
    load = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float]]] = {
        "base": [],
        "base_read": [],
        "full": [],
        "full_read": [],
    }
    for _ in range(PAIRS):
        began, cpu = time.perf_counter(), _cpu_seconds()
        frame = load_frame(engine, **window, columns=("network",))
        runs["base_read"].append((time.perf_counter() - began, _cpu_seconds() - cpu))
        scorecards_from_frame(frame, period=period, groupings=GROUPINGS)
        del frame
        runs["base"].append((time.perf_counter() - began, _cpu_seconds() - cpu))
        began, cpu = time.perf_counter(), _cpu_seconds()
        frame = load_frame(engine, **window, columns=("url_hash", "network"))
        runs["full_read"].append((time.perf_counter() - began, _cpu_seconds() - cpu))
        cards = scorecards_with_fair_columns(engine, frame, period=period, groupings=GROUPINGS)
        del frame
        runs["full"].append((time.perf_counter() - began, _cpu_seconds() - cpu))
    best = {name: min(values) for name, values in runs.items()}
    totals = cards["provider"]["totals"]
    queue.put(
        {
            "scorecard_seconds": best["base"][0],
            "scorecard_cpu": best["base"][1],
            "read_seconds": best["base_read"][0],
            "with_url_hash_read_seconds": best["full_read"][0],
            "full_seconds": best["full"][0],
            "full_cpu": best["full"][1],
            "fair_seconds": best["full"][0] - best["base"][0],
            "fair_cpu": best["full"][1] - best["base"][1],
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            "peak_mb": peak_rss_mb(),
            "notices": totals["notices"],
            "removed_items": totals["removed_items"],
            "reappeared": totals["reappeared"],
            "sized_providers": sum(
                1 for row in cards["provider"]["rows"] if row["announced_addresses"]
            ),
        }
    )


def _child(url: str) -> dict:
    import queue as queues

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(url, queue))
    process.start()
    while True:  # a child that died never answers: do not wait for it forever
        try:
            result = queue.get(timeout=5)
            break
        except queues.Empty:
            if not process.is_alive():
                sys.exit(f"the measuring process failed (exit code {process.exitcode})")
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--reappear", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pfx2as", type=Path, default=SHARED / "routeviews-ipv4.pfx2as.gz")
    parser.add_argument("--asnames", type=Path, default=SHARED / "asnames.ipinfo.csv")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/monitor-bench"))
    args = parser.parse_args()
    if not args.pfx2as.exists():
        sys.exit(f"no prefix table at {args.pfx2as} (give --pfx2as and --asnames)")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    path = args.cache_dir / f"fair-{args.tickets}-{args.providers}-{args.reappear}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        began = time.perf_counter()
        make_database(partial, args)
        partial.rename(path)
        print(f"  database in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)  # a database kept from an older version of the code
    engine.dispose()
    print(f"machine: {machine()}")
    runs = [_child(f"sqlite:///{path}") for _ in range(args.repeat)]
    for run in runs:
        print(json.dumps(run))

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    base, full = median("scorecard_seconds"), median("full_seconds")
    base_cpu, full_cpu = median("scorecard_cpu"), median("full_cpu")
    first = runs[0]
    print_table(
        [
            (
                f"scorecard, {args.tickets:,} tickets / {args.providers} providers, 3 groupings",
                f"{base:.1f} s (CPU {base_cpu:.1f} s)",
                "",
            ),
            (
                "of which reading the tickets: without / with url_hash",
                f"{median('read_seconds'):.1f} s / {median('with_url_hash_read_seconds'):.1f} s",
                "",
            ),
            (
                f"scorecard with size + re-appearance columns ({first['removed_items']:,} "
                f"removed items, {first['reappeared']:,} back, {first['sized_providers']} "
                "providers sized)",
                f"{full:.1f} s (CPU {full_cpu:.1f} s)",
                "",
            ),
            ("added by the columns", f"{full - base:.1f} s (CPU {full_cpu - base_cpu:.1f} s)", ""),
            ("added to the scorecard time (wall)", f"{100 * (full / base - 1):.0f} %", "< 25 %"),
            (
                "added to the scorecard time (CPU, parsing thread included)",
                f"{100 * (full_cpu / base_cpu - 1):.0f} %",
                "",
            ),
            (
                "load average before/after each process (2 cores)",
                f"{[run['load_average'] for run in runs]}",
                "",
            ),
            ("peak memory", f"{max(run['peak_mb'] for run in runs) / 1024:.2f} GB", ""),
        ]
    )


if __name__ == "__main__":
    main()
