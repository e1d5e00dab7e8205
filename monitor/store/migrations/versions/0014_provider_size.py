"""Provider size: analyst-supplied figures (`monitor providers size import`) and the
announced IPv4 addresses per AS of a prefix-table version, computed once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
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
    op.create_table(
        "as_size",
        # No foreign key to prefix_source: that table comes from 0002, on another branch of
        # the chain; rows of retired versions are dropped by providers.address_space.
        sa.Column("source_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("asn", sa.BigInteger, primary_key=True),
        sa.Column("addresses", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("as_size")
    op.drop_index("ix_provider_size_provider", table_name="provider_size")
    op.drop_table("provider_size")
