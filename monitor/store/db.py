"""Database engines: SQLite embedded by default, PostgreSQL for servers."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError

DEFAULT_URL = "sqlite:///monitor.db"
ENV_VAR = "MONITOR_DATABASE_URL"
# How long a SQLite writer waits for another writer's lock before it gives up.
BUSY_TIMEOUT_S = 60
READER_OPTION = "monitor_reader"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://")


def database_url(explicit: str | None = None) -> str:
    """The URL to use: `--db`, else $MONITOR_DATABASE_URL, else `monitor.db` here.

    A plain file path (`/tmp/x.db`, `x.db`, `~/m.db`) names a SQLite file. Messages quote
    what the user gave, password removed (`redact_url`).
    """
    given = explicit or os.environ.get(ENV_VAR) or DEFAULT_URL
    url = given.strip()
    if "://" not in url:
        if "@" in url or not url:
            raise ConfigurationError(
                f"not a database URL or file path: {redact_url(given)!r}: give a file path "
                "(monitor.db) or a URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)"
            )
        return "sqlite:///" + str(Path(url).expanduser())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg")):
        raise ConfigurationError(
            f"unsupported database URL scheme in {redact_url(given)!r}: "
            "use a file path, sqlite:///PATH or postgresql+psycopg://..."
        )
    if url.startswith("postgresql") and _userinfo(url).count("@"):
        raise ConfigurationError(
            f"the password in the database URL {redact_url(given)!r} holds an '@': write it as %40"
        )
    try:
        sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(f"not a usable database URL: {redact_url(given)!r}") from None
    return url


def _userinfo(url: str) -> str:
    """What stands before the host of a URL (`user:password`), '' when nothing does.

    The host starts after the *last* `@` before the path: a password with an unescaped
    `@` must not let its tail pass for a host name.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = rest.split("/", 1)[0]
    return authority.rpartition("@")[0]


def redact_url(url: str) -> str:
    """A database URL for messages and logs: as given, but without its password and query.

    `postgresql://monitor:s3cret@db/m?sslpassword=x` -> `postgresql://monitor:***@db/m?...`.
    The host is taken after the last `@`, so an unescaped `@` in a password leaks nothing.
    A text that is not a URL is shown as it was given unless it looks like credentials.
    """
    url = url.strip()
    scheme = _SCHEME.match(url)
    if not scheme:
        return "..." if "@" in url else url
    rest = url[scheme.end() :]
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at:
        user = userinfo.split(":", 1)[0]
        authority = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    path, question, _query = path.partition("?")
    return f"{scheme.group()}{authority}{slash}{path}{'?...' if question else ''}"


def password_fragments(url: str) -> list[str]:
    """The password of a database URL and, for one with unescaped `@`, each part of it.

    A driver's message quotes what it took for the host, e.g. the tail of such a password;
    every fragment is removed from messages shown to the user.
    """
    userinfo = _userinfo(url)
    if ":" not in userinfo:
        return []
    password = userinfo.split(":", 1)[1]
    return sorted({password, *password.split("@")} - {""}, key=len, reverse=True)


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An engine with the settings the monitor relies on.

    SQLite: WAL, foreign keys, a busy timeout (BUSY_TIMEOUT_S), and every transaction opened
    with BEGIN IMMEDIATE so two writers queue instead of failing half-way, except on the
    engine `reader` returns: its transactions begin deferred and never wait for a writer.
    PostgreSQL: pool pre-ping, so a restarted server is reconnected to.
    """
    url = database_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, **kwargs)
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
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
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
        # Writers take the write lock up front (two writers queue instead of failing
        # half-way); readers begin deferred, so in WAL mode they never wait for a writer.
        deferred = connection.get_execution_options().get(READER_OPTION)
        connection.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


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


def reader(engine: Engine) -> Engine:
    """The same database for reading only: on SQLite its transactions begin DEFERRED, so
    a read (status, scorecard) sees the last committed state at once instead of queueing
    behind an ingest that holds the write lock. It shares `engine`'s connection pool.
    Never write through it: a deferred transaction that tries to write may fail at once
    with `database is locked` instead of waiting."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{READER_OPTION: True})


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's `database is locked` (a writer gave up waiting for the lock)."""
    return "database is locked" in str(getattr(exc, "orig", exc))


@contextmanager
def transaction(engine: Engine):
    """One transaction: committed on success, rolled back on any exception."""
    with engine.begin() as connection:
        yield connection
