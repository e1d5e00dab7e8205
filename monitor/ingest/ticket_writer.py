"""Write validated ticket records in bulk, recording every change as an event.

Works inside the caller's transaction with SQLAlchemy Core (executemany), one
round of SELECT / INSERT / UPDATE per batch, never one ORM object per ticket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from monitor.core.timeutil import iso
from monitor.ingest.validate import removed_before_notice
from monitor.store.models import (
    TRACKED_FIELDS,
    QuarantinedRow,
    ResolutionPending,
    Ticket,
    TicketEvent,
    UTCDateTime,
)

TICKET = Ticket.__table__
PENDING = ResolutionPending.__table__
EVENT = TicketEvent.__table__
QUARANTINE = QuarantinedRow.__table__
_KEY_CHUNK = 900  # stay far below SQLite's bound-parameter limit
_INSERT_COLUMNS = (
    *TRACKED_FIELDS,
    "source",
    "ticket_id",
    "first_learnt_at",
    "last_learnt_at",
    "first_run_id",
    "last_run_id",
)
_UPDATE_COLUMNS = (*TRACKED_FIELDS, "last_learnt_at", "last_run_id")
_TIME_COLUMNS = frozenset(
    name for name, column in TICKET.columns.items() if isinstance(column.type, UTCDateTime)
) | {"learnt_at"}
_EVENT_COLUMNS = ("source", "ticket_id", "field", "old_value", "new_value", "learnt_at", "run_id")


@dataclass
class BatchCounts:
    """What one batch did to the store."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed_before_notice: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _event_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


