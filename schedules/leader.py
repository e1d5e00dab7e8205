"""Only one scheduler runs jobs: a lock decides which.

APScheduler 3.x must not share a job store between processes, so the scheduler
that holds the lock runs jobs and the others wait as standbys. On PostgreSQL the
lock is a session advisory lock held on a connection kept for the scheduler's
life (the server frees it when that process dies); on SQLite it is a file lock
next to the database file (the kernel frees it when the process dies).
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import Connection, Engine

from monitor.core.errors import ConfigurationError
from monitor.store.db import is_postgres

log = logging.getLogger(__name__)

LOCK_KEY = "monitor.scheduler:"


class PostgresLeaderLock:
    """`pg_try_advisory_lock` on a dedicated connection; the key includes the schema, so monitors
    sharing one database in different schemas do not block each other."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.connection: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        connection = self.engine.connect()
        try:
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(hashtext(:key || current_schema()))"),
                {"key": LOCK_KEY},
            ).scalar_one()
            connection.commit()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if taken:
            self.connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        """True while the lock's connection is alive (the lock lives as long as the session)."""
        if self.connection is None:
            return False
        try:
            self.connection.exec_driver_sql("SELECT 1")
            self.connection.commit()
            return True
        except Exception:  # noqa: BLE001 - a dead connection means the lock is gone
            log.warning("the scheduler lock's database connection is gone")
            return False

    def release(self) -> None:
        """Give the lock up; the session is closed, not returned to the pool, so nothing lingers."""
        if self.connection is None:
            return
        try:
            self.connection.execute(
                sa.text("SELECT pg_advisory_unlock(hashtext(:key || current_schema()))"),
                {"key": LOCK_KEY},
            )
        except Exception:  # noqa: BLE001 - closing the session below frees it anyway
            pass
        self.connection.invalidate()
        self.connection.close()
        self.connection = None


class FileLeaderLock:
    """A `filelock.FileLock` on `<database file>.scheduler.lock`."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = FileLock(str(path))

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        """True while this process holds the lock."""
        return self.lock.is_locked

    def release(self) -> None:
        """Give the lock up."""
        if self.lock.is_locked:
            self.lock.release(force=True)


def leader_lock(engine: Engine) -> PostgresLeaderLock | FileLeaderLock:
    """The lock for this database: advisory on PostgreSQL, a file next to a SQLite database."""
    if is_postgres(engine):
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigurationError(
            "the scheduler needs a database file or PostgreSQL, not an in-memory database"
        )
    return FileLeaderLock(
        Path(database).expanduser().resolve().with_name(Path(database).name + ".scheduler.lock")
    )


def scheduler_running(engine: Engine) -> bool:
    """True when some scheduler holds the lock (checked by taking and at once giving it back)."""
    lock = leader_lock(engine)
    if lock.try_acquire():
        lock.release()
        return False
    return True
