"""`monitor status`: what the store holds, at a glance."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import iso
from monitor.store.models import IngestRun, QuarantinedRow, ResolutionPending, Ticket

TICKET = Ticket.__table__
RUN = IngestRun.__table__
QUARANTINE = QuarantinedRow.__table__
PENDING = ResolutionPending.__table__


def store_status(engine: Engine) -> dict:
    """Counts of tickets, open tickets, unresolved tickets, quarantine and the last ingest.

    The data versions resolutions use come from a later stage
    (`monitor.statistics.data_versions`); `monitor status` adds them."""
    with engine.connect() as connection:
        tickets = connection.scalar(sa.select(sa.func.count()).select_from(TICKET))
        open_ = connection.scalar(
            sa.select(sa.func.count()).select_from(TICKET).where(TICKET.c.removed_at.is_(None))
        )
        unresolved = connection.scalar(sa.select(sa.func.count()).select_from(PENDING))
        quarantined = connection.scalar(sa.select(sa.func.count()).select_from(QUARANTINE))
        last = (
            connection.execute(
                sa.select(RUN).where(RUN.c.status == "ok").order_by(RUN.c.id.desc()).limit(1)
            )
            .mappings()
            .first()
        )
        failed = connection.scalar(
            sa.select(sa.func.count()).select_from(RUN).where(RUN.c.status == "failed")
        )
    return {
        "tickets": tickets,
        "open": open_,
        "unresolved": unresolved,
        "quarantined": quarantined,
        "failed_ingests": failed,
        "last_ingest": None
        if last is None
        else {
            "id": last["id"],
            "source": last["source"],
            "origin": last["origin"],
            "finished_at": iso(last["finished_at"]),
            "read": last["read"],
            "inserted": last["inserted"],
            "updated": last["updated"],
            "quarantined": last["quarantined"],
        },
    }
