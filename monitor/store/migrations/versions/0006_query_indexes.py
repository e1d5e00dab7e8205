"""Indexes for the statistics at scale: clock start, and open notices.

Every figure selects tickets by clock start (`coalesce(notified_at, reported_at)`);
a quarter out of ten years is a few per cent of the table, so an expression index
turns that into a range scan. The overdue list reads only open tickets: a partial
index keeps that cheap however many removed tickets accumulate.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

CLOCK_START = "coalesce(notified_at, reported_at)"


def upgrade() -> None:
    op.create_index("ix_ticket_clock_start", "ticket", [sa.text(CLOCK_START)])
    op.create_index(
        "ix_ticket_open_clock_start",
        "ticket",
        [sa.text(CLOCK_START)],
        postgresql_where=sa.text("removed_at IS NULL"),
        sqlite_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_open_clock_start", table_name="ticket")
    op.drop_index("ix_ticket_clock_start", table_name="ticket")
