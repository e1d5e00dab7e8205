"""Where each hotline feed stopped: the cursor a pull resumes from.

One row per (source, feed). `next_url` is the page to ask for next (a `next`
link the feed gave, secret-looking query values dropped), `since` the feed's
high-water mark; either may be empty. Both, and the feed's label, are text columns:
whatever the API may legally send is stored alike on SQLite and PostgreSQL (the page
parser bounds them: monitor.ingest.feed_page.MAX_NEXT_CHARS, MAX_SINCE_CHARS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from monitor.core.timeutil import utcnow
from monitor.ingest.bounds import MAX_SOURCE_CHARS
from monitor.store.models import UTCDateTime

"""A source names whose tickets these are (ticket.source, ingest_run.source: 64 characters)."""


class FeedCursor(SQLModel, table=True):
    """The resume point of one feed for one source."""

    __tablename__ = "feed_cursor"
    __table_args__ = (sa.UniqueConstraint("source", "feed", name="uq_feed_cursor_source_feed"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=MAX_SOURCE_CHARS)
    feed: str = Field(sa_type=sa.Text, description="the feed's base URL, credentials removed")
    next_url: str | None = Field(default=None, sa_type=sa.Text)
    since: str | None = Field(default=None, sa_type=sa.Text)
    pages: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


CURSOR = FeedCursor.__table__


@dataclass(frozen=True)
class Cursor:
    """A resume point: the next page's URL, else the `since` mark, else the start."""

    next_url: str | None = None
    since: str | None = None
    pages: int = 0


def load_cursor(connection: Connection, source: str, feed: str) -> Cursor:
    """The stored cursor of a feed, or an empty one for a feed never pulled."""
    row = connection.execute(
        sa.select(CURSOR.c.next_url, CURSOR.c.since, CURSOR.c.pages).where(
            CURSOR.c.source == source, CURSOR.c.feed == feed
        )
    ).first()
    return Cursor() if row is None else Cursor(row.next_url, row.since, row.pages)


def save_cursor(connection: Connection, source: str, feed: str, cursor: Cursor) -> None:
    """Insert or replace the cursor of a feed (inside the caller's transaction)."""
    values = {
        "next_url": cursor.next_url,
        "since": cursor.since,
        "pages": cursor.pages,
        "updated_at": utcnow(),
    }
    updated = connection.execute(
        sa.update(CURSOR).where(CURSOR.c.source == source, CURSOR.c.feed == feed).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(CURSOR).values(source=source, feed=feed, **values))
