"""Longest-prefix match over the imported pfx2as table, vectorised with numpy.

Prefixes of one family are sorted ranges (start, end), ordered by start and then
by length, each with a pointer to its parent (the most specific prefix that
strictly contains it). A batch of addresses is matched with one `searchsorted`
(the last range starting at or before the address) and then, for the few whose
range ended before the address, by following parent pointers a couple of times:
nested prefixes resolve to the most specific one, as routers do. IPv6 is matched
on its high 64 bits; the few hundred IPv6 prefixes longer than /64 are matched
on both halves through a dictionary first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from providers.addresses import (
    ipv4_to_uint,
    ipv6_to_halves,
    network_text,
    split_families,
    to_unsigned,
)
from providers.models import AsName, PrefixEntry
from providers.prefix_import import active_source
from providers.results import STATUS_OK, IpResult

NAME = "prefix_table"
ENTRY = PrefixEntry.__table__
NAMES = AsName.__table__


@dataclass
class _Ranges:
    start: np.ndarray  # uint64, sorted
    end: np.ndarray  # uint64, inclusive
    parent: np.ndarray  # int64 position of the enclosing range, -1 for none
    row: np.ndarray  # int64 entry index
    long_v6: dict[
        tuple[int, int, int], int
    ]  # (length, hi, lo >> host bits) -> entry, for /65../128


def _parents(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Enclosing range of each range (sorted by start, then widest first), by pointer jumping.

    The parent of range j is the previous range j-1 or one of its ancestors; so
    while a candidate does not contain j, jumping to the candidate's own
    candidate never passes the parent. Converges in about log2(longest run of
    sibling ranges) rounds.
    """
    candidate = np.arange(start.size, dtype=np.int64) - 1
    todo = np.flatnonzero(candidate >= 0)
    while todo.size:
        holds = end[candidate[todo]] >= end[todo]
        todo = todo[~holds]
        candidate[todo] = candidate[candidate[todo]]
        todo = todo[candidate[todo] >= 0]
    return candidate


def _ranges(start: np.ndarray, length: np.ndarray, rows: np.ndarray, width: int) -> _Ranges:
    span = np.array(
        [(1 << (width - n)) - 1 if n <= width else 0 for n in range(129)], dtype=np.uint64
    )
    order = np.lexsort((length, start))
    start, length, rows = start[order], length[order], rows[order]
    if start.size:  # the same prefix listed twice: keep the first
        keep = np.ones(start.size, dtype=bool)
        keep[1:] = (start[1:] != start[:-1]) | (length[1:] != length[:-1])
        start, length, rows = start[keep], length[keep], rows[keep]
    end = start + span[length]
    return _Ranges(start, end, _parents(start, end), rows, {})


def _match(ranges: _Ranges, values: np.ndarray, result: np.ndarray, positions: np.ndarray) -> None:
    if ranges.start.size == 0 or positions.size == 0:
        return
    query = values[positions]
    at = np.searchsorted(ranges.start, query, side="right").astype(np.int64) - 1
    pending = np.flatnonzero(at >= 0)
    while pending.size:
        outside = query[pending] > ranges.end[at[pending]]
        pending = pending[outside]
        at[pending] = ranges.parent[at[pending]]
        pending = pending[at[pending] >= 0]
    found = at >= 0
    result[positions[found]] = ranges.row[at[found]]


