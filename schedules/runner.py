"""`monitor schedule run`: APScheduler 3.x in the foreground, one leader, standbys waiting.

The leader keeps APScheduler's jobs in the monitor's own database
(`scheduler_job`), runs them one at a time on a single worker (so stages never
overlap and same-minute jobs keep pipeline order), and stops cleanly on
SIGTERM/SIGINT after the running job finishes. A slot missed while no scheduler
ran is kept across restarts and runs once on start (coalesced), within the
job's `misfire_grace`.
"""

from __future__ import annotations

import logging
import threading

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from monitor.core.log_redaction import install as install_log_redaction
from schedules.config import JOB_NAMES, ScheduleConfig
from schedules.jobs import run_job
from schedules.leader import leader_lock
from schedules.models import JOB_STORE_TABLE
from schedules.runs import interrupt_stale_runs, record_skip

log = logging.getLogger(__name__)

JOB_FUNCTION = "schedules.runner:scheduled"
_ACTIVE: dict = {}


def scheduled(name: str) -> None:
    """What APScheduler calls (by textual reference, so jobs persist): run and record one job."""
    run_job(_ACTIVE["engine"], _ACTIVE["config"], name, trigger="schedule")


class _JobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy store on the monitor's engine, which it must not dispose of."""

    def shutdown(self) -> None:
        pass


def build_scheduler(engine: Engine, config: ScheduleConfig) -> BackgroundScheduler:
    """A scheduler on the monitor's database: one worker, coalescing, one instance per job."""
    scheduler = BackgroundScheduler(
        timezone=config.timezone,
        jobstores={"default": _JobStore(engine=engine, tablename=JOB_STORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )

    def on_not_run(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            grace = config.job(event.job_id).misfire_grace
            slot = f"{event.scheduled_run_time:%Y-%m-%d %H:%M %Z}"
            note = f"missed its slot at {slot} (more than {grace} s late)"
        else:
            note = "not started: the previous run of this job was still going"
        try:
            record_skip(engine, event.job_id, note)
        except Exception:  # noqa: BLE001 - the scheduler outlives a database hiccup
            log.exception("could not record the skipped run of %s", event.job_id)

    scheduler.add_listener(on_not_run, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def sync_jobs(scheduler: BackgroundScheduler, config: ScheduleConfig) -> list[str]:
    """Make the stored jobs match the schedule; a stored slot of an unchanged job is kept (so a slot
    missed while stopped still runs). Returns the enabled jobs."""
    enabled = [name for name in JOB_NAMES if config.job(name).enabled]
    for job in scheduler.get_jobs():
        if job.id not in enabled:
            scheduler.remove_job(job.id)
    for name in enabled:
        trigger = config.trigger(name)
        settings = {"misfire_grace_time": config.job(name).misfire_grace}
        stored = scheduler.get_job(name)
        if stored is not None and stored.next_run_time and repr(stored.trigger) == repr(trigger):
            settings["next_run_time"] = stored.next_run_time
        scheduler.add_job(
            JOB_FUNCTION,
            trigger,
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
            **settings,
        )
    return enabled


def run_scheduler(engine: Engine, config: ScheduleConfig, stop: threading.Event) -> None:
    """Wait as a standby until this process holds the lock, then run jobs until `stop` is set;
    if the lock is lost (database connection gone), stop running jobs and wait again."""
    install_log_redaction()  # APScheduler's, httpx's and the jobs' records, redacted
    lock = leader_lock(engine)
    standby_said = False
    while not stop.is_set():
        try:
            if not lock.try_acquire():
                if not standby_said:
                    log.info(
                        "standby: another scheduler holds the lock; checking every %.0f s",
                        config.standby_poll,
                    )
                    standby_said = True
                stop.wait(config.standby_poll)
                continue
            standby_said = False
            try:
                _lead(engine, config, stop, lock)
            finally:
                lock.release()
        except Exception:  # noqa: BLE001 - e.g. the database is away: wait, then try again
            log.exception("scheduler: database error; trying again in %.0f s", config.standby_poll)
            stop.wait(config.standby_poll)
    log.info("scheduler stopped")


def _lead(engine: Engine, config: ScheduleConfig, stop: threading.Event, lock) -> None:
    _ACTIVE.update(engine=engine, config=config)
    stale = interrupt_stale_runs(engine)
    if stale:
        log.warning("%d job run(s) left unfinished by a stopped scheduler are marked failed", stale)
    scheduler = build_scheduler(engine, config)
    scheduler.start(paused=True)
    try:
        enabled = sync_jobs(scheduler, config)
        scheduler.resume()
        log.info("running jobs: %s (schedule: %s)", ", ".join(enabled) or "none", config.source)
        while not stop.wait(config.lock_check):
            if not lock.still_held():
                log.error("lost the scheduler lock: stopping jobs and waiting as a standby")
                break
    finally:
        scheduler.shutdown(wait=True)
