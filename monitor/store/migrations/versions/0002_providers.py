"""Resolution stage: prefix versions, per-IP results, provider registry, jurisdiction corrections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "prefix_source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("data_date", sa.Date),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_v4", sa.String(255), nullable=False),
        sa.Column("source_v6", sa.String(255)),
        sa.Column("source_asnames", sa.String(255), nullable=False),
        sa.Column("prefixes_v4", sa.Integer, nullable=False),
        sa.Column("prefixes_v6", sa.Integer, nullable=False),
        sa.Column("as_names", sa.Integer, nullable=False),
        sa.Column("rejected_lines", sa.Integer, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("retired_at", TS),
        sa.UniqueConstraint("version", name="uq_prefix_source_version"),
    )
    op.create_table(
        "prefix_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("prefix_source.id"), nullable=False),
        sa.Column("family", sa.SmallInteger, nullable=False),
        sa.Column("net_hi", sa.BigInteger, nullable=False),
        sa.Column("net_lo", sa.BigInteger, nullable=False),
        sa.Column("length", sa.SmallInteger, nullable=False),
        sa.Column("asn", sa.BigInteger),
        sa.Column("origin", sa.String(255)),
    )
    op.create_index("ix_prefix_entry_source_id", "prefix_entry", ["source_id"])
    op.create_table(
        "as_name",
        sa.Column("source_id", sa.Integer, sa.ForeignKey("prefix_source.id"), primary_key=True),
        sa.Column("asn", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("rir", sa.String(16)),
    )
    op.create_table(
        "ip_resolution",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("data_version", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("asn", sa.BigInteger),
        sa.Column("network", sa.String(255)),
        sa.Column("prefix", sa.String(49)),
        sa.Column("geo_country", sa.String(2)),
        sa.Column("registered_country", sa.String(2)),
        sa.Column("rir", sa.String(16)),
        sa.Column("detail", sa.String(255)),
        sa.Column("resolved_at", TS, nullable=False),
        sa.UniqueConstraint("source", "data_version", "ip", name="uq_ip_resolution_version_ip"),
    )
    op.create_index("ix_ip_resolution_source_ip", "ip_resolution", ["source", "ip"])
    op.create_table(
        "provider",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("provider.id")),
        sa.Column("note", sa.String),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_provider_name"),
    )
    op.create_table(
        "provider_alias",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("provider_id", sa.Integer, sa.ForeignKey("provider.id"), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("note", sa.String),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("key", name="uq_provider_alias_key"),
    )
    op.create_index("ix_provider_alias_provider_id", "provider_alias", ["provider_id"])
    op.create_table(
        "jurisdiction_override",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("member", sa.String(8), nullable=False),
        sa.Column("since", sa.Date),
        sa.Column("until", sa.Date),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("source_note", sa.String, nullable=False),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("set_at", TS, nullable=False),
    )
    op.create_index("ix_jurisdiction_override_key", "jurisdiction_override", ["country", "kind"])


def downgrade() -> None:
    op.drop_table("jurisdiction_override")
    op.drop_table("provider_alias")
    op.drop_table("provider")
    op.drop_table("ip_resolution")
    op.drop_table("as_name")
    op.drop_table("prefix_entry")
    op.drop_table("prefix_source")
