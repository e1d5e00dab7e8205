"""The workbench's two engines: one that writes (the monitor's own), one that only reads.

Readers never wait for writers. The monitor's SQLite engine opens every transaction with
BEGIN IMMEDIATE, right for writers but a queue behind the scheduler's ingest for a page
that only looks. The read engine opens plain deferred transactions on a WAL database
(a reader sees the last committed state and never takes the write lock) and refuses
writes outright (`PRAGMA query_only`); on PostgreSQL its transactions are READ ONLY.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from monitor.store.db import database_url, make_engine


def read_engine(url: str | None = None) -> Engine:
    """An engine for pages: deferred, query-only transactions on SQLite; read-only on PostgreSQL."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        engine = sa.create_engine(url, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET plan_cache_mode = force_custom_plan")
                cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()

        return engine
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        connection.exec_driver_sql("BEGIN")

    return engine


@dataclass
class Engines:
    """The pair a workbench uses: `read` for every page, `write` for the changes it makes."""

    read: Engine
    write: Engine

    @classmethod
    def open(cls, url: str | None = None) -> Engines:
        """Both engines on the database `url` (default: $MONITOR_DATABASE_URL, else monitor.db)."""
        return cls(read=read_engine(url), write=make_engine(url))

    def dispose(self) -> None:
        """Close every pooled connection of both."""
        self.read.dispose()
        self.write.dispose()
