"""Where each notice was hosted, as numpy columns: the input of the hosting drift tests.

One row per ticket reported in the comparison windows (baseline + recent), plus older
reports of the url_hashes re-reported outside the EU and INHOPE in the recent window
(for `url_relocated`). Only metadata: provider, jurisdiction, network, url_hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.drift_config import DriftConfig
from monitor.models import Ticket

INSIDE, OUTSIDE, UNKNOWN = 0, 1, 2
"""Zones: hotlines can act (EU or INHOPE), cannot (neither), or we do not know."""

TICKET = Ticket.__table__
COLUMNS = (
    "source",
    "ticket_id",
    "url_hash",
    "reported_at",
    "provider",
    "network",
    "asn",
    "country",
    "eu",
    "inhope",
    "cdn",
)


@dataclass(frozen=True)
class Windows:
    """The recent window `[recent_from, as_of]` and the baseline `[baseline_from, recent_from)`."""

    baseline_from: datetime
    recent_from: datetime
    as_of: datetime

    @classmethod
    def ending(cls, as_of: datetime, config: DriftConfig) -> Windows:
        """The windows of `config` that end at `as_of`."""
        recent_from = as_of - timedelta(days=config.recent_days)
        return cls(recent_from - timedelta(days=config.baseline_days), recent_from, as_of)


@dataclass
class HostingFrame:
    """Per-ticket columns; `reported` is seconds since the epoch, `zone` as above."""

    source: np.ndarray
    ticket_id: np.ndarray
    url_hash: np.ndarray
    reported: np.ndarray
    provider: np.ndarray
    network: np.ndarray
    asn: np.ndarray
    country: np.ndarray
    eu: np.ndarray
    inhope: np.ndarray
    zone: np.ndarray

    def __len__(self) -> int:
        return self.reported.size

    @classmethod
    def from_columns(cls, columns: dict[str, list], *, cdn_as_unknown: bool = True) -> HostingFrame:
        """Build from lists named as in COLUMNS (`reported_at` as aware datetimes)."""
        n = len(columns["reported_at"])

        def obj(name):
            values = columns.get(name)
            array = np.empty(n, dtype=object)
            if values is not None:
                array[:] = values
            return array

        eu, inhope, cdn = obj("eu"), obj("inhope"), obj("cdn")
        return cls(
            source=obj("source"),
            ticket_id=obj("ticket_id"),
            url_hash=obj("url_hash"),
            reported=np.fromiter(
                (t.timestamp() for t in columns["reported_at"]), dtype=float, count=n
            ),
            provider=obj("provider"),
            network=obj("network"),
            asn=obj("asn"),
            country=obj("country"),
            eu=eu,
            inhope=inhope,
            zone=zones(eu, inhope, cdn if cdn_as_unknown else None),
        )


def zones(eu: np.ndarray, inhope: np.ndarray, cdn: np.ndarray | None = None) -> np.ndarray:
    """INSIDE when EU or INHOPE is true, OUTSIDE only when both are false, else UNKNOWN.

    Unknown (None) never counts as outside. A CDN/proxy address (`cdn` true) says who
    fronts the site, not where it is hosted, so it is UNKNOWN when `cdn` is given.
    """
    eu_true, inhope_true = eu == True, inhope == True  # noqa: E712 - object arrays hold None too
    outside = (eu == False) & (inhope == False)  # noqa: E712
    zone = np.full(eu.shape, UNKNOWN, dtype=np.int8)
    zone[outside] = OUTSIDE
    zone[eu_true | inhope_true] = INSIDE
    if cdn is not None:
        zone[cdn == True] = UNKNOWN  # noqa: E712
    return zone


def load_hosting_frame(engine: Engine, windows: Windows, config: DriftConfig) -> HostingFrame:
    """Tickets reported in the windows, plus earlier reports of URLs re-hosted outside recently."""
    t = TICKET.c
    # An unresolved ticket is named by its hotline-stated provider, as in the scorecard.
    selected = [
        sa.func.coalesce(t.provider, t.stated_provider).label("provider")
        if name == "provider"
        else t[name]
        for name in COLUMNS
    ]
    in_windows = sa.select(*selected).where(
        t.reported_at >= windows.baseline_from, t.reported_at <= windows.as_of
    )
    outside_recently = (
        sa.select(t.url_hash)
        .where(
            t.reported_at >= windows.recent_from,
            t.reported_at <= windows.as_of,
            t.eu.is_(False),
            t.inhope.is_(False),
        )
        .distinct()
        .subquery()
    )
    lookback_from = windows.recent_from - timedelta(days=config.url_lookback_days)
    earlier = (
        sa.select(*selected)
        .join(outside_recently, outside_recently.c.url_hash == t.url_hash)
        .where(t.reported_at >= lookback_from, t.reported_at < windows.baseline_from)
    )
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    with engine.connect() as connection:
        for query in (in_windows, earlier):
            result = connection.execution_options(stream_results=True, yield_per=20000).execute(
                query
            )
            for rows in result.partitions():
                for name, values in zip(COLUMNS, zip(*rows, strict=True), strict=True):
                    columns[name].extend(values)
    return HostingFrame.from_columns(columns, cdn_as_unknown=config.cdn_as_unknown)
