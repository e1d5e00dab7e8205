"""Two `monitor schedule run` on one database: one runs jobs, the other takes over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.store.db import make_engine
from schedules.leader import scheduler_running
from schedules.models import JobRun
from tests.schedules.test_schedule_runner import only

RUN = JobRun.__table__
DEADLINE = 45.0
CHECKOUT = Path(__file__).resolve().parents[2]
SCHEDULE = '[scheduler]\nstandby_poll = "1s"\nlock_check = "1s"\n' + only(
    {"retention": 'cron = "* * * * * *"\nmisfire_grace = "1m"\nolder_than_days = 30'}
)


class Scheduler:
    """A `monitor schedule run` child process with its stderr in a file."""

    def __init__(self, db_url: str, config: Path, name: str):
        self.log = config.with_name(f"{name}.log")
        env = {key: value for key, value in os.environ.items() if key != "MONITOR_SCHEDULE"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from monitor.cli import main; main()",
                "--db",
                db_url,
                "schedule",
                "run",
                "--config",
                str(config),
            ],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    @property
    def runner_suffix(self) -> str:
        return f":{self.process.pid}"

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _wait_for(predicate, what: str, processes=()):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def _runs_by(engine, scheduler: Scheduler) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(RUN).order_by(RUN.c.id)).mappings().all()
    return [dict(row) for row in rows if row["runner"].endswith(scheduler.runner_suffix)]


@pytest.fixture
def schedule_file(tmp_path) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(SCHEDULE, "utf-8")
    return path


def test_only_one_scheduler_runs_jobs_and_the_standby_takes_over_when_it_is_killed(
    db_url, schedule_file
):
    engine = make_engine(db_url)
    first = Scheduler(db_url, schedule_file, "first")
    second = None
    try:
        _wait_for(lambda: _runs_by(engine, first), "the first scheduler's job runs", [first])
        assert scheduler_running(engine)

        second = Scheduler(db_url, schedule_file, "second")
        _wait_for(
            lambda: "standby: another scheduler holds the lock" in second.output(),
            "the second scheduler to wait as a standby",
            [first, second],
        )
        runs_before = len(_runs_by(engine, first))
        time.sleep(3)
        assert _runs_by(engine, second) == [], "a standby never runs jobs"
        assert len(_runs_by(engine, first)) > runs_before, "the leader goes on meanwhile"

        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        taken_over = _wait_for(
            lambda: [r for r in _runs_by(engine, second) if r["outcome"] == "ok"],
            "the standby to take over",
            [first, second],
        )
        assert taken_over[0]["job"] == "retention" and taken_over[0]["trigger"] == "schedule"
        assert [r for r in _runs_by(engine, first) if r["outcome"] == "running"] == [], (
            "a run the killed scheduler left unfinished is closed by the one taking over"
        )

        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(DEADLINE) == 0, second.output()
        assert "scheduler stopped" in second.output()
        assert not scheduler_running(engine), "a clean stop gives the lock back"
        with engine.connect() as connection:
            assert (
                connection.scalar(sa.select(sa.func.count()).where(RUN.c.outcome == "running")) == 0
            )
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()
        engine.dispose()


def test_sigint_stops_a_standby_cleanly(db_url, schedule_file):
    engine = make_engine(db_url)
    leader = Scheduler(db_url, schedule_file, "leader")
    standby = None
    try:
        _wait_for(lambda: _runs_by(engine, leader), "the leader's job runs", [leader])
        standby = Scheduler(db_url, schedule_file, "standby")
        _wait_for(lambda: "standby:" in standby.output(), "the standby", [leader, standby])
        standby.process.send_signal(signal.SIGINT)
        assert standby.process.wait(DEADLINE) == 0, standby.output()
        assert _runs_by(engine, standby) == []
        assert leader.process.poll() is None, "stopping a standby leaves the leader alone"
    finally:
        for process in (leader, standby):
            if process is not None:
                process.stop()
        engine.dispose()