class PrefixTable:
    """An in-memory, vectorised view of one prefix-table version."""

    def __init__(self, family, hi, lo, length, asn, origin, version: str):
        """Arrays as stored (hi/lo as int64 bit patterns, asn -1 when unknown); `origin` maps an
        entry index to its raw AS field when that lists several origins (MOAS, AS set)."""
        self.version = version
        self.family = np.asarray(family, dtype=np.int8)
        self.hi = to_unsigned(np.asarray(hi, dtype=np.int64))
        self.lo = to_unsigned(np.asarray(lo, dtype=np.int64))
        self.length = np.asarray(length, dtype=np.int16)
        self.asn = np.asarray(asn, dtype=np.int64)  # -1 where unknown
        self.origin = origin
        self._v4 = self._index(4)
        self._v6 = self._index(6)

    def __len__(self) -> int:
        return int(self.family.size)

    def _index(self, family: int) -> _Ranges:
        chosen = np.flatnonzero(self.family == family)
        if family == 4:
            return _ranges(self.lo[chosen], self.length[chosen], chosen, 32)
        short = chosen[self.length[chosen] <= 64]
        ranges = _ranges(self.hi[short], self.length[short], short, 64)
        for row in chosen[self.length[chosen] > 64].tolist():
            length = int(self.length[row])
            ranges.long_v6.setdefault(
                (length, int(self.hi[row]), int(self.lo[row]) >> (128 - length)), row
            )
        return ranges

    def lookup_v4(self, addresses: np.ndarray) -> np.ndarray:
        """Entry index of the longest matching prefix per IPv4 address (uint64); -1 when none."""
        result = np.full(addresses.size, -1, dtype=np.int64)
        _match(self._v4, addresses, result, np.arange(addresses.size))
        return result

    def lookup_v6(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Entry index of the longest matching prefix per IPv6 address (uint64 halves), or -1."""
        result = np.full(hi.size, -1, dtype=np.int64)
        long_v6 = self._v6.long_v6
        if long_v6:
            lengths = sorted({key[0] for key in long_v6}, reverse=True)
            candidates = np.flatnonzero(
                np.isin(hi, np.array([key[1] for key in long_v6], dtype=np.uint64))
            )
            for position in candidates.tolist():
                high, low = int(hi[position]), int(lo[position])
                for length in lengths:
                    row = long_v6.get((length, high, low >> (128 - length)))
                    if row is not None:
                        result[position] = row
                        break
        _match(self._v6, hi, result, np.flatnonzero(result < 0))
        return result

    def lookup(self, ips: Sequence[str]) -> dict[str, int]:
        """Entry index per canonical IP string, for the IPs that match a prefix."""
        v4, v6 = split_families(ips)
        found: dict[str, int] = {}
        for batch, rows in (
            (v4, self.lookup_v4(ipv4_to_uint(v4))),
            (v6, self.lookup_v6(*ipv6_to_halves(v6))),
        ):
            for ip, row in zip(batch, rows.tolist(), strict=True):
                if row >= 0:
                    found[ip] = row
        return found

    def prefix_text(self, row: int) -> str:
        """The matched prefix as `network/length`."""
        return network_text(
            int(self.family[row]), int(self.hi[row]), int(self.lo[row]), int(self.length[row])
        )

    def prefix_texts(self, rows: np.ndarray) -> list[str]:
        """`prefix_text` of each entry index, in one pass over the arrays."""
        return list(
            map(
                network_text,
                self.family[rows].tolist(),
                self.hi[rows].tolist(),
                self.lo[rows].tolist(),
                self.length[rows].tolist(),
            )
        )


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[PrefixTable, dict[int, tuple]]] = {}


def load_prefix_table(engine: Engine) -> tuple[PrefixTable, dict[int, tuple]] | None:
    """The active version's table and AS names (asn -> (name, country, rir)); None before import.

    Kept in memory per database and version: loading takes about a second.
    """
    with engine.connect() as connection:
        source = active_source(connection)
        if source is None:
            return None
        key = (engine.url.render_as_string(hide_password=True), source["version"])
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        # Straight through the driver into one integer array: about a million rows.
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(
            "SELECT id, family, net_hi, net_lo, length, COALESCE(asn, -1) FROM prefix_entry "
            f"WHERE source_id = {int(source['id'])} ORDER BY id"
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 6)
        cursor.close()
        origins = connection.execute(
            sa.select(ENTRY.c.id, ENTRY.c.origin).where(
                ENTRY.c.source_id == source["id"], ENTRY.c.origin.is_not(None)
            )
        ).all()
        names = {
            asn: (name, country, rir)
            for asn, name, country, rir in connection.execute(
                sa.select(NAMES.c.asn, NAMES.c.name, NAMES.c.country, NAMES.c.rir).where(
                    NAMES.c.source_id == source["id"]
                )
            )
        }
    positions = np.searchsorted(rows[:, 0], np.array([o[0] for o in origins], dtype=np.int64))
    origin = dict(zip(positions.tolist(), (o[1] for o in origins), strict=True))
    table = PrefixTable(
        rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5], origin, source["version"]
    )
    with _cache_lock:
        _cache.clear()  # one version per database is enough to keep
        _cache[key] = (table, names)
        return _cache[key]


class PrefixTableResolver:
    """AS number, AS name, registered country and BGP prefix from the imported pfx2as table."""

    name = NAME
    ttl: timedelta | None = None

    def __init__(self, engine: Engine):
        self._engine = engine
        self._loaded: tuple[PrefixTable, dict[int, tuple]] | None | bool = False

    def _data(self):
        if self._loaded is False:
            self._loaded = load_prefix_table(self._engine)
        return self._loaded

    def data_version(self) -> str | None:
        """The active imported version, or None when no table was imported."""
        with self._engine.connect() as connection:
            source = active_source(connection)
        return source["version"] if source else None

    def as_name(self, asn: int) -> tuple | None:
        """(name, registered country, rir) of an AS in the active version."""
        data = self._data()
        return data[1].get(asn) if data else None

    def resolve(self, ips: Sequence[str]) -> dict[str, IpResult]:
        """Longest-prefix match for each IP; unmatched IPs are left out."""
        data = self._data()
        if not data:
            return {}
        table, names = data
        matches = table.lookup(ips)
        rows = np.fromiter(matches.values(), dtype=np.int64, count=len(matches))
        unnamed = (None, None, None)
        results: dict[str, IpResult] = {}
        for (ip, row), asn, prefix in zip(
            matches.items(), table.asn[rows].tolist(), table.prefix_texts(rows), strict=True
        ):
            asn = None if asn < 0 else asn
            name, country, rir = names.get(asn, unnamed) if asn is not None else unnamed
            origin = table.origin.get(row)
            results[ip] = IpResult(
                status=STATUS_OK,
                asn=asn,
                network=name,
                prefix=prefix,
                registered_country=country,
                rir=rir,
                detail=f"multiple origins {origin}"[:255] if origin else None,
            )
        return results
