"""The migrations create exactly the tables the models describe, on both backends."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import monitor.store.models  # noqa: F401
from monitor.store.db import make_engine
from monitor.store.schema import current_revisions, pending, upgrade


def _load_all_models() -> None:
    # Every package that defines tables; a new area adds its models module here.
    import importlib

    for name in (
        "monitor.store.models",
        "providers.models",
        "monitor.drift.store",
        "schedules.models",
        "monitor.ingest.feed_cursor",
        "monitor.statistics.snapshots",
        "monitor.web.models",
    ):
        importlib.import_module(name)


# SQLite cannot reflect expression indexes; tests/store/test_query_plans.py checks those are used.
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


def test_resolutions_move_to_their_own_table_and_back(empty_db_url):
    # Migration 0009: resolved tickets' columns become ticket_resolution rows, unresolved
    # tickets the pending queue.
    from alembic import command

    from monitor.store.schema import alembic_config

    engine = make_engine(empty_db_url)
    command.upgrade(alembic_config(engine), "0008")
    learnt = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO ticket (source, ticket_id, url_hash, reported_at, ip, provider, asn, "
            "country, eu, inhope, resolution_sources, resolved_at, first_learnt_at, "
            "last_learnt_at) VALUES "
            f"('s', 'done', 'a', '2024-02-01 10:00:00', '5.0.0.1', 'Hoster', 64500, 'NL', "
            f"true, true, 'country=geo x', '2024-02-01 11:00:00', '{learnt}', '{learnt}'), "
            f"('s', 'open', 'b', '2024-02-02 10:00:00', '5.0.0.2', NULL, NULL, NULL, NULL, NULL, "
            f"NULL, NULL, '{learnt}', '{learnt}')"
        )
    upgrade(engine)
    with engine.begin() as connection:
        moved = connection.exec_driver_sql(
            "SELECT t.ticket_id, r.provider, r.asn, r.country, r.eu, r.resolution_sources "
            "FROM ticket_resolution r JOIN ticket t ON t.id = r.id"
        ).all()
        queued = connection.exec_driver_sql(
            "SELECT t.ticket_id FROM resolution_pending p JOIN ticket t ON t.id = p.id"
        ).all()
        columns = {c["name"] for c in sa.inspect(connection).get_columns("ticket")}
    assert [tuple(row) for row in moved] == [("done", "Hoster", 64500, "NL", True, "country=geo x")]
    assert [tuple(row) for row in queued] == [("open",)]
    assert not columns & {"provider", "country", "resolved_at", "resolution_sources", "dns_ip"}

    command.downgrade(alembic_config(engine), "0008")
    with engine.connect() as connection:
        back = connection.exec_driver_sql(
            "SELECT ticket_id, provider, asn, resolution_sources, resolved_at IS NULL "
            "FROM ticket ORDER BY ticket_id"
        ).all()
    assert [tuple(row) for row in back] == [
        ("done", "Hoster", 64500, "country=geo x", False),
        ("open", None, None, None, True),
    ]
    engine.dispose()
