"""Stored scorecards: immutable snapshots that reports and briefings cite by id.

A snapshot keeps the parameters (period, grouping, as_of, known_at, norms, minimum
notices) and the complete scorecard JSON. Its id is derived from that content
(`sc-` + 20 hex digits of a SHA-256 over the figures without `generated_at`), so storing
the same figures twice gives the same id and one row, and re-deriving a figure with the
same `--as-of` / `--known-at` proves it by arriving at the same id. There is no update
path: a changed figure is a new snapshot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from monitor.core.errors import ReportError
from monitor.core.timeutil import as_utc, iso, parse_timestamp, utcnow
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import label_for
from monitor.store.models import UTCDateTime

ID_PREFIX = "sc-"
_UNHASHED = ("generated_at", "snapshot_id")


class ScorecardSnapshot(SQLModel, table=True):
    """One computed scorecard, as published."""

    __tablename__ = "scorecard_snapshot"
    __table_args__ = (sa.Index("ix_scorecard_snapshot_period", "period_label", "grouping"),)

    id: str = Field(primary_key=True, max_length=32)
    period_label: str = Field(max_length=64)
    period_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    period_to: datetime = Field(sa_type=UTCDateTime, nullable=False)
    as_of: datetime = Field(sa_type=UTCDateTime, nullable=False)
    known_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    grouping: str = Field(max_length=16)
    parameters: str = Field(description="JSON: min_notices, norms, previous_period")
    figures: str = Field(description="the scorecard JSON, snapshot_id included")
    content_sha256: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


SNAPSHOT = ScorecardSnapshot.__table__


def content_hash(scorecard: dict) -> str:
    """SHA-256 of the scorecard's figures and parameters (not when it was generated)."""
    content = {key: value for key, value in scorecard.items() if key not in _UNHASHED}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def store_snapshot(engine: Engine, scorecard: dict) -> str:
    """Store a computed scorecard (the dict of monitor.statistics.scorecard); returns its id."""
    digest = content_hash(scorecard)
    snapshot_id = ID_PREFIX + digest[:20]
    figures = {**scorecard, "snapshot_id": snapshot_id}
    period = scorecard["period"]
    with engine.begin() as connection:
        exists = connection.scalar(sa.select(SNAPSHOT.c.id).where(SNAPSHOT.c.id == snapshot_id))
        if exists is None:
            connection.execute(
                sa.insert(SNAPSHOT).values(
                    id=snapshot_id,
                    period_label=period["label"],
                    period_from=parse_timestamp(period["from"]),
                    period_to=parse_timestamp(period["to"]),
                    as_of=parse_timestamp(scorecard["as_of"]),
                    known_at=parse_timestamp(scorecard["known_at"])
                    if scorecard.get("known_at")
                    else None,
                    grouping=scorecard["by"],
                    parameters=json.dumps(
                        {
                            "min_notices": scorecard["min_notices"],
                            "norms": scorecard["norms"],
                            "previous_period": scorecard["previous_period"],
                        },
                        ensure_ascii=False,
                    ),
                    figures=json.dumps(figures, ensure_ascii=False),
                    content_sha256=digest,
                    created_at=utcnow(),
                )
            )
    return snapshot_id


def store_scorecard_snapshot(
    engine: Engine,
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    by: str,
    label: str | None = None,
    known_at: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> str:
    """Compute the scorecard of [period_from, period_to) as of `as_of` and store it; returns the id.

    `label` names the period (e.g. "2026Q3"); without it a calendar quarter, month or year
    is recognised, else the interval is the label.
    """
    from monitor.statistics.scorecard import compute_scorecard

    period = label_for(as_utc(period_from), as_utc(period_to))
    if label:
        period = replace(period, label=label)
    scorecard = compute_scorecard(
        engine, period=period, as_of=as_of, by=by, known_at=known_at, config=config
    )
    return store_snapshot(engine, scorecard)


def store_scorecard_snapshots(
    engine: Engine,
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    groupings: Sequence[str],
    label: str | None = None,
    config: StatisticsConfig | None = None,
) -> dict[str, str]:
    """As `store_scorecard_snapshot` for several groupings of one period, from one read of
    the tickets (the scheduler's metrics job stores provider, network and country each
    day); returns grouping -> snapshot id. Each snapshot equals the one computed alone."""
    from monitor.statistics.scorecard import compute_scorecards

    period = label_for(as_utc(period_from), as_utc(period_to))
    if label:
        period = replace(period, label=label)
    cards = compute_scorecards(
        engine, period=period, as_of=as_of, groupings=tuple(groupings), config=config
    )
    return {by: store_snapshot(engine, cards[by]) for by in groupings}


def load_snapshot(engine: Engine, snapshot_id: str) -> dict:
    """The stored scorecard JSON of `snapshot_id`; a ReportError names an unknown id."""
    with engine.connect() as connection:
        figures = connection.scalar(
            sa.select(SNAPSHOT.c.figures).where(SNAPSHOT.c.id == snapshot_id.strip())
        )
    if figures is None:
        raise ReportError(f"no scorecard snapshot {snapshot_id!r} (see `monitor snapshots list`)")
    return json.loads(figures)


def list_snapshots(engine: Engine, *, limit: int = 50) -> list[dict]:
    """The newest snapshots first: id, period, grouping, as_of, known_at, created_at."""
    query = (
        sa.select(
            SNAPSHOT.c.id,
            SNAPSHOT.c.period_label,
            SNAPSHOT.c.grouping,
            SNAPSHOT.c.as_of,
            SNAPSHOT.c.known_at,
            SNAPSHOT.c.created_at,
        )
        .order_by(SNAPSHOT.c.created_at.desc(), SNAPSHOT.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        {
            "id": row.id,
            "period": row.period_label,
            "by": row.grouping,
            "as_of": iso(row.as_of),
            "known_at": iso(row.known_at),
            "created_at": iso(row.created_at),
        }
        for row in rows
    ]
