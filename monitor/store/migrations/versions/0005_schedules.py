"""Scheduled jobs and the hotline feed: job runs, APScheduler's job store, feed cursors.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("runner", sa.String(128), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("counts", sa.String, nullable=False),
        sa.Column("error", sa.String),
        sa.Column("note", sa.String),
    )
    op.create_index("ix_job_run_job_started", "job_run", ["job", "started_at"])
    # The layout APScheduler 3.x's SQLAlchemyJobStore expects (it only creates it when missing).
    op.create_table(
        "scheduler_job",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_scheduler_job_next_run_time", "scheduler_job", ["next_run_time"])
    op.create_table(
        "feed_cursor",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(512), nullable=False),
        sa.Column("next_url", sa.String(2048)),
        sa.Column("since", sa.String(64)),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source", "feed", name="uq_feed_cursor_source_feed"),
    )


def downgrade() -> None:
    op.drop_table("feed_cursor")
    op.drop_index("ix_scheduler_job_next_run_time", table_name="scheduler_job")
    op.drop_table("scheduler_job")
    op.drop_index("ix_job_run_job_started", table_name="job_run")
    op.drop_table("job_run")
