"""The ticket store: the hotline's tickets, their resolution (written once, in a table of
its own), the queue of tickets not resolved yet, and the log of what was learnt when.

Two kinds of time are kept apart (as IntelMQ keeps `time.source` and
`time.observation`): when a thing happened at the hotline (`reported_at`,
`notified_at`, `removed_at`, `checked_at`) and when the monitor learnt it
(`first_learnt_at`, `last_learnt_at`, `TicketEvent.learnt_at`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps them naive as text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; the monitor only stores UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc_column(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class IngestRun(SQLModel, table=True):
    """One ingest of one file or feed page: what came in, when, and what became of it."""

    __tablename__ = "ingest_run"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    origin: str = Field(max_length=255, description="file name (no directory) or feed name")
    file_sha256: str | None = Field(default=None, max_length=64)
    format: str = Field(max_length=8)
    status: str = Field(max_length=16, description="ok, failed")
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = _utc_column()
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    ignored_columns: str = Field(default="[]", description="JSON list of column names")
    error: str | None = None


class Ticket(SQLModel, table=True):
    """A hotline ticket's metadata: never content, never a raw URL."""

    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("source", "ticket_id", name="uq_ticket_source_ticket_id"),
        # Statistics select by clock start; the overdue list by clock start of open tickets.
        sa.Index("ix_ticket_clock_start", sa.text("coalesce(notified_at, reported_at)")),
        sa.Index(
            "ix_ticket_open_clock_start",
            sa.text("coalesce(notified_at, reported_at)"),
            postgresql_where=sa.text("removed_at IS NULL"),
            sqlite_where=sa.text("removed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    ticket_id: str = Field(max_length=128)
    url_hash: str = Field(max_length=64, index=True)
    reported_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    notified_at: datetime | None = _utc_column()
    removed_at: datetime | None = _utc_column()
    checked_at: datetime | None = _utc_column()
    ip: str | None = Field(default=None, max_length=45)
    hostname: str | None = Field(default=None, max_length=253)
    stated_provider: str | None = Field(default=None, max_length=255)
    stated_country: str | None = Field(default=None, max_length=2)
    first_learnt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_learnt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_run_id: int | None = Field(default=None, foreign_key="ingest_run.id")
    last_run_id: int | None = Field(default=None, foreign_key="ingest_run.id")


class TicketResolution(SQLModel, table=True):
    """Who hosted a ticket and under which jurisdiction: written once by `monitor resolve`
    (package `providers`), normally right after the report, with that day's data.

    A table of its own, one row per resolved ticket (`id` is the ticket's), so resolving
    appends rows instead of rewriting every ticket: a million tickets' rows grew from about
    216 to 380 bytes in place, and the rewrite was most of the resolve time.

    `id` is the ticket's, with no foreign-key constraint: rows are only ever written for
    tickets read from the pending queue, and tickets are never deleted. PostgreSQL checks a
    foreign key with a trigger per row, measured at 4 of 7.5 s for 200 k resolutions.
    """

    __tablename__ = "ticket_resolution"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    registered_domain: str | None = Field(default=None, max_length=253)
    provider: str | None = Field(default=None, max_length=255)
    asn: int | None = Field(default=None, sa_type=sa.BigInteger)
    network: str | None = Field(default=None, max_length=255)
    prefix: str | None = Field(default=None, max_length=49)
    geo_country: str | None = Field(default=None, max_length=2)
    registered_country: str | None = Field(default=None, max_length=2)
    country: str | None = Field(default=None, max_length=2)
    cdn: bool | None = None
    eu: bool | None = None
    inhope: bool | None = None
    resolution_sources: str | None = Field(default=None, max_length=255)
    # With `monitor resolve --dns` only: the address the hostname resolved to, used as the
    # ticket's IP when the hotline gave none (`ticket.ip` always stays the hotline's).
    dns_ip: str | None = Field(default=None, max_length=45)
    resolved_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ResolutionPending(SQLModel, table=True):
    """The tickets not resolved yet, by id: the ingest adds every new ticket (a SQLite trigger
    measured three times the cost of the insert itself), `monitor resolve` removes the ones it
    resolved. No foreign-key constraint, for the same reason as `TicketResolution`."""

    __tablename__ = "resolution_pending"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


TICKET = Ticket.__table__
RESOLUTION = TicketResolution.__table__
RESOLUTION_COLUMNS = tuple(column.name for column in RESOLUTION.c if column.name != "id")
"""The columns a resolution adds to a ticket."""
TICKET_WITH_RESOLUTION = TICKET.outerjoin(RESOLUTION, RESOLUTION.c.id == TICKET.c.id)
"""Tickets with their resolution columns (NULL while pending), for SQLAlchemy Core reads."""
QUEUE_UNRESOLVED = (
    "INSERT INTO resolution_pending (id) SELECT id FROM ticket t WHERE NOT EXISTS "
    "(SELECT 1 FROM ticket_resolution r WHERE r.id = t.id) AND NOT EXISTS "
    "(SELECT 1 FROM resolution_pending p WHERE p.id = t.id)"
)
"""SQL queueing every ticket neither resolved nor queued: for tickets written into the
store by other means than the ingest (tests, benchmarks, repairs)."""


def ticket_with_resolution_sql(hint: str = "") -> str:
    """The same join as SQL text, for hand-written reads (`hint`: e.g. SQLite's NOT INDEXED).

    Resolution columns can be named unqualified in such a query; `id` must be `ticket.id`.
    """
    return (
        f"ticket{' ' + hint if hint else ''} "
        "LEFT JOIN ticket_resolution ON ticket_resolution.id = ticket.id"
    )


class TicketEvent(SQLModel, table=True):
    """Append-only log of what the monitor learnt about a ticket, and when.

    `field` is `first_seen` for a new ticket (its values are the ticket's values
    minus later events), else the changed column with its old and new value
    (ISO 8601 for times). Replaying events up to a time gives the ticket as it
    was known then (`--known-at`).
    """

    __tablename__ = "ticket_event"
    __table_args__ = (sa.Index("ix_ticket_event_key", "source", "ticket_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    ticket_id: str = Field(max_length=128)
    field: str = Field(max_length=32)
    old_value: str | None = None
    new_value: str | None = None
    learnt_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    run_id: int | None = Field(default=None, foreign_key="ingest_run.id")


class QuarantinedRow(SQLModel, table=True):
    """A row that broke a rule: kept with its line, raw text (URLs redacted) and reason."""

    __tablename__ = "quarantine"
    __table_args__ = (
        sa.Index("ix_quarantine_row_key", "source", "row_key"),
        sa.Index("ix_quarantine_ticket", "source", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="ingest_run.id", index=True)
    source: str = Field(max_length=64)
    origin: str = Field(max_length=255)
    line: int
    raw: str
    reason: str
    row_key: str = Field(
        max_length=64,
        description="SHA-256 of origin, line, raw and reason: a re-ingest adds no duplicate",
    )
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ticket_id: str | None = Field(
        default=None,
        max_length=128,
        description="the row's ticket_id when usable: a corrected re-ingest resolves the row",
    )
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_run: int | None = Field(default=None, description="the ingest run that fixed it")


TRACKED_FIELDS = (
    "url_hash",
    "reported_at",
    "notified_at",
    "removed_at",
    "checked_at",
    "ip",
    "hostname",
    "stated_provider",
    "stated_country",
)
"""Ticket columns that come from the hotline; a change to any of them is an event."""
