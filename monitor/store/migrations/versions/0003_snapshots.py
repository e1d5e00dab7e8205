"""Statistics stage: stored scorecard snapshots.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scorecard_snapshot",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("period_label", sa.String(64), nullable=False),
        sa.Column("period_from", TS, nullable=False),
        sa.Column("period_to", TS, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("known_at", TS),
        sa.Column("grouping", sa.String(16), nullable=False),
        sa.Column("parameters", sa.String, nullable=False),
        sa.Column("figures", sa.String, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_scorecard_snapshot_period", "scorecard_snapshot", ["period_label", "grouping"]
    )
    op.create_index("ix_scorecard_snapshot_created_at", "scorecard_snapshot", ["created_at"])


def downgrade() -> None:
    op.drop_table("scorecard_snapshot")
