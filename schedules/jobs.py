"""The jobs: each one calls one stage of the pipeline, and nothing else.

No statistics and no SQL live here: a job reads its options, calls the stage's
function (imported when the job runs, so a missing stage is a recorded failure,
not a scheduler that cannot start) and reports the stage's counts.
`run_job` wraps any job with its run record; it never raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.core.redaction import error_text
from monitor.core.timeutil import iso, utcnow
from monitor.ingest.feed import DEFAULT_TOKEN_ENV
from monitor.statistics.periods import Period, between, quarter
from schedules.config import ScheduleConfig
from schedules.runs import finish_run, start_run

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What a job did: `ok` or `skipped` (with why), and the stage's counts."""

    outcome: str = "ok"
    counts: dict = field(default_factory=dict)
    note: str | None = None


class JobFailed(Exception):
    """A job that did part of its work: the counts so far are kept with the failure."""

    def __init__(self, message: str, counts: dict):
        super().__init__(message)
        self.counts = counts


def period_of(name: str, now: datetime) -> Period:
    """The period `quarter-to-date`, `previous-quarter` or `last-<N>d` stands for at `now`."""
    current = quarter(now.year, (now.month - 1) // 3 + 1)
    if name == "quarter-to-date":
        return current
    if name == "previous-quarter":
        return current.previous()
    days = int(name.removeprefix("last-").removesuffix("d"))
    return between(now - timedelta(days=days), now, label=name)


def pull(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Pull every configured hotline feed; one failing feed does not stop the others."""
    if not options["feeds"]:
        return JobResult(
            "skipped", note="no feed configured ([[jobs.pull.feeds]] in the schedule file)"
        )
    from monitor.ingest.feed import pull as pull_feed

    totals = dict.fromkeys(
        ("feeds", "pages", "read", "inserted", "updated", "unchanged", "quarantined"), 0
    )
    failures = []
    for feed in options["feeds"]:
        settings = {key: value for key, value in feed.items() if key != "url"}
        try:
            result = pull_feed(engine, feed["url"], **settings)
        except Exception as exc:  # noqa: BLE001 - recorded below; the next feed still runs
            failures.append(f"{feed['source']}: {type(exc).__name__}: {exc}")
            continue
        totals["feeds"] += 1
        for key in totals.keys() - {"feeds"}:
            totals[key] += result[key]
    if failures:
        raise JobFailed(
            f"{len(failures)} of {len(options['feeds'])} feed(s) failed: " + "; ".join(failures),
            totals,
        )
    return JobResult(counts=totals)


def refresh_networks(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Download newer RouteViews pfx2as and AS-names files and import them."""
    if not options["pfx2as_v4"] or not options["asnames"]:
        return JobResult(
            "skipped", note="pfx2as_v4 and asnames URLs must both be set in [jobs.refresh-networks]"
        )
    from providers import refresh_prefix_table
    from schedules.downloads import fetch_newer

    fetched = fetch_newer(
        {
            "pfx2as_v4": options["pfx2as_v4"],
            "pfx2as_v6": options["pfx2as_v6"],
            "asnames": options["asnames"],
        },
        Path(options["download_dir"]),
        timeout=float(options["timeout"]),
    )
    # Always import: the stage recognises files it already holds (by hash) and changes nothing,
    # so a download whose import failed last time is imported now.
    v6 = fetched.get("pfx2as_v6")
    counts = refresh_prefix_table(
        engine,
        str(fetched["pfx2as_v4"].path),
        str(v6.path) if v6 else None,
        str(fetched["asnames"].path),
    )
    return JobResult(
        counts={
            "files": {key: item.path.name for key, item in fetched.items()},
            "downloaded": [key for key, item in fetched.items() if item.changed],
            **counts,
        }
    )


def resolve(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Resolve hosting (ASN, network, country) of every ticket not yet resolved."""
    from providers import resolve_pending

    return JobResult(counts=dict(resolve_pending(engine, online=options["online"])))


def metrics(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Store a scorecard snapshot per configured period and grouping, as of now."""
    from monitor.statistics.snapshots import store_scorecard_snapshots

    snapshots = []
    for period in options["periods"]:
        span = period_of(period, now)
        stored = store_scorecard_snapshots(  # one read of the tickets for every grouping
            engine,
            period_from=span.start,
            period_to=span.end,
            as_of=now,
            groupings=options["by"],
            label=span.label,
        )
        for by in options["by"]:
            snapshots.append({"period": span.label, "by": by, "id": stored[by]})
    return JobResult(counts={"as_of": iso(now), "snapshots": snapshots})


def drift(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Look for drift of hosting out of the EU and INHOPE, and removal slowdowns, as of now."""
    from monitor.drift import run_drift

    flags = run_drift(engine, as_of=now)["flags"]
    kinds: dict[str, int] = {}
    for flag in flags:
        kinds[flag["kind"]] = kinds.get(flag["kind"], 0) + 1
    return JobResult(counts={"as_of": iso(now), "flags": len(flags), "by_kind": kinds})


def quarterly_reports(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Render the scorecard and briefing of the last closed quarter into `out_dir/<quarter>`."""
    from reports import write_quarterly_reports

    label = period_of("previous-quarter", now).label
    out_dir = Path(options["out_dir"]) / label
    files = write_quarterly_reports(
        engine, period_label=label, out_dir=out_dir, as_of=now, lang=options["lang"]
    )
    return JobResult(
        counts={
            "period": label,
            "as_of": iso(now),
            "out_dir": str(out_dir),
            "files": [Path(path).name for path in files],
        }
    )


def retention(engine: Engine, options: dict, now: datetime) -> JobResult:
    """Purge quarantine rows older than the configured number of days."""
    from monitor.store.retention import purge_quarantine

    purged = purge_quarantine(engine, older_than_days=options["older_than_days"], now=now)
    return JobResult(counts={"purged": purged, "older_than_days": options["older_than_days"]})


JOBS: dict[str, Callable[[Engine, dict, datetime], JobResult]] = {
    "pull": pull,
    "refresh-networks": refresh_networks,
    "resolve": resolve,
    "metrics": metrics,
    "drift": drift,
    "quarterly-reports": quarterly_reports,
    "retention": retention,
}


def run_job(
    engine: Engine,
    config: ScheduleConfig,
    name: str,
    *,
    trigger: str = "run-once",
    force: bool = False,
) -> dict:
    """Run one job now and record it (start, end, outcome, counts, redacted error); never raises
    for a failing job: the failure is in the returned record and in `job_run`."""
    job = config.job(name)
    now = utcnow()
    run_id = start_run(engine, name, trigger, now)
    if not job.enabled and not force:
        result, error = (
            JobResult("skipped", note=f"disabled in the schedule ({config.source})"),
            None,
        )
    else:
        try:
            result, error = JOBS[name](engine, job.options, now), None
        except Exception as exc:  # noqa: BLE001 - a failing job is recorded, never fatal to the scheduler
            counts = exc.counts if isinstance(exc, JobFailed) else {}
            result = JobResult("failed", counts)
            error = error_text(exc, _secrets(config))
            log.error("job %s failed: %s", name, error)
    record = finish_run(
        engine, run_id, result.outcome, result.counts, error=error, note=result.note
    )
    if result.outcome != "failed":
        log.info("job %s: %s %s", name, result.outcome, result.note or record["counts"])
    return record


def _secrets(config: ScheduleConfig) -> list[str]:
    """The feed tokens in this process's environment: never to appear in a stored error."""
    names = {DEFAULT_TOKEN_ENV} | {
        feed["token_env"] for feed in config.job("pull").options["feeds"]
    }
    return [os.environ[name] for name in names if os.environ.get(name)]
