"""Feed cursors hold whatever the API may legally send: text columns.

On PostgreSQL a `since` mark over 64 characters, a `next` link over 2,048 or a feed label
over 512 failed every later pull (`value too long for type character varying(64)`), so
the feed was stuck for good; SQLite never enforced the lengths. `feed`, `next_url` and
`since` become TEXT on both (the page parser bounds them: docs/feed-api.md, "Limits").

Revision ID: 0010
Revises: 0009, 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = ("0009", "0005")  # feed_cursor is created on the 0005 branch
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
WIDTHS = (("feed", 512), ("next_url", 2048), ("since", 64))
COLUMNS = "id, source, feed, next_url, since, pages, updated_at"


def _table(name: str, text: bool) -> None:
    def kind(column: str, width: int):
        return sa.Text() if text else sa.String(width)

    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("feed", kind("feed", 512), nullable=False),
        sa.Column("next_url", kind("next_url", 2048)),
        sa.Column("since", kind("since", 64)),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source", "feed", name="uq_feed_cursor_source_feed"),
    )


def _rebuild_sqlite(text: bool) -> None:
    # SQLite cannot change a column's type: copy into a new table (Alembic's batch mode
    # cannot reflect this database's tables, see 0009).
    _table("feed_cursor_new", text)
    op.execute(f"INSERT INTO feed_cursor_new ({COLUMNS}) SELECT {COLUMNS} FROM feed_cursor")
    op.drop_table("feed_cursor")
    op.rename_table("feed_cursor_new", "feed_cursor")
    # The unique constraint keeps the name it was created with; SQLite shows it as an index.


def _alter(text: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(text)
        return
    for name, width in WIDTHS:
        old, new = (sa.String(width), sa.Text()) if text else (sa.Text(), sa.String(width))
        op.alter_column("feed_cursor", name, type_=new, existing_type=old)


def upgrade() -> None:
    _alter(text=True)


def downgrade() -> None:
    # Values longer than the old widths are cut (PostgreSQL would refuse them otherwise).
    for name, width in WIDTHS:
        op.execute(
            f"UPDATE feed_cursor SET {name} = substr({name}, 1, {width}) "
            f"WHERE length({name}) > {width}"
        )
    _alter(text=False)
