"""Facts per distinct IP: stored answers reused, missing ones asked of each resolver, then merged.

Each distinct IP is looked up once per resolver and data version; the answers
are kept in `ip_resolution` (history: a new data version adds rows, never
rewrites them). Online answers are reused while younger than the resolver's TTL.
"""

from __future__ import annotations

import gc
import ipaddress
import operator
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from functools import lru_cache
from itertools import chain

import numpy as np
from sqlalchemy.engine import Connection, Engine

from monitor.core.errors import ResolverUnavailable
from monitor.store.models import UTCDateTime
from providers.addresses import ipv4_to_uint, ipv6_to_halves, special_purpose, split_families
from providers.bulk import create_temp_table, driver_value, drop_temp_table, insert_rows
from providers.merge import EMBEDDED, ONLINE, PREFIX, IpFacts, Merger
from providers.rdap import STATUS_ERROR
from providers.results import NOT_FOUND, IpResult, Resolver

RESULT_FIELDS = ("asn", "network", "prefix", "geo_country", "registered_country", "rir", "detail")
COLUMNS = ("ip", "source", "data_version", "status", *RESULT_FIELDS, "resolved_at")
ROW_COLUMNS = ("ip", "status", *RESULT_FIELDS)  # source, data version and time are the run's
IN_CHUNK = 5_000
INSERT_CHUNK = 100  # rows per multi-row INSERT on SQLite
_ROW_VALUES = operator.attrgetter(*ROW_COLUMNS[1:])
# IPv4 ranges that are not global unicast (RFC 6890 and friends); anything inside gets
# the exact reason from `special_purpose`, everything else skips that slower check.
_SPECIAL_V4 = np.array(
    [
        (int(n.network_address), int(n.broadcast_address))
        for n in map(
            ipaddress.ip_network,
            (
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.88.99.0/24",
                "192.168.0.0/16",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "224.0.0.0/3",
            ),
        )
    ],
    dtype=np.uint64,
)
# Inside 2000::/3, by their high 64 bits: IETF protocol assignments (2001::/23, with documentation
# 2001:db8::/32), 6to4 (2002::/16) and the new documentation range (3fff::/20).
_SPECIAL_V6 = np.array(
    [
        (int(n.network_address) >> 64, int(n.broadcast_address) >> 64)
        for n in map(ipaddress.ip_network, ("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20"))
    ],
    dtype=np.uint64,
)


def canonical_ips(raw_ips: Sequence[str]) -> dict[str, str | None]:
    """Stored text -> canonical address (compressed, IPv4-mapped as IPv4); None if unreadable."""
    result: dict[str, str | None] = {}
    for raw in raw_ips:
        text = raw.strip().strip("[]")
        try:
            if ":" not in text:
                if text.count(".") != 3:
                    raise OSError
                result[raw] = socket.inet_ntoa(socket.inet_aton(text))
                continue
            result[raw] = _canonical_v6(text)
        except (OSError, ValueError):
            result[raw] = None
    return result


_HEX_GROUPS = frozenset("0123456789abcdefABCDEF:")
_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:0:0/96


def _canonical_v6(text: str) -> str:
    """`ipaddress`'s canonical form of an IPv6 text (raises ValueError when invalid).

    Plain hex groups the C library reads are printed by it (RFC 5952, as `ipaddress`
    does, about ten times faster); dotted tails, zone ids and all the rest go
    through `ipaddress`.
    """
    if _HEX_GROUPS.issuperset(text):
        try:
            packed = socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            packed = None
        if packed is not None:
            if packed[:12] == _MAPPED:
                return socket.inet_ntoa(packed[12:])
            compressed = socket.inet_ntop(socket.AF_INET6, packed)
            if "." not in compressed:  # ::a.b.c.d, which `ipaddress` writes in hex
                return compressed
    address = ipaddress.IPv6Address(text)
    mapped = address.ipv4_mapped
    return mapped.compressed if mapped else address.compressed


