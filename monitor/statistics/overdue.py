"""Overdue notices: open notices older than a norm, oldest first, for reminders and escalation.

A notice is open at `as_of` when its content has no removal at or before `as_of`; its age
is counted from the clock start (`notified_at`, else `reported_at`). Provider and country
fall back to what the hotline stated when the ticket is not resolved yet, as in the
scorecard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, iso, utcnow
from monitor.statistics.ticket_query import UNKNOWN_PROVIDER
from monitor.store.models import RESOLUTION, TICKET, TICKET_WITH_RESOLUTION


def overdue_notices(
    engine: Engine,
    *,
    older_than_hours: float,
    as_of: datetime | None = None,
    limit: int | None = None,
) -> dict:
    """Open notices whose clock started more than `older_than_hours` before `as_of`, oldest first.

    `count` is the number of overdue notices, `notices` the first `limit` of them (all when
    `limit` is None).
    """
    if older_than_hours < 0:
        raise ValueError("older_than_hours must not be negative")
    clock = sa.func.coalesce(TICKET.c.notified_at, TICKET.c.reported_at)
    if as_of is None:
        # Now: open means no removal at all (the ingest refuses future removal times),
        # which the partial index of open notices (migration 0006) serves.
        as_of = utcnow()
        is_open = TICKET.c.removed_at.is_(None)
    else:
        as_of = as_utc(as_of)
        is_open = sa.or_(TICKET.c.removed_at.is_(None), TICKET.c.removed_at > as_of)
    cutoff = as_of - timedelta(hours=older_than_hours)
    # A later notice time can move the clock start; the window is on the clock start itself.
    where = sa.and_(clock <= cutoff, is_open)
    query = (
        sa.select(
            TICKET.c.source,
            TICKET.c.ticket_id,
            TICKET.c.url_hash,
            clock.label("clock_start"),
            TICKET.c.notified_at,
            TICKET.c.checked_at,
            sa.func.coalesce(
                RESOLUTION.c.provider, TICKET.c.stated_provider, UNKNOWN_PROVIDER
            ).label("provider"),
            RESOLUTION.c.network,
            RESOLUTION.c.asn,
            sa.func.coalesce(RESOLUTION.c.country, TICKET.c.stated_country).label("country"),
            RESOLUTION.c.eu,
            RESOLUTION.c.inhope,
        )
        .select_from(TICKET_WITH_RESOLUTION)
        .where(where)
        .order_by(clock, TICKET.c.source, TICKET.c.ticket_id)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        count = connection.scalar(sa.select(sa.func.count()).select_from(TICKET).where(where))
        rows = connection.execute(query).mappings().all()
    notices = []
    for row in rows:
        started = as_utc(row["clock_start"])
        checked = as_utc(row["checked_at"])
        notices.append(
            {
                "source": row["source"],
                "ticket_id": row["ticket_id"],
                "url_hash": row["url_hash"],
                "provider": row["provider"],
                "network": row["network"],
                "asn": row["asn"],
                "country": row["country"],
                "eu": row["eu"],
                "inhope": row["inhope"],
                "clock_start": iso(started),
                "notified": row["notified_at"] is not None,
                "age_hours": (as_of - started).total_seconds() / 3600,
                "last_checked": iso(checked) if checked is not None and checked <= as_of else None,
            }
        )
    return {
        "as_of": iso(as_of),
        "older_than_hours": float(older_than_hours),
        "count": int(count),
        "shown": len(notices),
        "notices": notices,
    }