class TicketWriter:
    """Upserts records for one source within one transaction, logging events."""

    def __init__(self, connection: Connection, source: str, run_id: int, learnt_at: datetime):
        self.connection = connection
        self.source = source
        self.run_id = run_id
        self.learnt_at = learnt_at
        self._open_quarantine: bool | None = None

    def _matching(self, ticket_ids: Sequence[str]) -> Iterator:
        """WHERE conditions selecting this source's tickets with these ids, a batch each."""
        unique = list(dict.fromkeys(ticket_ids))
        postgres = self.connection.dialect.name == "postgresql"
        # PostgreSQL: one array parameter per batch (= ANY) plans once; SQLite: IN-lists in chunks.
        chunk_size = max(len(unique), 1) if postgres else _KEY_CHUNK
        for start in range(0, len(unique), chunk_size):
            chunk = unique[start : start + chunk_size]
            if postgres:
                match = TICKET.c.ticket_id == sa.func.any(
                    sa.bindparam("ids", chunk, type_=ARRAY(sa.String))
                )
            else:
                match = TICKET.c.ticket_id.in_(chunk)
            yield sa.and_(TICKET.c.source == self.source, match)

    def _existing(self, ticket_ids: Sequence[str]) -> dict[str, dict]:
        columns = [TICKET.c.id, TICKET.c.ticket_id, *(TICKET.c[name] for name in TRACKED_FIELDS)]
        found: dict[str, dict] = {}
        for where in self._matching(ticket_ids):
            for row in self.connection.execute(sa.select(*columns).where(where)).mappings():
                found[row["ticket_id"]] = dict(row)
        return found

    def _last_id(self) -> int | None:
        """SQLite: the highest ticket id now (this transaction holds the only write lock, so
        the next rows inserted get higher ids); None elsewhere."""
        if self.connection.dialect.name != "sqlite":
            return None
        return self.connection.scalar(sa.select(sa.func.coalesce(sa.func.max(TICKET.c.id), 0)))

    def _queue_for_resolution(self, ticket_ids: Sequence[str], after: int | None) -> None:
        """New tickets join the queue `monitor resolve` works through: on SQLite the ids above
        `after` (a range read; by key the ingest measured 11.4 k tickets/s instead of 13.0 k),
        elsewhere by key (concurrent writers may interleave ids)."""
        if after is not None:
            self.connection.execute(
                sa.insert(PENDING).from_select(
                    ["id"], sa.select(TICKET.c.id).where(TICKET.c.id > after)
                )
            )
            return
        for where in self._matching(ticket_ids):
            self.connection.execute(
                sa.insert(PENDING).from_select(["id"], sa.select(TICKET.c.id).where(where))
            )

    def write(self, records: Sequence[tuple[int, dict]]) -> BatchCounts:
        """Insert new tickets, update changed ones, count unchanged ones."""
        counts = BatchCounts()
        state = self._existing([record["ticket_id"] for _, record in records])
        inserts: dict[str, dict] = {}
        updates: dict[str, dict] = {}
        events: list[dict] = []
        for line, record in records:
            key = record["ticket_id"]
            current = state.get(key)
            if current is None:
                row = {name: record[name] for name in TRACKED_FIELDS}
                row.update(
                    source=self.source,
                    ticket_id=key,
                    first_learnt_at=self.learnt_at,
                    last_learnt_at=self.learnt_at,
                    first_run_id=self.run_id,
                    last_run_id=self.run_id,
                )
                inserts[key] = row
                state[key] = row
                events.append(self._event(key, "first_seen", None, None))
                counts.inserted += 1
                counts.removed_before_notice += removed_before_notice(row)
                continue
            # A later row updates what it carries; an empty cell never erases a known value.
            changes = {
                name: record[name]
                for name in TRACKED_FIELDS
                if record[name] is not None and record[name] != current[name]
            }
            if not changes:
                counts.unchanged += 1
                continue
            merged = {**current, **changes}
            if merged["removed_at"] is not None and merged["removed_at"] < merged["reported_at"]:
                counts.rejected.append(
                    (line, "update would make removed_at earlier than reported_at")
                )
                continue
            for name, value in changes.items():
                events.append(self._event(key, name, current[name], value))
            state[key] = merged
            if key in inserts:
                inserts[key].update(changes)
            else:
                updates[key] = merged
            counts.updated += 1
            counts.removed_before_notice += removed_before_notice(
                merged
            ) and not removed_before_notice(current)
        self._flush(inserts, updates, events)
        return counts

    def _event(self, key: str, name: str, old: object, new: object) -> dict:
        return {
            "source": self.source,
            "ticket_id": key,
            "field": name,
            "old_value": _event_value(old),
            "new_value": _event_value(new),
            "learnt_at": self.learnt_at,
            "run_id": self.run_id,
        }

    def _flush(
        self, inserts: dict[str, dict], updates: dict[str, dict], events: list[dict]
    ) -> None:
        if inserts:
            last = self._last_id()
            self._executemany("ticket", _INSERT_COLUMNS, inserts.values())
            self._queue_for_resolution(list(inserts), after=last)
        if updates:
            for row in updates.values():
                row["last_learnt_at"], row["last_run_id"] = self.learnt_at, self.run_id
            assignments = ", ".join(f"{name} = {self._mark}" for name in _UPDATE_COLUMNS)
            self.connection.exec_driver_sql(
                f"UPDATE ticket SET {assignments} WHERE id = {self._mark}",
                self._native_rows((*_UPDATE_COLUMNS, "id"), updates.values()),
            )
        if events:
            self._executemany("ticket_event", _EVENT_COLUMNS, events)

    @property
    def _mark(self) -> str:
        return "?" if self.connection.dialect.paramstyle == "qmark" else "%s"

    def _native_rows(self, columns: Sequence[str], rows: Iterable[dict]) -> list[tuple]:
        """Parameter tuples in the storage format UTCDateTime would produce.

        Bulk writes skip SQLAlchemy's per-value type processing (it dominated the ingest's
        time): SQLite stores naive UTC text `YYYY-MM-DD HH:MM:SS.ffffff`, PostgreSQL takes
        the aware UTC datetimes as they are.
        """
        getter = itemgetter(*columns)
        if self.connection.dialect.name != "sqlite":
            return [getter(row) for row in rows]
        times = [i for i, name in enumerate(columns) if name in _TIME_COLUMNS]
        native = []
        for row in rows:
            values = list(getter(row))
            for i in times:
                value = values[i]
                if value is not None:
                    values[i] = value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
            native.append(tuple(values))
        return native

    def _executemany(self, table: str, columns: Sequence[str], rows: Iterable[dict]) -> None:
        if self.connection.dialect.name == "postgresql":
            self._copy(table, columns, rows)
            return
        marks = ", ".join([self._mark] * len(columns))
        self.connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            self._native_rows(columns, rows),
        )

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[dict]) -> None:
        """PostgreSQL: COPY the rows in, inside the caller's transaction (no round trip per row)."""
        driver_connection = self.connection.connection.driver_connection
        with driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in self._native_rows(columns, rows):
                    copy.write_row(values)

    def resolve_quarantined(self, ticket_ids: Sequence[str]) -> None:
        """Mark this source's open quarantined rows of these tickets (from earlier runs) resolved.

        A corrected export re-ingested fixes the rows it carries; they are kept, with the run
        that fixed them. Skipped at once when the source has nothing open in quarantine.
        """
        if not ticket_ids:
            return
        if self._open_quarantine is None:
            self._open_quarantine = bool(
                self.connection.scalar(
                    sa.select(sa.literal(1)).where(
                        sa.exists().where(
                            QUARANTINE.c.source == self.source,
                            QUARANTINE.c.ticket_id.is_not(None),
                            QUARANTINE.c.resolved_at.is_(None),
                            QUARANTINE.c.run_id != self.run_id,
                        )
                    )
                )
            )
        if not self._open_quarantine:
            return
        unique = list(dict.fromkeys(ticket_ids))
        for start in range(0, len(unique), _KEY_CHUNK):
            self.connection.execute(
                sa.update(QUARANTINE)
                .where(
                    QUARANTINE.c.source == self.source,
                    QUARANTINE.c.ticket_id.in_(unique[start : start + _KEY_CHUNK]),
                    QUARANTINE.c.resolved_at.is_(None),
                    QUARANTINE.c.run_id != self.run_id,
                )
                .values(resolved_at=self.learnt_at, resolved_by_run=self.run_id)
            )

    def quarantine(self, origin: str, rows: Sequence[tuple]) -> None:
        """Store bad rows: (line, redacted raw JSON, reason[, ticket_id]); one already kept is
        not repeated."""
        if not rows:
            return
        keyed = {
            _row_key(origin, row[0], row[1], row[2]): (*row[:3], row[3] if len(row) > 3 else None)
            for row in rows
        }
        keys = list(keyed)
        for start in range(0, len(keys), _KEY_CHUNK):
            query = sa.select(QUARANTINE.c.row_key).where(
                QUARANTINE.c.source == self.source,
                QUARANTINE.c.row_key.in_(keys[start : start + _KEY_CHUNK]),
            )
            for known in self.connection.execute(query).scalars():
                keyed.pop(known, None)
        if not keyed:
            return
        self.connection.execute(
            sa.insert(QUARANTINE),
            [
                {
                    "run_id": self.run_id,
                    "source": self.source,
                    "origin": origin[:255],
                    "line": line,
                    "raw": raw,
                    "reason": reason,
                    "row_key": key,
                    "created_at": self.learnt_at,
                    "ticket_id": ticket_id,
                }
                for key, (line, raw, reason, ticket_id) in keyed.items()
            ],
        )


def _row_key(origin: str, line: int, raw: str, reason: str) -> str:
    return hashlib.sha256(f"{origin}\x00{line}\x00{raw}\x00{reason}".encode()).hexdigest()
