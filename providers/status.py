"""What the resolution stage holds: prefix-table versions and the per-IP answers kept per source."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import iso
from monitor.store.models import ResolutionPending
from providers.models import IpResolution, PrefixSource

SOURCE = PrefixSource.__table__
RESULT = IpResolution.__table__
PENDING = ResolutionPending.__table__


def resolution_status(engine: Engine) -> dict:
    """Prefix versions (newest first), answers per source@version, tickets pending resolution."""
    with engine.connect() as connection:
        versions = [
            {
                "version": row["version"],
                "data_date": row["data_date"].isoformat() if row["data_date"] else None,
                "imported_at": iso(row["imported_at"]),
                "retired_at": iso(row["retired_at"]),
                "prefixes_v4": row["prefixes_v4"],
                "prefixes_v6": row["prefixes_v6"],
                "as_names": row["as_names"],
                "rejected_lines": row["rejected_lines"],
                "sources": [row["source_v4"], row["source_v6"], row["source_asnames"]],
            }
            for row in connection.execute(sa.select(SOURCE).order_by(SOURCE.c.id.desc())).mappings()
        ]
        answers = {
            f"{source}@{version}": count
            for source, version, count in connection.execute(
                sa.select(RESULT.c.source, RESULT.c.data_version, sa.func.count())
                .group_by(RESULT.c.source, RESULT.c.data_version)
                .order_by(RESULT.c.source, RESULT.c.data_version)
            )
        }
        pending = connection.scalar(sa.select(sa.func.count()).select_from(PENDING))
    return {"prefix_versions": versions, "answers": answers, "pending_tickets": pending}
