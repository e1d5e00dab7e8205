"""Quarantined rows a corrected re-ingest fixed are marked resolved (kept, not deleted).

`ticket_id` is the quarantined row's ticket_id when it had a usable one; a later run that
writes a ticket with that (source, ticket_id) sets `resolved_at` and `resolved_by_run`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("ticket_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("resolved_at", TS, nullable=True))
        batch.add_column(sa.Column("resolved_by_run", sa.Integer, nullable=True))
    op.create_index("ix_quarantine_ticket", "quarantine", ["source", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_ticket", table_name="quarantine")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("resolved_by_run")
        batch.drop_column("resolved_at")
        batch.drop_column("ticket_id")
