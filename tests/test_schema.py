"""The migrations create exactly the tables the models describe, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import monitor.models  # noqa: F401
from monitor.db import make_engine
from monitor.schema import current_revisions, pending, upgrade


def _load_all_models() -> None:
    # Every package that defines tables; a new area adds its models module here.
    import importlib

    for name in (
        "monitor.models",
        "providers.models",
        "monitor.drift_store",
        "schedules.models",
        "monitor.feed_cursor",
        "monitor.snapshots",
    ):
        importlib.import_module(name)


# SQLite cannot reflect expression indexes; tests/test_query_plans.py checks those are used.
@pytest.mark.filterwarnings("ignore:.*expression-based index.*")
def test_migrations_match_models(engine):
    _load_all_models()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_init_is_idempotent_and_reports_revision(empty_db_url):
    engine = make_engine(empty_db_url)
    assert current_revisions(engine) == []
    assert pending(engine)
    first = upgrade(engine)
    assert first and upgrade(engine) == first
    assert not pending(engine)
    engine.dispose()


def test_commands_refuse_an_uninitialised_database(empty_db_url):
    from tests.conftest import Cli

    result = Cli(empty_db_url)("status", ok=False)
    assert result.exit_code == 2
    assert "run `monitor init` first" in result.output


def test_the_sqlite_wal_is_cut_back_after_a_big_transaction(tmp_path):
    # A scheduler keeps its connections open, so SQLite never deletes the WAL; without a
    # limit it keeps the size of the biggest transaction (a million-ticket ingest: ~500 MB)
    # and every later writer overwrites it, measured slower than appending to a short one.
    path = tmp_path / "monitor.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    kept_open = engine.connect()  # as a scheduler's pool does
    kept_open.exec_driver_sql("SELECT count(*) FROM ticket").all()
    kept_open.rollback()  # idle, not closed
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE filler (blob BLOB)")
        connection.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000) "
            "INSERT INTO filler SELECT randomblob(10000) FROM n"
        )
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 80 * 2**20
    with engine.begin() as connection:  # the next writer restarts the log: it is cut back
        connection.exec_driver_sql("DELETE FROM filler WHERE rowid = 1")
    assert wal.stat().st_size <= 64 * 2**20
    kept_open.close()
    engine.dispose()
