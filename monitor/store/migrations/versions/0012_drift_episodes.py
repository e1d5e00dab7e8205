"""Drift episodes: when a flag's episode closed, and which drift runs were made.

`drift_flag.closed_at` is the as-of time of the first later run that no longer raised
the flag: a new episode of the same drift starts only after that. `drift_run` records
every stored drift run (its as-of time and how many flags it raised), so the reports can
read a period's flags from the store and know whether the drift check covered it.

Revision ID: 0012
Revises: 0011, 0004 (0004 created drift_flag)
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = ("0011", "0004")  # also merges the drift branch (0004 created drift_flag)
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("drift_flag") as batch:
        batch.add_column(sa.Column("closed_at", TS, nullable=True))
    op.create_table(
        "drift_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("ran_at", TS, nullable=False),
        sa.Column("recent_days", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
    )
    op.create_index("ix_drift_run_as_of", "drift_run", ["as_of"])


def downgrade() -> None:
    op.drop_index("ix_drift_run_as_of", table_name="drift_run")
    op.drop_table("drift_run")
    with op.batch_alter_table("drift_flag") as batch:
        batch.drop_column("closed_at")
