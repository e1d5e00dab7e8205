"""Create or upgrade the schema with Alembic (`monitor init`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine`, with the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> list[str]:
    """Bring the schema to the newest revision; returns the heads now applied."""
    command.upgrade(alembic_config(engine), "heads")
    # Measured: on SQLite a million-ticket rewrite after the migrations ran at half speed
    # until the pool was started afresh. A stale, large WAL file that open connections keep
    # alive is one cause found since (`journal_size_limit` in monitor.db); whether that is
    # all of it is not shown, so the pool still starts afresh (an in-memory database lives
    # only in its connection, so that one is kept).
    if engine.url.database not in (None, "", ":memory:"):
        engine.dispose()
    return current_revisions(engine)


def current_revisions(engine: Engine) -> list[str]:
    """Revisions the database is at (empty before `monitor init`)."""
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def pending(engine: Engine) -> bool:
    """True when the database lacks a migration the code ships."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return set(current_revisions(engine)) != set(script.get_heads())
