"""Reports benchmark: the quarterly documents from a year of generated, resolved tickets.

Targets (issues 7, 8 and 19): on 10,000,000 tickets the scorecard + drift + briefing
together in under 60 s on this 2-core machine (issue 19; 2 minutes before); the documents
themselves (scorecard html and pdf, briefing html and pdf) in under 60 s for 2,000
providers (WeasyPrint lays out the scorecard table at about 25 ms a row: 2,000 providers
are some 120 pages); the whole
quarterly set in under 3 minutes; peak memory under 3 GB. Figures per stage:

- snapshot: compute and store the provider scorecard of 2026Q3 (monitor.statistics.snapshots);
- drift flags of the quarter: `reports.period_flags`, read from the stored flags. The
  scheduler's drift runs during the quarter (one at each month end here; weekly in
  production) are made before the timing starts, as they would have been;
- briefing figures: twelve months of jurisdiction shares and the largest providers'
  Kaplan-Meier curves (`reports.briefing_figures`);
- rendering: scorecard html / pdf, briefing html / pdf;
- the whole `write_quarterly_reports` in a fresh process, as the scheduler runs it.

    python bench/reports.py [--tickets 1000000] [--providers 2000] [--sqlite-file PATH]
                            [--postgres URL]

Tickets come from bench/drift.py's generator (written with the resolution columns set,
not timed), so the drift flags of the quarter include planted ones.

`--no-drift-runs` leaves the store without drift runs: `period_flags` then makes the three
month-end runs itself (the behaviour before issue 19), for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, peak_rss_mb, print_table  # noqa: E402
from bench.drift import AS_OF, load  # noqa: E402

PERIOD = "2026Q3"


def _stages(url: str, out: str, lang: str, queue) -> None:
    from monitor.statistics.periods import parse_period
    from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot
    from monitor.store.db import make_engine
    from reports import (
        briefing_figures,
        data_sources,
        period_flags,
        render_briefing,
        render_scorecard,
    )

    engine = make_engine(url)
    period = parse_period(PERIOD)
    times: dict[str, float] = {}

    def timed(name, call):
        start = time.perf_counter()
        value = call()
        times[name] = time.perf_counter() - start
        return value

    snapshot_id = timed(
        "snapshot (scorecard computed and stored)",
        lambda: store_scorecard_snapshot(
            engine,
            period_from=period.start,
            period_to=period.end,
            as_of=AS_OF,
            by="provider",
            label=period.label,
        ),
    )
    snapshot = load_snapshot(engine, snapshot_id)
    flags = timed(
        "drift flags of the quarter (read from the store)",
        lambda: period_flags(engine, period_from=period.start, period_to=period.end, as_of=AS_OF),
    )
    sources = timed("data sources", lambda: data_sources(engine))
    figures = timed(
        "briefing figures (12 months, KM curves)", lambda: briefing_figures(engine, snapshot)
    )
    folder = Path(out)
    for fmt in ("html", "pdf"):
        timed(
            f"render scorecard {fmt}",
            lambda fmt=fmt: render_scorecard(
                snapshot, fmt, folder / f"scorecard.{fmt}", lang, flags=flags, sources=sources
            ),
        )
    for fmt in ("html", "pdf"):
        timed(
            f"render briefing {fmt}",
            lambda fmt=fmt: render_briefing(
                snapshot,
                figures,
                fmt,
                folder / f"briefing.{fmt}",
                lang,
                flags=flags,
                sources=sources,
            ),
        )
    queue.put(
        {
            "times": times,
            "rows": len(snapshot["rows"]),
            "flags": len(flags),
            "peak_mb": peak_rss_mb(),
            "sizes": {p.name: p.stat().st_size for p in folder.iterdir()},
        }
    )


def _scheduled_drift(url: str, queue) -> None:
    """The drift runs the scheduler made during the quarter (not timed in the stages)."""
    from monitor.drift import run_drift
    from monitor.statistics.periods import parse_period
    from monitor.store.db import make_engine
    from reports.period_flags import checkpoints

    engine = make_engine(url)
    period = parse_period(PERIOD)
    start = time.perf_counter()
    points = checkpoints(period.start, min(period.end, AS_OF))
    for point in points:
        run_drift(engine, as_of=point)
    queue.put({"runs": len(points), "seconds": time.perf_counter() - start})


def _whole(url: str, out: str, lang: str, queue) -> None:
    from monitor.store.db import make_engine
    from reports import write_quarterly_reports

    engine = make_engine(url)
    start = time.perf_counter()
    paths = write_quarterly_reports(
        engine, period_label=PERIOD, out_dir=out, as_of=AS_OF, lang=lang
    )
    queue.put(
        {"seconds": time.perf_counter() - start, "files": len(paths), "peak_mb": peak_rss_mb()}
    )


def _child(target, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument("--lang", default="en")
    parser.add_argument(
        "--sqlite-file", type=Path, help="Keep the SQLite database here; reuse it when it exists."
    )
    parser.add_argument("--postgres", help="Also measure on this PostgreSQL URL (data loaded).")
    parser.add_argument(
        "--no-drift-runs",
        action="store_true",
        help="Do not store the scheduler's drift runs first (the reports then make them).",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        sqlite_file = args.sqlite_file or Path(folder) / "reports.db"
        targets = [("sqlite", f"sqlite:///{sqlite_file}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        rows = []
        for name, url in targets:
            if name != "sqlite" or not sqlite_file.exists():
                start = time.perf_counter()
                load(url, args.tickets, args.providers)
                print(
                    f"{name}: loaded {args.tickets:,} tickets in "
                    f"{time.perf_counter() - start:.0f} s (not timed)"
                )
            if not args.no_drift_runs:
                scheduled = _child(_scheduled_drift, url)
                print(
                    f"{name}: {scheduled['runs']} scheduled drift runs stored in "
                    f"{scheduled['seconds']:.0f} s (not timed)"
                )
            out = Path(folder) / f"out-{name}"
            out.mkdir()
            stages = _child(_stages, url, str(out), args.lang)
            for stage, seconds in stages["times"].items():
                rows.append((f"{name} {args.tickets:,} tickets: {stage}", f"{seconds:.2f} s", ""))
            rendering = sum(s for k, s in stages["times"].items() if k.startswith("render"))
            rows.append(
                (
                    f"{name}: render all four documents ({stages['rows']} provider rows)",
                    f"{rendering:.1f} s",
                    "< 60 s",
                )
            )
            briefing_path = sum(
                seconds
                for stage, seconds in stages["times"].items()
                if not stage.startswith(("render scorecard", "data sources"))
            )
            rows.append(
                (
                    f"{name}: scorecard + drift + briefing (snapshot, stored flags, "
                    "briefing figures, html and pdf)",
                    f"{briefing_path:.1f} s",
                    "< 60 s at 10 M",
                )
            )
            rows.append((f"{name}: peak memory, stages", f"{stages['peak_mb']:.0f} MB", "< 3 GB"))
            whole_out = Path(folder) / f"whole-{name}"
            whole = _child(_whole, url, str(whole_out), args.lang)
            rows.append(
                (
                    f"{name}: write_quarterly_reports ({whole['files']} files, "
                    f"{stages['flags']} flags)",
                    f"{whole['seconds']:.1f} s",
                    "< 180 s at 10 M (2,000-row scorecard pdf included)",
                )
            )
            rows.append(
                (
                    f"{name}: peak memory, write_quarterly_reports",
                    f"{whole['peak_mb']:.0f} MB",
                    "< 3 GB",
                )
            )
            for file, size in sorted(stages["sizes"].items()):
                rows.append((f"{name}: size of {file}", f"{size / 1024:.0f} kB", ""))
        print_table(rows)


if __name__ == "__main__":
    main()
