"""Ticket store: ingest runs, tickets, ticket events, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingest_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("read", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("ignored_columns", sa.String, nullable=False),
        sa.Column("error", sa.String),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("notified_at", TS),
        sa.Column("removed_at", TS),
        sa.Column("checked_at", TS),
        sa.Column("ip", sa.String(45)),
        sa.Column("hostname", sa.String(253)),
        sa.Column("stated_provider", sa.String(255)),
        sa.Column("stated_country", sa.String(2)),
        sa.Column("registered_domain", sa.String(253)),
        sa.Column("provider", sa.String(255)),
        sa.Column("asn", sa.BigInteger),
        sa.Column("network", sa.String(255)),
        sa.Column("prefix", sa.String(49)),
        sa.Column("geo_country", sa.String(2)),
        sa.Column("registered_country", sa.String(2)),
        sa.Column("country", sa.String(2)),
        sa.Column("cdn", sa.Boolean),
        sa.Column("eu", sa.Boolean),
        sa.Column("inhope", sa.Boolean),
        sa.Column("resolution_sources", sa.String(255)),
        sa.Column("resolved_at", TS),
        sa.Column("first_learnt_at", TS, nullable=False),
        sa.Column("last_learnt_at", TS, nullable=False),
        sa.Column("first_run_id", sa.Integer, sa.ForeignKey("ingest_run.id")),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("ingest_run.id")),
        sa.UniqueConstraint("source", "ticket_id", name="uq_ticket_source_ticket_id"),
    )
    op.create_index("ix_ticket_url_hash", "ticket", ["url_hash"])
    op.create_index("ix_ticket_reported_at", "ticket", ["reported_at"])
    op.create_index("ix_ticket_provider", "ticket", ["provider"])
    op.create_index("ix_ticket_country", "ticket", ["country"])
    op.create_index("ix_ticket_resolved_at", "ticket", ["resolved_at"])
    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", sa.String),
        sa.Column("new_value", sa.String),
        sa.Column("learnt_at", TS, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_run.id")),
    )
    op.create_index("ix_ticket_event_key", "ticket_event", ["source", "ticket_id"])
    op.create_index("ix_ticket_event_learnt_at", "ticket_event", ["learnt_at"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_run.id")),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("raw", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("row_key", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_quarantine_run_id", "quarantine", ["run_id"])
    op.create_index("ix_quarantine_created_at", "quarantine", ["created_at"])
    op.create_index("ix_quarantine_row_key", "quarantine", ["source", "row_key"])


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_table("ticket_event")
    op.drop_table("ticket")
    op.drop_table("ingest_run")
