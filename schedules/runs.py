"""The record of job runs: written when a job starts and ends, read by `schedule list` and `status`.

The error a run stores is the job's redacted error text (`monitor.core.redaction.error_text`,
called by `schedules.jobs.run_job` with the feed tokens to remove by value).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.redaction import redact_text
from monitor.core.timeutil import iso, utcnow
from schedules.config import JOB_NAMES
from schedules.models import JobRun

RUN = JobRun.__table__


def runner_name() -> str:
    """`host:pid` of this process, to tell which scheduler ran a job."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def start_run(engine: Engine, job: str, trigger: str, started_at: datetime) -> int:
    """Record that a job started; returns the run's id."""
    with engine.begin() as connection:
        return connection.execute(
            sa.insert(RUN).returning(RUN.c.id),
            {
                "job": job,
                "trigger": trigger,
                "runner": runner_name(),
                "started_at": started_at,
                "outcome": "running",
                "counts": "{}",
            },
        ).scalar_one()


def finish_run(
    engine: Engine,
    run_id: int,
    outcome: str,
    counts: dict,
    error: str | None = None,
    note: str | None = None,
) -> dict:
    """Record how a run ended; returns the run as `schedule list` shows it."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(RUN)
            .where(RUN.c.id == run_id)
            .values(
                finished_at=utcnow(),
                outcome=outcome,
                error=redact_text(error) if error else error,  # again: a no-op on redacted text
                note=note,
                counts=json.dumps(counts, ensure_ascii=False, default=str),
            )
        )
        row = connection.execute(sa.select(RUN).where(RUN.c.id == run_id)).mappings().one()
    return _public(row)


def record_skip(engine: Engine, job: str, note: str) -> dict:
    """Record a slot the scheduler did not run (missed beyond its grace, or still running)."""
    now = utcnow()
    return finish_run(engine, start_run(engine, job, "schedule", now), "skipped", {}, note=note)


def interrupt_stale_runs(engine: Engine) -> int:
    """Close scheduled runs left `running` by a scheduler that died (called on taking over)."""
    with engine.begin() as connection:
        return connection.execute(
            sa.update(RUN)
            .where(RUN.c.outcome == "running", RUN.c.trigger == "schedule")
            .values(
                outcome="failed",
                finished_at=utcnow(),
                error="interrupted: the scheduler running it stopped before the job finished",
            )
        ).rowcount


def job_status(engine: Engine) -> list[dict]:
    """The last run of every job (None fields if it never ran), and when it last went well."""
    status = []
    with engine.connect() as connection:
        for job in JOB_NAMES:
            last = (
                connection.execute(
                    sa.select(RUN)
                    .where(RUN.c.job == job)
                    .order_by(RUN.c.started_at.desc(), RUN.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            # Newest first along the (job, started_at) index: stops at the first ok run.
            last_ok = connection.scalar(
                sa.select(RUN.c.finished_at)
                .where(RUN.c.job == job, RUN.c.outcome == "ok")
                .order_by(RUN.c.started_at.desc(), RUN.c.id.desc())
                .limit(1)
            )
            entry = _public(last) if last else {key: None for key in _PUBLIC_KEYS}
            entry.update(job=job, last_ok_at=iso(last_ok))
            status.append(entry)
    return status


def recent_runs(engine: Engine, *, job: str | None = None, limit: int = 50) -> list[dict]:
    """The newest runs first, of one job or of all."""
    query = sa.select(RUN).order_by(RUN.c.started_at.desc(), RUN.c.id.desc()).limit(limit)
    if job:
        query = query.where(RUN.c.job == job)
    with engine.connect() as connection:
        return [_public(row) for row in connection.execute(query).mappings()]


_PUBLIC_KEYS = (
    "id",
    "job",
    "trigger",
    "runner",
    "started_at",
    "finished_at",
    "outcome",
    "counts",
    "error",
    "note",
)


def _public(row) -> dict:
    entry = {key: row[key] for key in _PUBLIC_KEYS}
    entry["started_at"], entry["finished_at"] = iso(row["started_at"]), iso(row["finished_at"])
    entry["counts"] = json.loads(row["counts"] or "{}")
    return entry