def _flagged(values: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    flagged = np.zeros(values.size, dtype=bool)
    for low, high in ranges:
        flagged |= (values >= low) & (values <= high)
    return flagged


def special_reasons(ips: Sequence[str]) -> dict[str, str | None]:
    """Reason an address names no hosting (private, loopback, ...) or None, for canonical IPs.

    A vectorised pre-check leaves only the suspects to the exact (slower) `special_purpose`.
    """
    v4, v6 = split_families(ips)
    suspects = [
        ip
        for ip, hit in zip(v4, _flagged(ipv4_to_uint(v4), _SPECIAL_V4).tolist(), strict=True)
        if hit
    ]
    high_bits, _ = ipv6_to_halves(v6)
    outside_global = (high_bits >> np.uint64(61)) != np.uint64(1)  # not in 2000::/3
    suspects += [
        ip
        for ip, hit in zip(
            v6, (outside_global | _flagged(high_bits, _SPECIAL_V6)).tolist(), strict=True
        )
        if hit
    ]
    reasons: dict[str, str | None] = dict.fromkeys(ips)
    for ip in suspects:
        reasons[ip] = special_purpose(ip)
    return reasons


def collect_ip_facts(
    engine: Engine,
    resolvers: Sequence[Resolver],
    raw_ips: Sequence[str],
    now: datetime,
    summary: dict,
    as_name: Callable[[int], tuple | None] = lambda asn: None,
) -> dict[str, IpFacts]:
    """Merged facts per stored IP text; raises ResolverUnavailable when an online resolver gave up.

    `summary` gets per-source lookup/reuse counts and the data versions used.
    """
    offline = all(resolver.ttl is None for resolver in resolvers)
    with _collector_paused() if offline else nullcontext():
        return _collect(engine, resolvers, raw_ips, now, summary, as_name)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while (the process-wide switch).

    Collecting IP facts offline makes about ten objects per IP, none in a reference
    cycle; the collections their number triggers only re-scan them (0.3 s per 100,000
    IPs). Not for online runs: they last as long as the registries take to answer,
    and an HTTP client may leave cycles behind.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collect(
    engine: Engine,
    resolvers: Sequence[Resolver],
    raw_ips: Sequence[str],
    now: datetime,
    summary: dict,
    as_name: Callable[[int], tuple | None],
) -> dict[str, IpFacts]:
    canonical = canonical_ips(raw_ips)
    special = special_reasons(sorted({ip for ip in canonical.values() if ip}))
    lookup = sorted(ip for ip, why in special.items() if why is None)
    versions = summary["data_versions"]
    answers = {
        r.name: _results(engine, r, versions[r.name], lookup, now, summary) for r in resolvers
    }
    unavailable = next((r.unavailable for r in resolvers if getattr(r, "unavailable", None)), None)
    if unavailable:
        # The answers fetched so far are stored and reused next time; no ticket is written.
        raise ResolverUnavailable(
            f"online resolver gave up: {unavailable}; no ticket was resolved, "
            f"{summary['pending']} stay pending (run again later, or without --online)"
        )
    # Each source's answers gathered first, in IP order, then merged in one pass.
    by_source = [answers.get(name, {}) for name in (ONLINE, PREFIX, EMBEDDED)]
    online, table, embedded = ([got.get(ip) for ip in special] for got in by_source)
    merge = Merger(versions, as_name).merge
    merged = dict(zip(special, map(merge, online, table, embedded, special.values()), strict=True))
    summary["ips"] = len(special)
    summary["special_ips"] = sum(1 for why in special.values() if why)
    invalid = IpFacts(sources="ip=invalid")
    return {raw: merged[ip] if ip else invalid for raw, ip in canonical.items()}


def _stored(
    connection: Connection, resolver: Resolver, version: str, ips: list[str], now: datetime
) -> dict:
    """Answers stored for these IPs: same data version, or younger than the resolver's TTL.

    Straight through the driver: SQLAlchemy's rendering of 5,000-value IN lists cost
    more than the queries.
    """
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    if resolver.ttl is None:
        condition, value, order = f"data_version = {mark}", version, ""
    else:
        condition = f"resolved_at >= {mark}"
        value = driver_value(connection, UTCDateTime(), now - resolver.ttl)
        order = " ORDER BY resolved_at"
    query = (
        f"SELECT ip, status, {', '.join(RESULT_FIELDS)} FROM ip_resolution "
        f"WHERE source = {mark} AND {condition} AND ip IN ({{}}){order}"
    )
    found: dict[str, IpResult] = {}
    cursor = connection.connection.driver_connection.cursor()
    for start in range(0, len(ips), IN_CHUNK):
        part = ips[start : start + IN_CHUNK]
        cursor.execute(query.format(", ".join([mark] * len(part))), (resolver.name, value, *part))
        for ip, status, *fields in cursor.fetchall():
            found[ip] = IpResult(status, *fields)  # newest last wins
    cursor.close()
    return found


def _results(
    engine: Engine, resolver: Resolver, version: str, ips: list[str], now: datetime, summary: dict
) -> dict:
    """Stored answers plus fresh lookups for the IPs without one; fresh ones are stored."""
    with engine.connect() as connection:
        known = _stored(connection, resolver, version, ips, now)
    missing = [ip for ip in ips if ip not in known] if known else ips
    fresh = resolver.resolve(missing) if missing else {}
    answers = [fresh.get(ip, NOT_FOUND) for ip in missing]
    known.update(zip(missing, answers, strict=True))
    rows = [
        (ip, *_ROW_VALUES(result))
        for ip, result in zip(missing, answers, strict=True)
        if result.status != STATUS_ERROR  # not stored: the next run asks again
    ]
    summary["online_failed"] += len(missing) - len(rows)
    if rows:
        with engine.begin() as connection:
            _store_results(connection, resolver.name, version, now, rows)
    summary["lookups"][resolver.name] = len(rows)
    summary["reused"][resolver.name] = len(ips) - len(missing)
    return known


def _store_results(
    connection: Connection, source: str, version: str, now: datetime, rows: list[tuple]
) -> None:
    """Insert per-IP answers (values in ROW_COLUMNS order) as resolved by `source` under
    `version` at `now`; one stored by a concurrent run for the same version wins."""
    stamp = driver_value(connection, UTCDateTime(), now)
    if connection.dialect.name == "sqlite":
        # Many rows per statement: binding row by row (executemany) cost more than the inserts.
        cursor = connection.connection.driver_connection.cursor()
        for start in range(0, len(rows), INSERT_CHUNK):
            _insert_sqlite(cursor, (source, version, stamp), rows[start : start + INSERT_CHUNK])
        cursor.close()
        return
    create_temp_table(
        connection,
        "ip_resolution_new",
        [("ip", "TEXT"), ("status", "TEXT"), ("asn", "BIGINT")]
        + [(c, "TEXT") for c in RESULT_FIELDS[1:]],
    )
    insert_rows(connection, "ip_resolution_new", ROW_COLUMNS, rows)
    connection.exec_driver_sql(
        f"INSERT INTO ip_resolution ({', '.join(COLUMNS)}) "
        "SELECT ip, CAST(%(source)s AS TEXT), CAST(%(version)s AS TEXT), "
        f"{', '.join(ROW_COLUMNS[1:])}, CAST(%(stamp)s AS TIMESTAMP WITH TIME ZONE) "
        "FROM ip_resolution_new ON CONFLICT (source, data_version, ip) DO NOTHING",
        {"source": source, "version": version, "stamp": stamp},
    )
    drop_temp_table(connection, "ip_resolution_new")


def _insert_sqlite(cursor, run: tuple, rows: list[tuple]) -> None:
    """One INSERT of `rows`; a column that is NULL in all of them is written as NULL, not bound
    row by row (most answers leave most fields empty)."""
    columns = list(zip(*rows, strict=True))
    bound = tuple(column.count(None) < len(rows) for column in columns)
    kept = [column for column, keep in zip(columns, bound, strict=True) if keep]
    values = chain.from_iterable(zip(*kept, strict=True))
    cursor.execute(_sqlite_insert(len(rows), bound), [*run, *values])


@lru_cache(maxsize=64)
def _sqlite_insert(count: int, bound: tuple[bool, ...]) -> str:
    """INSERT OR IGNORE of `count` rows: ?1, ?2, ?3 are the source, data version and time of
    every row, then each row's values of the ROW_COLUMNS that are `bound` (the others NULL)."""
    width = sum(bound)
    rows = []
    for row in range(count):
        marks = iter(f"?{4 + width * row + column}" for column in range(width))
        ip, *values = (next(marks) if keep else "NULL" for keep in bound)
        rows.append(f"({ip}, ?1, ?2, {', '.join(values)}, ?3)")
    return f"INSERT OR IGNORE INTO ip_resolution ({', '.join(COLUMNS)}) VALUES {', '.join(rows)}"
