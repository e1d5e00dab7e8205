"""Scheduled jobs: the monitor runs its pipeline by itself (docs/scheduling.md).

    load_config(path)        the schedule file (TOML) over the shipped defaults
    run_job(engine, cfg, j)  run one job now and record the run (`schedule run-once`)
    run_scheduler(...)       APScheduler in the foreground, one leader, standbys (`schedule run`)
    list_jobs(engine, cfg)   next run, last run and last outcome of every job (`schedule list`)
    job_status(engine)       the last run of every job (`monitor status`)

Jobs only call the stages' functions; the stages hold the logic.
"""

from schedules.config import DEFAULT_SCHEDULE, JOB_NAMES, JobConfig, ScheduleConfig, load_config
from schedules.jobs import run_job
from schedules.listing import list_jobs
from schedules.runner import run_scheduler
from schedules.runs import job_status, recent_runs

__all__ = [
    "DEFAULT_SCHEDULE",
    "JOB_NAMES",
    "JobConfig",
    "ScheduleConfig",
    "job_status",
    "list_jobs",
    "load_config",
    "recent_runs",
    "run_job",
    "run_scheduler",
]
