"""Retention: purge quarantine rows past their keeping time.

Quarantine keeps the raw (URL-redacted) text of rows that broke a rule, so a
person can fix and re-send them. A hotline may have to stop keeping that text
after some time; this purge is off unless the schedule turns it on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import iso, utcnow
from monitor.store.models import QuarantinedRow

log = logging.getLogger(__name__)
QUARANTINE = QuarantinedRow.__table__


def purge_quarantine(engine: Engine, *, older_than_days: int, now: datetime | None = None) -> int:
    """Delete quarantine rows created over `older_than_days` days before `now`; return how many."""
    if (
        isinstance(older_than_days, bool)
        or not isinstance(older_than_days, int)
        or older_than_days < 1
    ):
        raise ConfigurationError(
            "retention: older_than_days must be a whole number of days, at least 1 "
            f"(got {older_than_days!r})"
        )
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    with engine.begin() as connection:
        deleted = connection.execute(
            sa.delete(QUARANTINE).where(QUARANTINE.c.created_at < cutoff)
        ).rowcount
    log.info("retention: purged %d quarantine row(s) created before %s", deleted, iso(cutoff))
    return deleted
