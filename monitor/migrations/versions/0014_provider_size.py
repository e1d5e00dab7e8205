"""Analyst-supplied provider size figures (`monitor providers size import`).

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provider_size",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("addresses", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(255)),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_index("ix_provider_size_provider", "provider_size", ["provider", "batch"])


def downgrade() -> None:
    op.drop_index("ix_provider_size_provider", table_name="provider_size")
    op.drop_table("provider_size")
