"""Create or upgrade the schema with Alembic (`monitor init`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError
from monitor.store.db import reader

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine`, with the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> list[str]:
    """Bring the schema to the newest revision; returns the heads now applied.

    A database already at a revision this monitor does not ship (written by a newer
    monitor) is left alone: ConfigurationError naming the revision.
    """
    refuse_newer(engine)
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
    with reader(engine).connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def known_heads(engine: Engine) -> list[str]:
    """The newest revisions this monitor ships."""
    return sorted(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def unknown_revisions(engine: Engine) -> list[str]:
    """Revisions the database is at that this monitor does not ship (a newer monitor's)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    known = {revision.revision for revision in script.walk_revisions()}
    return [revision for revision in current_revisions(engine) if revision not in known]


def refuse_newer(engine: Engine) -> None:
    """ConfigurationError when a newer monitor has migrated this database: running `init`
    cannot help, and this monitor would misread tables it does not know."""
    newer = unknown_revisions(engine)
    if newer:
        raise ConfigurationError(
            f"the database schema is at revision {', '.join(newer)}, newer than this monitor "
            f"knows (its newest is {max(known_heads(engine))}): upgrade the monitor"
        )


def pending(engine: Engine) -> bool:
    """True when the database lacks a migration the code ships."""
    return set(current_revisions(engine)) != set(known_heads(engine))
