"""`ticket.dns_ip`: the address a ticket's hostname resolved to with `monitor resolve --dns`.

Only tickets the hotline gave no IP for are looked up (and only when asked for); the
hotline's `ip` column is never overwritten, so where a ticket's address came from stays
visible. Nullable, no default: adding it rewrites no row on either backend.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("dns_ip", sa.String(45), nullable=True))


def downgrade() -> None:
    op.drop_column("ticket", "dns_ip")  # SQLite 3.35+ drops a column in place
