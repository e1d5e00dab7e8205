"""Retention: quarantine rows past their keeping time are purged, the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.core.errors import ConfigurationError
from monitor.store.models import QuarantinedRow
from monitor.store.retention import purge_quarantine

QUARANTINE = QuarantinedRow.__table__
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _quarantine(engine, ages_in_days: list[float]) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(QUARANTINE),
            [
                {
                    "source": "hl",
                    "origin": "export.csv",
                    "line": n + 2,
                    "raw": "{}",
                    "reason": "missing required field",
                    "row_key": f"{n:064x}",
                    "created_at": NOW - timedelta(days=age),
                }
                for n, age in enumerate(ages_in_days)
            ],
        )


def test_rows_older_than_the_limit_are_purged_and_younger_ones_kept(engine):
    _quarantine(engine, [0, 10, 30, 30.01, 400])
    assert purge_quarantine(engine, older_than_days=30, now=NOW) == 2
    with engine.connect() as connection:
        left = sorted(connection.execute(sa.select(QUARANTINE.c.line)).scalars())
    assert left == [2, 3, 4], "exactly 30 days old is not yet past the limit"
    assert purge_quarantine(engine, older_than_days=30, now=NOW) == 0


@pytest.mark.parametrize("days", [0, -5, True, "30", 2.5])
def test_a_limit_that_is_not_a_positive_whole_number_is_refused(sqlite_engine, days):
    _quarantine(sqlite_engine, [1000])
    with pytest.raises(
        ConfigurationError, match=r"older_than_days must be a whole number of days, at least 1"
    ):
        purge_quarantine(sqlite_engine, older_than_days=days, now=NOW)
    with sqlite_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(QUARANTINE)) == 1
