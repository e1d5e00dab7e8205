"""Database engines: SQLite embedded by default, PostgreSQL for servers."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from monitor.errors import ConfigurationError

DEFAULT_URL = "sqlite:///monitor.db"
ENV_VAR = "MONITOR_DATABASE_URL"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://")


def database_url(explicit: str | None = None) -> str:
    """The URL to use: `--db`, else $MONITOR_DATABASE_URL, else `monitor.db` here."""
    url = explicit or os.environ.get(ENV_VAR) or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg")):
        raise ConfigurationError(
            f"unsupported database URL scheme in {redact_url(url)!r}: use sqlite:///PATH or postgresql+psycopg://..."
        )
    return url


def redact_url(url: str) -> str:
    """Only the scheme of a database URL (`mysql://...`), for messages and logs: the rest may
    hold a password, also in the query or in a mistyped URL that does not parse."""
    scheme = _SCHEME.match(url)
    return f"{scheme.group()}..." if scheme else "..."


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An engine with the settings the monitor relies on.

    SQLite: WAL, foreign keys, a busy timeout, and every transaction opened with
    BEGIN IMMEDIATE so two writers queue instead of failing half-way.
    PostgreSQL: pool pre-ping, so a restarted server is reconnected to.
    """
    url = database_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    _configure_postgres(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # After a big transaction (a million-ticket ingest) the WAL file keeps its size until
        # the last connection closes; a scheduler never closes them all. Cut it back to 64 MiB
        # each time the log restarts: the disk space comes back, and the next writer appends
        # to a short file instead of overwriting hundreds of MB (measured slower: a million-
        # ticket rewrite's commits 1.4 s over a stale 400 MB log, 1.2 s with the limit).
        cursor.execute("PRAGMA journal_size_limit=67108864")
        # Temporary lookup tables (resolution joins a million tickets against them) are
        # searched a third faster in 64 KiB pages: fewer levels, fewer cache misses. Only
        # takes effect before the connection's temporary database exists, hence here.
        cursor.execute("PRAGMA temp.page_size=65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Plans made for the actual parameters: after five runs psycopg prepares a statement
        # and PostgreSQL may then switch to a generic plan, which for the ingest's key lookup
        # (`ticket_id = ANY(:ids)` on a table growing under it) is a filter over every row
        # of the source: a 100k-ticket ingest took 45-85 s instead of 4 s.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()


def is_postgres(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine):
    """One transaction: committed on success, rolled back on any exception."""
    with engine.begin() as connection:
        yield connection
