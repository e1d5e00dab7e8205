"""The workbench tests' seeded database (tests.web_support.seed) on each backend."""

from __future__ import annotations

import pytest

from tests.web_support import seed


@pytest.fixture
def seeded(db_url, tmp_path):
    """The URL of a migrated database holding the workbench tests' tickets and accounts."""
    from monitor.store.db import make_engine

    engine = make_engine(db_url)
    seed(engine, tmp_path)
    engine.dispose()
    return db_url
