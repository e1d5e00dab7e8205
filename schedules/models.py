"""Tables of the scheduler: the record of every job run, and APScheduler's own job store.

`scheduler_job` is the table APScheduler's SQLAlchemyJobStore reads and writes
(its column layout, under our migration), so the schema has one owner: Alembic.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from monitor.store.models import UTCDateTime

JOB_STORE_TABLE = "scheduler_job"


class JobRun(SQLModel, table=True):
    """One run of one job: when, who ran it, what came of it."""

    __tablename__ = "job_run"
    __table_args__ = (sa.Index("ix_job_run_job_started", "job", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32)
    trigger: str = Field(max_length=16, description="schedule or run-once")
    runner: str = Field(max_length=128, description="host:pid of the process that ran it")
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(max_length=16, description="running, ok, failed, skipped")
    counts: str = Field(default="{}", description="JSON object of what the stage reported")
    error: str | None = Field(
        default=None, description="redacted: no tokens, no credentials, no URLs"
    )
    note: str | None = Field(default=None, description="why a run was skipped, in words")


class SchedulerJob(SQLModel, table=True):
    """APScheduler 3.x's persisted job (`SQLAlchemyJobStore` layout): pickled state and next run."""

    __tablename__ = JOB_STORE_TABLE

    id: str = Field(sa_type=sa.Unicode(191), primary_key=True)
    next_run_time: float | None = Field(default=None, sa_type=sa.Float(25), index=True)
    job_state: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
