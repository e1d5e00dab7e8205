"""`monitor schedule list`: each job's schedule, next run, last run and last outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import iso, utcnow
from schedules.config import JOB_NAMES, ScheduleConfig
from schedules.leader import scheduler_running
from schedules.models import SchedulerJob
from schedules.runs import job_status

STORE = SchedulerJob.__table__


def list_jobs(engine: Engine, config: ScheduleConfig) -> dict:
    """The schedule as the running scheduler sees it (next runs from its job store), else as the
    schedule file says it would run, with every job's last run."""
    with engine.connect() as connection:
        stored = dict(connection.execute(sa.select(STORE.c.id, STORE.c.next_run_time)).all())
    last = {entry["job"]: entry for entry in job_status(engine)}
    now = utcnow()
    jobs = []
    for name in JOB_NAMES:
        job = config.job(name)
        if not job.enabled:
            next_run, planned_by = None, None
        elif stored.get(name) is not None:
            next_run, planned_by = datetime.fromtimestamp(stored[name], UTC), "job store"
        else:
            next_run, planned_by = (
                config.trigger(name).get_next_fire_time(None, now),
                "schedule file",
            )
        jobs.append(
            {
                "job": name,
                "enabled": job.enabled,
                "cron": job.cron,
                "misfire_grace_seconds": job.misfire_grace,
                "next_run": iso(next_run),
                "next_run_from": planned_by,
                "last_run": last[name] if last[name]["id"] is not None else None,
                "last_ok_at": last[name]["last_ok_at"],
            }
        )
    return {
        "schedule": config.source,
        "timezone": config.timezone,
        "scheduler_running": scheduler_running(engine),
        "jobs": jobs,
    }
