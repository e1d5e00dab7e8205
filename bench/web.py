"""Workbench benchmark: every page's response time on a year of 1,000,000 tickets on SQLite.

Target (issue 21): every page renders in under 300 ms on 1 M tickets on SQLite on this
2-core machine, reusing stored snapshots and computing on demand only what is not stored.

    python bench/web.py [--tickets 1000000] [--providers 2000] [--sqlite-file PATH]

The tickets are bench/drift.py's generated year (written with its bare loader, not timed),
with the 2026Q3 scorecards stored as snapshots by provider, network and country (as the
scheduler's metrics job does), the drift flags computed, and an analyst account. The app
starts (computing the default pages' figures in the background, timed on its own), then
each page is requested through Starlette's TestClient in this process:

- `first`: the first response. A page whose figures are neither stored nor computed yet
  answers within the app's `compute_wait` (0.2 s) that they are being computed (202, the
  page reloads itself), while they are computed in the background;
- `figures`: when the page first showed its figures (200), polling as the page's reload
  does (equal to `first` when it answered with them at once);
- `again`: the median of the next five (served from the per-generation cache).

The page's as_of is now; the data end 2026-10-01.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, machine_pace, peak_rss_mb, print_table  # noqa: E402
from bench.drift import AS_OF, load  # noqa: E402

PASSWORD = "bench passphrase 2026"
TARGET = 0.300
POLL_SECONDS = 0.1
NOT_PAGES = ("(an image)", "a download", "not a page")
PAGES = (
    ("overview, 2026Q3 (stored snapshot)", "/?period=2026Q3"),
    ("overview, 2026-09 (computed)", "/?period=2026-09"),
    ("providers, 2026Q3 by provider (stored)", "/providers?period=2026Q3"),
    ("providers, 2026Q3 by network (stored)", "/providers?period=2026Q3&by=network"),
    ("providers, 2026-09 by country (computed)", "/providers?period=2026-09&by=country"),
    ("provider page", "/provider?name=Provider%2000000&period=2026Q3"),
    ("provider page, another provider", "/provider?name=Provider%2000042&period=2026Q3"),
    (
        "provider page's Kaplan-Meier chart (an image)",
        "/provider/chart.svg?name=Provider%2000000&chart=curve&period=2026Q3",
    ),
    (
        "provider page's trend chart (an image)",
        "/provider/chart.svg?name=Provider%2000000&chart=trend&period=2026Q3",
    ),
    ("overdue queue (24 h)", "/overdue"),
    ("overdue CSV (all; a download)", "/overdue.csv"),
    ("drift", "/drift"),
    ("quarantine", "/quarantine"),
    ("reference", "/reference"),
    ("publications", "/publications"),
    ("audit log", "/audit"),
)


def prepare(url: str, tickets: int, providers: int, fresh: bool) -> None:
    """Write the tickets (when `fresh`), store the 2026Q3 snapshot, run drift, add an account."""
    from monitor.drift import run_drift
    from monitor.statistics.periods import parse_period
    from monitor.statistics.snapshots import store_scorecard_snapshots
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade
    from monitor.web.accounts import add_user

    if fresh:
        started = time.perf_counter()
        load(url, tickets, providers)
        print(f"{tickets:,} tickets written in {time.perf_counter() - started:.1f} s")
    engine = make_engine(url)
    upgrade(engine)
    quarter = parse_period("2026Q3")
    store_scorecard_snapshots(
        engine,
        period_from=quarter.start,
        period_to=quarter.end,
        as_of=AS_OF,
        groupings=("provider", "network", "country"),
        label=quarter.label,
    )
    run_drift(engine, as_of=AS_OF)
    add_user(engine, "bench", "analyst", PASSWORD)
    engine.dispose()


def measure(url: str) -> list[tuple[str, float, float, float, int]]:
    """(page, first response s, figures shown after s, median of the next five s, bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from monitor.web import Settings, create_app

    results = []
    started = time.perf_counter()
    app = create_app(Settings(db_url=url))
    with TestClient(app) as client:
        for thread in app.state.workbench.threads:
            thread.join()
        warm = time.perf_counter() - started
        print(f"start-up background computation (default pages): {warm:.1f} s", flush=True)
        results.append(("start-up background computation (not a page)", warm, warm, warm, 0))
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD})
        for name, path in PAGES:
            started = time.perf_counter()
            response = client.get(path)
            first = time.perf_counter() - started
            while response.status_code == 202:  # being computed: reload as the page does
                time.sleep(POLL_SECONDS)
                response = client.get(path)
            shown = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code, response.text[:500])
            again = []
            for _ in range(5):
                began = time.perf_counter()
                client.get(path)
                again.append(time.perf_counter() - began)
            median = statistics.median(again)
            results.append((name, first, shown, median, len(response.content)))
            print(
                f"{name}: first {first:.3f} s, figures {shown:.3f} s, again {median:.3f} s",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument(
        "--sqlite-file", type=Path, help="Keep the SQLite database here; reuse it when it exists."
    )
    args = parser.parse_args()
    print(f"machine: {machine()}; pace {machine_pace():.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        sqlite_file = args.sqlite_file or Path(folder) / "web.db"
        url = f"sqlite:///{sqlite_file}"
        prepare(url, args.tickets, args.providers, fresh=not sqlite_file.exists())
        results = measure(url)
    rows = []
    for name, first, shown, again, size in results:
        verdict = "ok" if max(first, again) < TARGET else "over"
        if any(word in name for word in NOT_PAGES):
            verdict = "not a page"
        figures = f", figures after {shown:.1f} s" if shown > first else ""
        rows.append(
            (
                f"{name} ({size // 1024} KiB)",
                f"first {first:.3f} s{figures}, again {again:.3f} s ({verdict})",
                "< 0.300 s",
            )
        )
    rows.append(("peak memory", f"{peak_rss_mb():.0f} MB", "-"))
    print_table(rows)


if __name__ == "__main__":
    main()
