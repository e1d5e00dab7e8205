"""Reads of many rows through the driver's own cursors, in one read-only snapshot.

Scorecards, re-appearance and provider sizes read millions of rows; these helpers stream
them in chunks from one consistent snapshot without taking SQLite's write lock.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

FETCH_ROWS = 65_536


class SnapshotReader:
    """Runs queries in one read snapshot through the driver's own cursors."""

    def __init__(self, raw, dialect: str):
        self.raw = raw
        self.dialect = dialect

    def scalar(self, sql: str, params):
        """The single value of a small query."""
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def chunks(self, sql: str, params) -> Iterator[list[tuple]]:
        """The rows of one query, in lists of up to FETCH_ROWS, streamed from the server."""
        if self.dialect == "postgresql":
            cursor = self.raw.driver_connection.cursor(name="ticket_frame")
        else:
            cursor = self.raw.cursor()
        # Millions of short-lived row tuples would set off the cyclic garbage collector
        # over and over; none of them can form a cycle, so it is paused while reading.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield rows
        finally:
            if was_enabled:
                gc.enable()
            cursor.close()


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[SnapshotReader]:
    """Driver cursors in one read-only snapshot, without taking SQLite's write lock.

    The engine opens its own transactions with BEGIN IMMEDIATE (right for writers); a
    scorecard over millions of tickets must not hold up an ingest meanwhile, so it reads
    in a deferred transaction (SQLite, WAL) or a read-only repeatable-read one (PostgreSQL).
    """
    raw = engine.raw_connection()
    dialect = engine.dialect.name
    began = False
    try:
        if dialect == "sqlite":
            raw.cursor().execute("BEGIN")
        else:
            raw.driver_connection.execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
        began = True
        yield SnapshotReader(raw, dialect)
    finally:
        try:
            if began and dialect == "sqlite":
                raw.cursor().execute("COMMIT")
            else:
                raw.rollback()
        finally:
            raw.close()
