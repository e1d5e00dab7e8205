"""The scheduler in-process against a real database: order, failures, slots missed while stopped."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.core.timeutil import utcnow
from schedules import list_jobs, load_config, run_scheduler
from schedules.config import JOB_NAMES
from schedules.downloads import Fetched
from schedules.models import JOB_STORE_TABLE, JobRun
from tests.schedules.test_schedule_jobs import Stages

RUN = JobRun.__table__
DEADLINE = 30.0

NIGHTLY = """
[scheduler]
lock_check = "1s"
standby_poll = "1s"
{jobs}
"""


@pytest.fixture
def stages(monkeypatch) -> Stages:
    """Recording fakes for every stage, the feed and the downloads included (no network)."""
    stages = Stages(monkeypatch)
    counts = dict.fromkeys(("pages", "read", "inserted", "updated", "unchanged", "quarantined"), 1)
    monkeypatch.setattr("monitor.ingest.feed.pull", lambda engine, url, **options: counts)
    fetched = {
        "pfx2as_v4": Fetched(Path("v4.gz"), True),
        "asnames": Fetched(Path("names.csv"), True),
    }
    monkeypatch.setattr("schedules.downloads.fetch_newer", lambda urls, folder, timeout: fetched)
    return stages


def _schedule(tmp_path, jobs: str):
    path = tmp_path / "schedule.toml"
    path.write_text(NIGHTLY.format(jobs=jobs), "utf-8")
    return load_config(path)


def _every_job_nightly() -> str:
    """All seven jobs enabled, all due at 05:00 (the same minute), with a day's grace."""
    extra = {"refresh-networks": 'asnames = "https://data.example/asnames.csv"\n'}
    jobs = "".join(
        f'\n[jobs.{name}]\nenabled = true\ncron = "0 5 * * *"\nmisfire_grace = "1d"\n'
        + extra.get(name, "")
        for name in JOB_NAMES
    )
    return jobs + '\n[[jobs.pull.feeds]]\nurl = "https://hotline.example/api"\nsource = "hl"\n'


def only(jobs: dict[str, str]) -> str:
    """Schedule text with just these jobs enabled, each followed by its own settings (TOML)."""
    return "".join(
        f"\n[jobs.{name}]\nenabled = {str(name in jobs).lower()}\n{jobs.get(name, '')}\n"
        for name in JOB_NAMES
    )


class Running:
    """`run_scheduler` in a thread, stopped and joined on exit."""

    def __init__(self, engine, config):
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=run_scheduler, args=(engine, config, self.stop), daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "the scheduler did not stop"


def _wait_for(predicate, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _runs(engine, *where):
    with engine.connect() as connection:
        return connection.execute(sa.select(RUN).where(*where).order_by(RUN.c.id)).mappings().all()


def _stored_next_runs(engine) -> dict:
    with engine.connect() as connection:
        return dict(
            connection.execute(sa.text(f"SELECT id, next_run_time FROM {JOB_STORE_TABLE}")).all()
        )


def _rewind(engine, config, days: float) -> None:
    """Pretend the scheduler stopped `days` ago: every stored slot is the one it had then."""
    scheduler = BackgroundScheduler(timezone=config.timezone)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_STORE_TABLE)
    store.start(scheduler, "default")
    then = utcnow() - timedelta(days=days)
    for job in store.get_all_jobs():
        job.next_run_time = job.trigger.get_next_fire_time(None, then)
        store.update_job(job)


def test_slots_missed_while_stopped_run_once_on_start_in_order_and_a_failure_stops_nothing(
    engine, stages, tmp_path
):
    config = _schedule(tmp_path, _every_job_nightly())
    with Running(engine, config):
        _wait_for(lambda: len(_stored_next_runs(engine)) == len(JOB_NAMES), "the jobs to be stored")
    assert _runs(engine) == [], "nothing was due"

    _rewind(engine, config, days=3)  # three nightly slots of every job missed
    stages.fail["resolve"] = RuntimeError("resolver exploded")
    with Running(engine, config):
        runs = _wait_for(
            lambda: (
                (r := _runs(engine))
                and len(r) >= len(JOB_NAMES)
                and all(x["outcome"] != "running" for x in r)
                and r
            ),
            "the missed runs",
        )
        time.sleep(1.5)  # a second run of any job would show up now
    runs = _runs(engine)
    assert [run["job"] for run in runs] == list(JOB_NAMES), (
        "each job once (coalesced), in pipeline order"
    )
    assert [stage for stage in stages.jobs_called()] == [
        "refresh-networks",
        "resolve",
        "metrics",
        "drift",
        "quarterly-reports",
    ]
    outcomes = {run["job"]: (run["outcome"], run["trigger"]) for run in runs}
    assert outcomes.pop("resolve") == ("failed", "schedule")
    assert set(outcomes.values()) == {("ok", "schedule")}
    assert runs[JOB_NAMES.index("resolve")]["error"] == "RuntimeError: resolver exploded"

    # The next slots are tomorrow's (or today's) 05:00, kept in pipeline order by the second.
    listing = list_jobs(engine, config)
    nexts = [job["next_run"] for job in listing["jobs"]]
    assert all(job["next_run_from"] == "job store" for job in listing["jobs"])
    assert [n[-3:] for n in nexts] == [f"{s:02d}Z" for s in range(len(JOB_NAMES))] and len(
        set(n[:16] for n in nexts)
    ) == 1
    assert listing["scheduler_running"] is False


