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
