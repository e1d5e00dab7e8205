"""Where each notice was hosted, as numpy columns: the input of the hosting drift tests.

One row per ticket reported in the comparison windows (baseline + recent), plus older
reports of the url_hashes re-reported outside the EU and INHOPE in the recent window
(for `url_relocated`). Only metadata: provider, jurisdiction, network, url_hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from monitor.drift_config import DriftConfig
from monitor.ticket_frame import TicketQuery, read_snapshot

INSIDE, OUTSIDE, UNKNOWN = 0, 1, 2
"""Zones: hotlines can act (EU or INHOPE), cannot (neither), or we do not know."""

COLUMNS = (
    "reported_at",
    "source",
    "ticket_id",
    "url_hash",
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

    def period_of(self, seconds: np.ndarray) -> np.ndarray:
        """Per time (epoch seconds): 0 in the baseline, 1 in the recent window, -1 outside both."""
        base_from, recent_from, as_of = (
            w.timestamp() for w in (self.baseline_from, self.recent_from, self.as_of)
        )
        period = np.full(seconds.shape, -1, dtype=np.int64)
        period[(seconds >= base_from) & (seconds < recent_from)] = 0
        period[(seconds >= recent_from) & (seconds <= as_of)] = 1
        return period


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
    def from_columns(
        cls, columns: dict[str, list], reported: np.ndarray, *, cdn_as_unknown: bool = True
    ) -> HostingFrame:
        """Build from lists named as in COLUMNS and report times in epoch seconds."""
        n = reported.size

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
            reported=reported,
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
    """Tickets reported in the windows, plus earlier reports of URLs re-hosted outside recently.

    Read through the driver's cursors in one snapshot, like `ticket_frame.load_frame`
    (no ORM row or datetime object per ticket). An unresolved ticket is named by its
    hotline-stated provider, as in the scorecard.
    """
    query = TicketQuery(engine.dialect, (), None)
    select = (
        f"SELECT {query.time_text('reported_at')}, source, ticket_id, url_hash, "
        "coalesce(provider, stated_provider), network, asn, country, eu, inhope, cdn FROM ticket"
    )
    in_windows = f"{select} WHERE reported_at >= :baseline_from AND reported_at <= :as_of"
    earlier = (
        f"{select} WHERE reported_at >= :lookback_from AND reported_at < :baseline_from "
        "AND url_hash IN (SELECT url_hash FROM ticket WHERE reported_at >= :recent_from "
        "AND reported_at <= :as_of AND NOT eu AND NOT inhope)"
    )
    times = {
        "baseline_from": windows.baseline_from,
        "recent_from": windows.recent_from,
        "as_of": windows.as_of,
        "lookback_from": windows.recent_from - timedelta(days=config.url_lookback_days),
    }
    columns: list[list] = [[] for _ in range(len(COLUMNS))]
    with read_snapshot(engine) as reader:
        for sql in (in_windows, earlier):
            values = {
                name: query.bind_time(value) for name, value in times.items() if f":{name}" in sql
            }
            for rows in reader.chunks(*query.compile(sql, values)):
                for column, part in zip(columns, zip(*rows, strict=True), strict=True):
                    column.extend(part)
    reported = np.array(columns[0], dtype="datetime64[us]").astype(np.int64) / 1e6
    return HostingFrame.from_columns(
        dict(zip(COLUMNS[1:], columns[1:], strict=True)),
        reported,
        cdn_as_unknown=config.cdn_as_unknown,
    )
