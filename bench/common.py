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
