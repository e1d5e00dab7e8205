"""Every benchmark in one command, one table: figure, value, target (issue 7).

    python bench/run_all.py                   # 1 M and 10 M tickets, SQLite and PostgreSQL
    python bench/run_all.py --quick           # 100 k and 1 M: a few minutes

Runs each stage's benchmark script (ingest, resolve, scorecard, drift, feed, the
quarterly documents: scorecard + drift + briefing on 10 M) as a child process, so each one's
peak memory is its own, and gathers their Markdown rows into one table with the
script's name in front. Each script measures its own baseline side by side in
the same run (bare `sqlite3.executemany` / `COPY` for ingest, pandas + lifelines
for the statistics, per-IP geoip2fast calls for resolution). A full run takes
about an hour on a 2-core machine, most of it generating 10 M tickets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.common import machine  # noqa: E402
from bench.drift import _drop_postgres_schema, _fresh_postgres_schema  # noqa: E402

FRESH_SCHEMA = "{fresh PostgreSQL schema}"


def plan(small: int, large: int, postgres: bool) -> list[tuple[str, list[str]]]:
    """The scripts and arguments to run, smallest first."""
    pg = [] if postgres else ["--skip-postgres"]
    steps = [
        (
            "ingest",
            ["ingest.py", "--tickets", str(large if large <= 1_000_000 else 1_000_000), *pg],
        ),
        (
            "resolve",
            [
                "resolve.py",
                "--tickets",
                str(min(large, 1_000_000)),
                "--ips",
                "100000",
                *(["--postgres", FRESH_SCHEMA] if postgres else []),
            ],
        ),
        (
            "scorecard",
            ["scorecard.py", "--tickets", str(large), "--small", str(min(small, 200_000))],
        ),
        ("drift", ["drift.py", "--tickets", str(small), *pg]),
        ("feed", ["feed.py", "--tickets", str(min(small, 200_000)), *pg]),
    ]
    # The issue-7 target: scorecard + drift + briefing together on the large table.
    steps.append(
        (
            "reports",
            [
                "reports.py",
                "--tickets",
                str(large),
                "--providers",
                "2000",
                *(["--postgres", FRESH_SCHEMA] if postgres else []),
            ],
        )
    )
    return steps


def table_rows(output: str) -> list[list[str]]:
    """The `| figure | value | target |` rows of a script's output (header and rule skipped)."""
    rows = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if (
            line.startswith("|")
            and len(cells) >= 3
            and cells[0] != "figure"
            and not set(cells[0]) <= {"-"}
        ):
            rows.append(cells[:3])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", type=int, default=1_000_000, help="tickets for the per-stage runs"
    )
    parser.add_argument("--large", type=int, default=10_000_000, help="tickets for the scale runs")
    parser.add_argument("--quick", action="store_true", help="100 k / 1 M tickets")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    small, large = (100_000, 1_000_000) if args.quick else (args.small, args.large)
    combined: list[list[str]] = []
    for name, command in plan(small, large, not args.skip_postgres):
        started = time.perf_counter()
        print(
            f"running {name}: {' '.join(command)}", file=sys.stderr, flush=True
        )  # before the URL is set
        schema = None
        if FRESH_SCHEMA in command:
            url, schema = _fresh_postgres_schema()
            command = [url if part == FRESH_SCHEMA else part for part in command]
        try:
            result = subprocess.run(
                [sys.executable, str(BENCH / command[0]), *command[1:]],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            if schema:
                _drop_postgres_schema(schema)
        rows = table_rows(result.stdout)
        if result.returncode != 0:
            rows.append(
                [
                    "FAILED",
                    f"exit {result.returncode}",
                    result.stderr.strip().splitlines()[-1][:120] if result.stderr.strip() else "",
                ]
            )
        combined += [[name, *row] for row in rows]
        print(
            f"  {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True
        )
    print(f"machine: {machine()}")
    print("| benchmark | figure | value | target |")
    print("|---|---|---|---|")
    for row in combined:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
