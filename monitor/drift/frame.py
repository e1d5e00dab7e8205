"""Where each notice was hosted, as numpy columns: the input of the hosting drift tests.

One row per ticket reported in the comparison windows (baseline + recent), plus older
reports of the url_hashes re-reported outside the EU and INHOPE in the recent window
(for `url_relocated`). Only metadata, kept lean for ten million tickets: text columns
as integer codes, EU/INHOPE as int8, the url_hash only where a re-report outside makes
it matter, and the database row id instead of the hotline's reference (looked up for
the few tickets a flag cites).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.drift.config import DriftConfig
from monitor.statistics.ticket_frame import Categorical, TicketQuery, read_snapshot
from monitor.store.models import Ticket, ticket_with_resolution_sql

INSIDE, OUTSIDE, UNKNOWN = 0, 1, 2
"""Zones: hotlines can act (EU or INHOPE), cannot (neither), or we do not know."""
YES, NO, UNSET = 1, 0, -1
"""EU / INHOPE / CDN flags as int8, as in `monitor.statistics.ticket_frame`."""


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
    """Per-ticket columns: `reported` in epoch seconds, `eu`/`inhope` int8, `zone` as above.

    `url_hash` is None where it cannot matter for `url_relocated`. `ticket_refs(ids)`
    turns row ids into `{source, ticket_id}` references for a flag's evidence.
    """

    row_id: np.ndarray
    reported: np.ndarray
    provider: Categorical
    network: Categorical
    asn: np.ndarray
    country: Categorical
    eu: np.ndarray
    inhope: np.ndarray
    zone: np.ndarray
    url_hash: np.ndarray
    ticket_refs: Callable[[np.ndarray], list[dict]]

    def __len__(self) -> int:
        return self.reported.size

    @classmethod
    def from_values(
        cls,
        *,
        reported,
        provider,
        country,
        eu,
        inhope,
        url_hash,
        network=None,
        asn=None,
        cdn=None,
        ticket_refs=None,
    ) -> HostingFrame:
        """Build from plain per-ticket values (`eu`/`inhope`/`cdn` as True/False/None)."""
        n = len(reported)
        eu, inhope = flag_codes(eu), flag_codes(inhope)
        cdn = flag_codes(cdn) if cdn is not None else np.full(n, UNSET, np.int8)
        coder = {name: _Coder() for name in ("provider", "network", "country")}
        network = [None] * n if network is None else network
        columns = {"provider": provider, "network": network, "country": country}
        coded = {name: coder[name].codes(list(values)) for name, values in columns.items()}
        hashes = np.empty(n, dtype=object)
        hashes[:] = list(url_hash)
        return cls(
            row_id=np.arange(n, dtype=np.int64),
            reported=np.asarray(reported, dtype=float),
            provider=coder["provider"].categorical(coded["provider"]),
            network=coder["network"].categorical(coded["network"]),
            asn=np.full(n, -1, np.int64) if asn is None else np.asarray(asn, dtype=np.int64),
            country=coder["country"].categorical(coded["country"]),
            eu=eu,
            inhope=inhope,
            zone=zones(eu, inhope, cdn),
            url_hash=hashes,
            ticket_refs=ticket_refs or (lambda ids: [{"row": int(i)} for i in ids]),
        )


def flag_codes(values) -> np.ndarray:
    """True/False/None (or 1/0/None from SQLite) as int8 YES/NO/UNSET."""
    return np.array([UNSET if v is None else (YES if v else NO) for v in values], dtype=np.int8)


def flag_values(codes: np.ndarray) -> np.ndarray:
    """int8 YES/NO/UNSET back to an object array of True/False/None."""
    return np.array([None, False, True], dtype=object)[codes.astype(np.int64) + 1]


def pick(column: Categorical, rows: np.ndarray) -> np.ndarray:
    """The labels of a coded column at `rows` (without decoding the whole column)."""
    return column.labels[column.codes[rows]]


def zones(eu: np.ndarray, inhope: np.ndarray, cdn: np.ndarray | None = None) -> np.ndarray:
    """INSIDE when EU or INHOPE is yes, OUTSIDE only when both are no, else UNKNOWN.

    Unknown never counts as outside. A CDN/proxy address (`cdn` yes) says who fronts the
    site, not where it is hosted, so it is UNKNOWN when `cdn` is given.
    """
    zone = np.full(eu.shape, UNKNOWN, dtype=np.int8)
    zone[(eu == NO) & (inhope == NO)] = OUTSIDE
    zone[(eu == YES) | (inhope == YES)] = INSIDE
    if cdn is not None:
        zone[cdn == YES] = UNKNOWN
    return zone


class _Coder:
    """Codes text values as int32 as they stream in (None is a label too)."""

    def __init__(self):
        self.mapping: dict = {}

    def codes(self, values: list | tuple) -> np.ndarray:
        mapping = self.mapping
        for value in dict.fromkeys(values):
            if value not in mapping:
                mapping[value] = len(mapping)
        return np.fromiter(map(mapping.__getitem__, values), np.int32, len(values))

    def categorical(self, codes: np.ndarray) -> Categorical:
        labels = np.empty(len(self.mapping), dtype=object)
        labels[:] = list(self.mapping)
        return Categorical(codes, labels)


def load_hosting_frame(engine: Engine, windows: Windows, config: DriftConfig) -> HostingFrame:
    """Tickets reported in the windows, plus earlier reports of URLs re-hosted outside recently.

    Read through the driver's cursors in one snapshot, like `ticket_frame.load_frame`
    (no ORM row or datetime object per ticket). An unresolved ticket is named by its
    hotline-stated provider, as in the scorecard.
    """
    query = TicketQuery(engine.dialect, (), None)
    tickets = ticket_with_resolution_sql()
    rehosted = (
        f"SELECT url_hash FROM {tickets} WHERE reported_at >= :recent_from "
        "AND reported_at <= :as_of AND NOT eu AND NOT inhope"
    )
    select = (
        f"SELECT {query.time_text('reported_at')}, ticket.id, coalesce(provider, stated_provider), "
        f"network, coalesce(asn, -1), country, {_flags_sql(engine.dialect.name)}, "
        f"CASE WHEN url_hash IN ({rehosted}) THEN url_hash END FROM {tickets}"
    )
    in_windows = f"{select} WHERE reported_at >= :baseline_from AND reported_at <= :as_of"
    earlier = (
        f"{select} WHERE reported_at >= :lookback_from AND reported_at < :baseline_from "
        f"AND url_hash IN ({rehosted})"
    )
    times = {
        "baseline_from": windows.baseline_from,
        "recent_from": windows.recent_from,
        "as_of": windows.as_of,
        "lookback_from": windows.recent_from - timedelta(days=config.url_lookback_days),
    }
    coders = [_Coder() for _ in range(3)]  # provider, network, country
    parts: dict[str, list] = {name: [] for name in ("time", "id", "asn", "flags", "url", "codes")}
    with read_snapshot(engine) as reader:
        for sql in (in_windows, earlier):
            values = {n: query.bind_time(v) for n, v in times.items() if f":{n}" in sql}
            for rows in reader.chunks(*query.compile(sql, values)):
                time, row_id, provider, network, asn, country, flag, url = zip(*rows, strict=True)
                parts["time"].append(np.array(time, dtype="datetime64[us]").astype(np.int64))
                parts["id"].append(np.array(row_id, dtype=np.int64))
                parts["asn"].append(np.array(asn, dtype=np.int64))
                parts["flags"].append(np.array(flag, dtype=np.int8))
                hashes = np.empty(len(url), dtype=object)
                hashes[:] = url
                parts["url"].append(hashes)
                parts["codes"].append(
                    [c.codes(v) for c, v in zip(coders, (provider, network, country), strict=True)]
                )
    return _assemble(engine, parts, coders, config)


def _flags_sql(dialect: str) -> str:
    """eu + 3 inhope + 9 cdn in one integer, each 1 yes, 0 no, 2 unknown."""
    terms = []
    for weight, name in ((1, "eu"), (3, "inhope"), (9, "cdn")):
        value = name if dialect == "sqlite" else f"CAST({name} AS INTEGER)"
        terms.append(f"{weight} * coalesce({value}, 2)")
    return " + ".join(terms)


def _assemble(
    engine: Engine, parts: dict, coders: list[_Coder], config: DriftConfig
) -> HostingFrame:
    def joined(name, dtype):
        return np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype)

    codes = [
        np.concatenate([chunk[i] for chunk in parts["codes"]])
        if parts["codes"]
        else np.zeros(0, np.int32)
        for i in range(3)
    ]
    flags = joined("flags", np.int8).astype(np.int64)
    eu, inhope, cdn = (((flags // weight) % 3).astype(np.int8) for weight in (1, 3, 9))
    for array in (eu, inhope, cdn):
        array[array == 2] = UNSET
    return HostingFrame(
        row_id=joined("id", np.int64),
        reported=joined("time", np.int64) / 1e6,
        provider=coders[0].categorical(codes[0]),
        network=coders[1].categorical(codes[1]),
        asn=joined("asn", np.int64),
        country=coders[2].categorical(codes[2]),
        eu=eu,
        inhope=inhope,
        zone=zones(eu, inhope, cdn if config.cdn_as_unknown else None),
        url_hash=joined("url", object),
        ticket_refs=lambda ids: ticket_references(engine, ids),
    )


def ticket_references(engine: Engine, ids: np.ndarray) -> list[dict]:
    """`{source, ticket_id}` of the tickets with these row ids, in the order given."""
    t = Ticket.__table__.c
    with engine.connect() as connection:
        found = {
            row.id: {"source": row.source, "ticket_id": row.ticket_id}
            for row in connection.execute(
                sa.select(t.id, t.source, t.ticket_id).where(t.id.in_([int(i) for i in ids]))
            )
        }
    return [found[int(i)] for i in ids if int(i) in found]