def test_a_failing_job_is_retried_on_its_next_slot_while_the_others_keep_running(
    engine, stages, tmp_path
):
    every_second = 'cron = "* * * * * *"'
    config = _schedule(tmp_path, only({"resolve": every_second, "drift": every_second}))
    stages.fail["resolve"] = RuntimeError("first attempt fails")

    def heal(engine=engine):
        return [r["outcome"] for r in _runs(engine, RUN.c.job == "resolve")]

    with Running(engine, config) as running:
        _wait_for(lambda: "failed" in heal(), "the failing run")
        del stages.fail["resolve"]
        _wait_for(lambda: "ok" in heal(), "the retry on the next slot")
        assert running.thread.is_alive()
    resolve = heal()
    assert resolve[0] == "failed" and resolve[-1] == "ok"
    assert any(r["outcome"] == "ok" for r in _runs(engine, RUN.c.job == "drift")), (
        "drift kept running meanwhile"
    )
    assert _runs(engine, RUN.c.outcome == "running") == []


def test_a_slot_missed_beyond_its_grace_is_recorded_as_skipped(engine, stages, tmp_path):
    config = _schedule(tmp_path, only({"drift": 'cron = "0 0 1 1 *"\nmisfire_grace = "1m"'}))
    with Running(engine, config):
        _wait_for(lambda: "drift" in _stored_next_runs(engine), "the job to be stored")
    scheduler = BackgroundScheduler(timezone="UTC")
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_STORE_TABLE)
    store.start(scheduler, "default")
    job = store.lookup_job("drift")
    job.next_run_time = utcnow() - timedelta(minutes=10)
    store.update_job(job)

    with Running(engine, config):
        skipped = _wait_for(lambda: _runs(engine, RUN.c.job == "drift"), "the missed slot's record")
    assert [(r["outcome"], r["trigger"]) for r in skipped] == [("skipped", "schedule")]
    assert skipped[0]["note"].startswith("missed its slot at ") and skipped[0]["note"].endswith(
        "(more than 60 s late)"
    )
    assert [job for job, _ in stages.calls] == []


def test_a_changed_schedule_replaces_the_stored_slot_and_a_disabled_job_is_removed(
    engine, stages, tmp_path
):
    first = _schedule(tmp_path, '\n[jobs.drift]\ncron = "0 5 * * *"\n')
    with Running(engine, first):
        _wait_for(lambda: "drift" in _stored_next_runs(engine), "the job to be stored")
    second = _schedule(
        tmp_path, '\n[jobs.drift]\ncron = "0 7 * * *"\n[jobs.resolve]\nenabled = false\n'
    )
    with Running(engine, second):
        _wait_for(lambda: "resolve" not in _stored_next_runs(engine), "the disabled job's removal")
    drift = next(job for job in list_jobs(engine, second)["jobs"] if job["job"] == "drift")
    assert drift["next_run"][11:] == "07:00:04Z"


def test_a_database_error_while_taking_the_lock_is_waited_out(
    engine, stages, tmp_path, monkeypatch, caplog
):
    from schedules import runner
    from schedules.leader import leader_lock

    class FlakyLock:
        """The real lock, whose first attempt fails as if the database were restarting."""

        def __init__(self, engine):
            self.real, self.attempts = leader_lock(engine), 0

        def try_acquire(self):
            self.attempts += 1
            if self.attempts == 1:
                raise sa.exc.OperationalError("SELECT pg_try_advisory_lock", {}, OSError("gone"))
            return self.real.try_acquire()

        def still_held(self):
            return self.real.still_held()

        def release(self):
            self.real.release()

    monkeypatch.setattr(runner, "leader_lock", FlakyLock)
    config = _schedule(tmp_path, only({"drift": 'cron = "* * * * * *"'}))
    with Running(engine, config), caplog.at_level(logging.ERROR, logger="schedules.runner"):
        _wait_for(lambda: _runs(engine, RUN.c.job == "drift"), "jobs after the database came back")
    assert "scheduler: database error; trying again in 1 s" in caplog.text
