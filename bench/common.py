"""Shared pieces of the benchmark scripts: timing, peak memory, result tables."""

from __future__ import annotations

import os
import platform
import resource
import time
from contextlib import contextmanager

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    python = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {python}, {platform.platform()}"


def machine_pace() -> float:
    """Seconds a fixed pure-Python loop takes now: this machine's speed varies by up to 2x
    within minutes (shared host), so a figure is read beside the pace it was taken at."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(results: dict, key: str):
    """Store the wall-clock seconds of the block in results[key]."""
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start


def print_table(rows: list[tuple[str, str, str]]) -> None:
    """Print `figure | value | target` rows as a Markdown table."""
    print("| figure | value | target |")
    print("|---|---|---|")
    for figure, value, target in rows:
        print(f"| {figure} | {value} | {target} |")


def split_resolved(columns: tuple[str, ...], resolved_at: str):
    """For generated rows with ticket and resolution columns mixed (`columns`, first one `id`):
    the ticket columns, the resolution columns, and a function splitting a row into the
    ticket part and the resolution part (None when `resolved_at`'s value is None)."""
    from monitor.store.models import RESOLUTION_COLUMNS

    ticket = tuple(c for c in columns if c not in RESOLUTION_COLUMNS)
    resolution = ("id", *(c for c in columns if c in RESOLUTION_COLUMNS))
    ticket_at = [columns.index(c) for c in ticket]
    resolution_at = [columns.index(c) for c in resolution]
    when = columns.index(resolved_at)

    def split(row: tuple) -> tuple[tuple, tuple | None]:
        resolved = tuple(row[i] for i in resolution_at) if row[when] is not None else None
        return tuple(row[i] for i in ticket_at), resolved

    return ticket, resolution, split
