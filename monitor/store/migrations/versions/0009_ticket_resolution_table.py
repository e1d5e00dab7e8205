"""The resolution of a ticket in a table of its own; pending tickets in a queue.

Resolving used to rewrite every ticket row in place: a million tickets' rows grew from
about 216 to 380 bytes, the table from 56 k to 103 k pages, and that rewrite (plus its WAL
and checkpoint) was most of the resolve time. Now `monitor resolve` appends one
`ticket_resolution` row per ticket (same columns as before, `id` = the ticket's) and the
ticket rows are never touched. Pending tickets are listed in `resolution_pending`, which
the ingest fills with every new ticket, instead of a partial index on `ticket.resolved_at`.
(A SQLite trigger doing that tripled the cost of inserting a ticket: 300 k took 9.8 s
instead of 3.3 s.)

Existing resolutions are moved over. On SQLite each dropped column rewrites the ticket
table once (a one-off, seconds per million tickets).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COLUMNS = (
    ("registered_domain", sa.String(253)),
    ("provider", sa.String(255)),
    ("asn", sa.BigInteger()),
    ("network", sa.String(255)),
    ("prefix", sa.String(49)),
    ("geo_country", sa.String(2)),
    ("registered_country", sa.String(2)),
    ("country", sa.String(2)),
    ("cdn", sa.Boolean()),
    ("eu", sa.Boolean()),
    ("inhope", sa.Boolean()),
    ("resolution_sources", sa.String(255)),
    ("dns_ip", sa.String(45)),
)
NAMES = ", ".join(name for name, _ in COLUMNS)


def upgrade() -> None:
    op.create_table(
        "ticket_resolution",
        # The ticket's id; no foreign key (PostgreSQL would check it per row: see the model).
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *(sa.Column(name, kind) for name, kind in COLUMNS),
        sa.Column("resolved_at", TS, nullable=False),
    )
    op.create_table(
        "resolution_pending",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    )
    op.execute(
        f"INSERT INTO ticket_resolution (id, {NAMES}, resolved_at) "
        f"SELECT id, {NAMES}, resolved_at FROM ticket WHERE resolved_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO resolution_pending (id) SELECT id FROM ticket WHERE resolved_at IS NULL"
    )
    op.drop_index("ix_ticket_pending", table_name="ticket")
    for name in (*(name for name, _ in COLUMNS), "resolved_at"):
        # Plain ALTER TABLE (SQLite 3.35+), not Alembic's batch copy: SQLite cannot reflect
        # the expression indexes on `ticket`, so a copied table would lose them.
        op.execute(f"ALTER TABLE ticket DROP COLUMN {name}")


def downgrade() -> None:
    dialect = op.get_bind().dialect
    for name, kind in (*COLUMNS, ("resolved_at", TS)):
        op.execute(f"ALTER TABLE ticket ADD COLUMN {name} {kind.compile(dialect=dialect)}")
    op.execute(
        f"UPDATE ticket SET ({NAMES}, resolved_at) = (SELECT {NAMES}, resolved_at "
        "FROM ticket_resolution r WHERE r.id = ticket.id) "
        "WHERE id IN (SELECT id FROM ticket_resolution)"
    )
    op.create_index(
        "ix_ticket_pending",
        "ticket",
        ["id"],
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.drop_table("resolution_pending")
    op.drop_table("ticket_resolution")
