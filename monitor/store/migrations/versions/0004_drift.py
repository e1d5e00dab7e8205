"""Drift flags: stored with a stable identity and an analyst's acknowledgement.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drift_flag",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("from_jurisdiction", sa.String, nullable=False),
        sa.Column("to_jurisdiction", sa.String, nullable=False),
        sa.Column("episode_from", TS, nullable=False),
        sa.Column("window_from", TS, nullable=False),
        sa.Column("window_to", TS, nullable=False),
        sa.Column("detail", sa.String, nullable=False),
        sa.Column("evidence", sa.String, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ack_note", sa.String),
        sa.Column("ack_by", sa.String(128)),
        sa.Column("ack_at", TS),
    )
    op.create_index("ix_drift_flag_key", "drift_flag", ["key"])
    op.create_index("ix_drift_flag_last_seen", "drift_flag", ["last_seen"])
    op.create_index("ix_drift_flag_status", "drift_flag", ["status"])


def downgrade() -> None:
    op.drop_table("drift_flag")
