"""Fixtures shared by every test module.

Storage tests take the `engine` (or `db_url`) fixture and run twice: on SQLite
and on PostgreSQL (`MONITOR_TEST_POSTGRES_URL`, each test in a schema of its own
so concurrent runs never meet). Without that variable the PostgreSQL half is
skipped with a visible reason.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from monitor.store.db import make_engine
from monitor.store.schema import upgrade


@pytest.fixture(autouse=True)
def _root_log_filters():
    """The CLI puts its redacting log filter on the root handlers, pytest's included; take it
    off after each test, so another test's own redaction is still what its logs show."""
    before = {handler: list(handler.filters) for handler in logging.getLogger().handlers}
    yield
    for handler, filters in before.items():
        handler.filters[:] = filters


POSTGRES_ENV = "MONITOR_TEST_POSTGRES_URL"
SHARED = Path(__file__).resolve().parents[2] / "shared"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared next to the checkout; tests that need it skip cleanly without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared reference data is not present (a user's fresh clone has none)")
    return SHARED


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL half of the storage suite skipped")
    return url


def _new_pg_schema(base: str) -> tuple[str, str]:
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def _drop_pg_schema(base: str, schema: str) -> None:
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path) -> str:
    """A database URL with nothing in it (not even the schema), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    base = postgres_base_url()
    schema, url = _new_pg_schema(base)
    try:
        yield url
    finally:
        _drop_pg_schema(base, schema)


@pytest.fixture
def db_url(empty_db_url) -> str:
    """A migrated database URL on each backend."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    engine.dispose()
    return empty_db_url


@pytest.fixture
def engine(db_url):
    """A migrated engine on each backend."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """A migrated SQLite engine, for tests that are not about storage."""
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


class Cli:
    """Runs `monitor` in-process against one database and returns the result."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        from monitor.cli import app

        result = self.runner.invoke(app, ["--db", self.db_url, *map(str, args)], input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"monitor {' '.join(map(str, args))} exited {result.exit_code}:\n"
                f"{result.output}\n{result.exception!r}"
            )
        return result


@pytest.fixture
def cli(db_url) -> Cli:
    """`cli("ingest", path, "--json")` on a migrated database, on each backend."""
    return Cli(db_url)


@pytest.fixture
def sqlite_cli(tmp_path) -> Cli:
    """The CLI on a migrated SQLite database only."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return Cli(url)
