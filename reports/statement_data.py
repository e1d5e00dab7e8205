"""The figures of a provider statement: one provider's notices, removal times against the
norms and against the other providers, its last four quarters, its re-appearances, its
size, and its notices still open, all from one stored scorecard snapshot and `as_of`.

A statement is sent to the provider, so it carries only what the provider may see:
ticket ids, URL hashes and notice times of its own notices, never a URL or another
provider's tickets. Figures of other providers appear only as the median over providers.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.errors import ReportError
from monitor.core.timeutil import as_utc, iso, parse_timestamp
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period, quarter
from monitor.store.models import RESOLUTION, TICKET, TICKET_WITH_RESOLUTION

OPEN_LISTED = 12
UNKNOWN = "unknown"


@dataclass
class Shared:
    """What every statement of one batch shares: the snapshot (with the size columns) and
    the re-appearances."""

    snapshot: dict
    period: Period
    as_of: datetime
    reappearance: dict
    config: StatisticsConfig
    peers: dict = field(default_factory=dict)
    trend_frame: object = None  # the last four quarters' tickets, loaded once per batch


def is_provider(row: dict) -> bool:
    """A row that names a hosting provider (not `unknown`, not `unknown (behind X)`)."""
    return not str(row["name"]).casefold().startswith(UNKNOWN)


def statement_providers(snapshot: dict) -> list[str]:
    """The providers a batch writes statements for: real providers above the minimum."""
    return [
        str(row["name"])
        for row in snapshot["rows"]
        if is_provider(row) and not row.get("low_volume")
    ]


def _median(values: list[float | None], *, missing_high: bool) -> float | None:
    """Median over providers; a value that was never reached sorts as infinite."""
    numbers = [(float("inf") if missing_high else None) if v is None else float(v) for v in values]
    numbers = [v for v in numbers if v is not None]
    if not numbers:
        return None
    middle = float(np.median(numbers))
    return None if np.isinf(middle) else middle


def peer_medians(snapshot: dict) -> dict:
    """The median provider: over the providers above the minimum, the median of their
    median times and of each norm's share (how a provider compares with its peers)."""
    peers = [row for row in snapshot["rows"] if is_provider(row) and not row.get("low_volume")]
    norms = {
        norm["key"]: _median(
            [row["norms"][norm["key"]]["share"] for row in peers], missing_high=False
        )
        for norm in snapshot["norms"]
    }
    return {
        "providers": len(peers),
        "median_hours": _median([row["median_hours"] for row in peers], missing_high=True),
        "norms": norms,
    }


def find_row(snapshot: dict, provider: str) -> dict:
    """The snapshot row of `provider` (case-insensitive); a ReportError suggests close names."""
    wanted = provider.strip().casefold()
    for row in snapshot["rows"]:
        if str(row["name"]).casefold() == wanted or str(row["key"]).casefold() == wanted:
            return row
    names = [str(row["name"]) for row in snapshot["rows"]]
    close = difflib.get_close_matches(provider, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    label = snapshot["period"]["label"]
    raise ReportError(f"no notices for provider {provider!r} in {label}{hint}")


def open_notices(engine: Engine, provider: str, *, before: datetime, as_of: datetime) -> dict:
    """The provider's notices still online at `as_of` whose clock started before `before`:
    the count and the oldest OPEN_LISTED (ticket id, source, URL hash, notice time)."""
    clock = sa.func.coalesce(TICKET.c.notified_at, TICKET.c.reported_at)
    name = sa.func.coalesce(RESOLUTION.c.provider, TICKET.c.stated_provider, UNKNOWN)
    where = sa.and_(
        name == provider,
        clock <= as_of,
        clock < before,
        sa.or_(TICKET.c.removed_at.is_(None), TICKET.c.removed_at > as_of),
    )
    with engine.connect() as connection:
        total = connection.scalar(
            sa.select(sa.func.count()).select_from(TICKET_WITH_RESOLUTION).where(where)
        )
        rows = connection.execute(
            sa.select(TICKET.c.source, TICKET.c.ticket_id, TICKET.c.url_hash, clock.label("at"))
            .select_from(TICKET_WITH_RESOLUTION)
            .where(where)
            .order_by(clock, TICKET.c.id)
            .limit(OPEN_LISTED)
        ).all()
    listed = []
    for source, ticket_id, url_hash, at in rows:
        at = as_utc(at) if isinstance(at, datetime) else parse_timestamp(str(at) + "Z")
        listed.append(
            {
                "source": source,
                "ticket_id": ticket_id,
                "url_hash": url_hash,
                "notified_at": iso(at),
                "age_hours": (as_of - at).total_seconds() / 3600,
            }
        )
    return {"total": int(total or 0), "listed": listed}


def _quarter_of(period: Period) -> Period:
    start = period.start
    return quarter(start.year, (start.month - 1) // 3 + 1)


def statement_figures(engine: Engine, shared: Shared, provider: str) -> dict:
    """Everything one provider's statement shows (see the module docstring)."""
    from reports.trend_data import load_trend_frame, quarterly_trend

    snapshot = shared.snapshot
    row = find_row(snapshot, provider)
    name = str(row["name"])
    if not shared.peers:
        shared.peers = peer_medians(snapshot)
    last = _quarter_of(shared.period)
    if shared.trend_frame is None:
        shared.trend_frame = load_trend_frame(engine, last=last, as_of=shared.as_of, count=4)
    trend = quarterly_trend(
        engine,
        last=last,
        as_of=shared.as_of,
        count=4,
        provider=name,
        config=shared.config,
        frame=shared.trend_frame,
    )
    reappearance = shared.reappearance.get(name)
    return {
        "provider": name,
        "row": row,
        "totals": snapshot["totals"],
        "peers": shared.peers,
        # The scorecard row's own size columns: the statement and the scorecard agree.
        "size": {
            "addresses": row.get("announced_addresses"),
            "basis": row.get("size_basis"),
            "data_version": snapshot.get("size_data_version"),
            "notices_per_100k": row.get("notices_per_100k_addresses"),
        },
        "trend": trend,
        "reappearance": reappearance,
        "open": open_notices(engine, name, before=shared.period.end, as_of=shared.as_of),
    }
