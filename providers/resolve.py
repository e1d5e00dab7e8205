"""The resolution stage: fill the resolution columns of every pending ticket.

A ticket is pending while `resolved_at` is NULL; it is resolved once and never
rewritten, so a ticket keeps what its hosting looked like when it was resolved
(normally right after its report). Each distinct IP is looked up once per
resolver and data version; the answers stay in `ip_resolution`, so a new data
version adds answers without touching old ones. Tickets are processed in
chunks, each chunk in its own transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.errors import ResolverUnavailable
from monitor.models import Ticket, UTCDateTime
from monitor.timeutil import utcnow
from providers.addresses import canonical_ip, special_purpose
from providers.bulk import create_temp_table, drop_temp_table, insert_rows
from providers.embedded import EmbeddedResolver
from providers.jurisdictions import Jurisdictions
from providers.merge import IpFacts, TicketMerger, merge_ip
from providers.models import IpResolution
from providers.prefix_table import PrefixTableResolver
from providers.rdap import STATUS_ERROR, RdapResolver
from providers.registry import AliasMap, save_new_names
from providers.results import NOT_FOUND, IpResult, Resolver

log = logging.getLogger(__name__)
TICKET = Ticket.__table__
RESULT = IpResolution.__table__
CHUNK = 200_000
IN_CHUNK = 5_000
Progress = Callable[[int, int], None]
RESULT_FIELDS = ("asn", "network", "prefix", "geo_country", "registered_country", "rir", "detail")
UPDATE_COLUMNS = (
    ("id", "BIGINT PRIMARY KEY"), ("registered_domain", "TEXT"), ("provider", "TEXT"), ("asn", "BIGINT"),
    ("network", "TEXT"), ("prefix", "TEXT"), ("geo_country", "TEXT"), ("registered_country", "TEXT"),
    ("country", "TEXT"), ("cdn", "BOOLEAN"), ("eu", "BOOLEAN"), ("inhope", "BOOLEAN"),
    ("resolution_sources", "TEXT"),
)
UPDATE_TABLE = "resolution_update"


def default_resolvers(engine: Engine, *, online: bool = False, rdap: RdapResolver | None = None) -> list[Resolver]:
    """Embedded data and the prefix table; the online resolver too when asked for."""
    resolvers: list[Resolver] = [EmbeddedResolver(), PrefixTableResolver(engine)]
    if online:
        resolvers.append(rdap or RdapResolver())
    return resolvers


def resolve_pending(
    engine: Engine,
    *,
    online: bool = False,
    progress: Progress | None = None,
    resolvers: Sequence[Resolver] | None = None,
    rdap: RdapResolver | None = None,
    now: datetime | None = None,
    chunk_size: int = CHUNK,
) -> dict:
    """Resolve every pending ticket; returns a summary (counts, sources, data versions).

    `resolvers` replaces the default set; `rdap` supplies a configured online
    resolver (e.g. one with a test transport). Raises ResolverUnavailable when
    the online resolver gave up: chunks already written stay written, the rest
    stays pending.
    """
    started = time.perf_counter()
    now = now or utcnow()
    resolvers = list(resolvers) if resolvers is not None else default_resolvers(engine, online=online, rdap=rdap)
    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.count()).select_from(TICKET).where(TICKET.c.resolved_at.is_(None)))
        aliases = AliasMap.load(connection)
    summary = _new_summary(total, online)
    if not total:
        return _finish(summary, started)
    needs_ips = _any_pending_ip(engine)
    versions = {r.name: r.data_version() for r in resolvers} if needs_ips else {}
    active = [r for r in resolvers if versions.get(r.name)]
    summary["data_versions"] = {name: version for name, version in versions.items() if version}
    summary["skipped_sources"] = sorted(name for name, version in versions.items() if not version)
    merger = TicketMerger({}, Jurisdictions.load(engine), aliases)
    table = next((r for r in active if isinstance(r, PrefixTableResolver)), None)
    last_id = 0
    done = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(TICKET.c.id, TICKET.c.ip, TICKET.c.hostname, TICKET.c.stated_provider,
                          TICKET.c.stated_country, TICKET.c.reported_at)
                .where(TICKET.c.resolved_at.is_(None), TICKET.c.id > last_id).order_by(TICKET.c.id).limit(chunk_size)
            ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        ips = {raw: canonical_ip(raw) for raw in {row[1] for row in rows if row[1]}}
        special = {ip: special_purpose(ip) for ip in set(ips.values()) if ip}
        lookup = sorted(ip for ip, why in special.items() if why is None)
        per_source = {r.name: _results(engine, r, versions[r.name], lookup, now, summary) for r in active}
        unavailable = next((r.unavailable for r in active if getattr(r, "unavailable", None)), None)
        if unavailable:
            # Answers already fetched are stored (and reused next time); this chunk stays pending.
            raise ResolverUnavailable(
                f"online resolver gave up: {unavailable}; {done} tickets were resolved, "
                f"{total - done} stay pending (run again later, or without --online)"
            )
        as_name = table.as_name if table else (lambda asn: None)
        merger.facts = {
            ip: merge_ip({name: got.get(ip, NOT_FOUND) for name, got in per_source.items()}, versions, as_name, why)
            for ip, why in special.items()
        }
        updates = []
        for ticket_id, raw_ip, hostname, stated_provider, stated_country, reported_at in rows:
            ip = ips.get(raw_ip) if raw_ip else None
            if raw_ip and ip is None:
                ip = raw_ip  # unreadable address (not from ingest): no facts, said so in the sources
                merger.facts.setdefault(ip, IpFacts(sources="ip=invalid"))
            values = merger.values(ip, hostname, stated_provider, stated_country, reported_at)
            updates.append((ticket_id, *(values[column] for column, _ in UPDATE_COLUMNS[1:])))
            _count(summary, raw_ip, values)
        with engine.begin() as connection:
            summary["new_providers"] += save_new_names(connection, merger.aliases, now)
            summary["resolved"] += _write_tickets(connection, updates, now)
        summary["ips"] += len(special)
        summary["special_ips"] += sum(1 for why in special.values() if why)
        done += len(rows)
        if progress:
            progress(done, total)
    return _finish(summary, started)


def _new_summary(total: int, online: bool) -> dict:
    return {
        "pending": total, "resolved": 0, "online": online, "ips": 0, "special_ips": 0, "without_ip": 0,
        "lookups": {}, "reused": {}, "online_failed": 0, "data_versions": {}, "skipped_sources": [],
        "country_from": {"geo": 0, "registered": 0, "stated": 0, "none": 0},
        "cdn": 0, "eu_unknown": 0, "inhope_unknown": 0, "new_providers": 0,
    }


def _finish(summary: dict, started: float) -> dict:
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _count(summary: dict, raw_ip: str | None, values: dict) -> None:
    if not raw_ip:
        summary["without_ip"] += 1
    summary["country_from"][values["country_from"]] += 1
    summary["cdn"] += values["cdn"] is True
    summary["eu_unknown"] += values["eu"] is None
    summary["inhope_unknown"] += values["inhope"] is None


def _any_pending_ip(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(
            sa.select(TICKET.c.id).where(TICKET.c.resolved_at.is_(None), TICKET.c.ip.is_not(None)).limit(1)
        ) is not None


def _stored(connection: Connection, resolver: Resolver, version: str, ips: list[str], now: datetime) -> dict:
    """Answers already stored for these IPs: same data version, or younger than the resolver's TTL."""
    found: dict[str, IpResult] = {}
    for start in range(0, len(ips), IN_CHUNK):
        part = ips[start:start + IN_CHUNK]
        query = sa.select(RESULT.c.ip, RESULT.c.status, *(RESULT.c[f] for f in RESULT_FIELDS)).where(
            RESULT.c.source == resolver.name, RESULT.c.ip.in_(part))
        if resolver.ttl is None:
            query = query.where(RESULT.c.data_version == version)
        else:
            query = query.where(RESULT.c.resolved_at >= now - resolver.ttl).order_by(RESULT.c.resolved_at)
        for ip, status, *fields in connection.execute(query):
            found[ip] = IpResult(status, *fields)  # newest last wins
    return found


def _results(engine: Engine, resolver: Resolver, version: str, ips: list[str], now: datetime, summary: dict) -> dict:
    """Stored answers plus fresh lookups for the IPs without one; fresh ones are stored."""
    with engine.connect() as connection:
        known = _stored(connection, resolver, version, ips, now)
    missing = [ip for ip in ips if ip not in known]
    fresh = resolver.resolve(missing) if missing else {}
    rows = []
    for ip in missing:
        result = fresh.get(ip, NOT_FOUND)
        known[ip] = result
        if result.status == STATUS_ERROR:  # not stored: the next run asks again
            summary["online_failed"] += 1
            continue
        rows.append((ip, resolver.name, version, result.status, *(getattr(result, f) for f in RESULT_FIELDS)))
    if rows:
        with engine.begin() as connection:
            _store_results(connection, rows, now)
    summary["lookups"][resolver.name] = summary["lookups"].get(resolver.name, 0) + len(rows)
    summary["reused"][resolver.name] = summary["reused"].get(resolver.name, 0) + len(ips) - len(missing)
    return known


def _store_results(connection: Connection, rows: list[tuple], now: datetime) -> None:
    """Insert per-IP answers; one stored by a concurrent run for the same version wins."""
    columns = ("ip", "source", "data_version", "status", *RESULT_FIELDS)
    create_temp_table(connection, "ip_resolution_new", [
        *((c, "TEXT") for c in columns[:4]), ("asn", "BIGINT"), *((c, "TEXT") for c in RESULT_FIELDS[1:])])
    insert_rows(connection, "ip_resolution_new", columns, rows)
    names = ", ".join(columns)
    connection.execute(sa.text(
        f"INSERT INTO ip_resolution ({names}, resolved_at) SELECT {names}, :now FROM ip_resolution_new AS n "
        "WHERE NOT EXISTS (SELECT 1 FROM ip_resolution AS r WHERE r.source = n.source "
        "AND r.data_version = n.data_version AND r.ip = n.ip)"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime)), {"now": now})
    drop_temp_table(connection, "ip_resolution_new")


def _write_tickets(connection: Connection, updates: list[tuple], now: datetime) -> int:
    """Copy the values into the tickets still pending (a concurrent run's values are kept)."""
    create_temp_table(connection, UPDATE_TABLE, UPDATE_COLUMNS)
    insert_rows(connection, UPDATE_TABLE, [c for c, _ in UPDATE_COLUMNS], updates)
    assignments = ", ".join(f"{c} = u.{c}" for c, _ in UPDATE_COLUMNS[1:])
    statement = sa.text(
        f"UPDATE ticket SET {assignments}, resolved_at = :now FROM {UPDATE_TABLE} AS u "
        "WHERE ticket.id = u.id AND ticket.resolved_at IS NULL"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime))
    changed = connection.execute(statement, {"now": now}).rowcount
    drop_temp_table(connection, UPDATE_TABLE)
    return changed


def refresh_membership(engine: Engine, countries: Sequence[str], *, batch: int = 50_000) -> int:
    """Re-evaluate `eu`/`inhope` of resolved tickets in `countries` after a reference correction.

    A correction says the table was wrong, so it applies to past tickets too
    (each still evaluated on its own report date). Returns tickets changed.
    """
    jurisdictions = Jurisdictions.load(engine)
    changed = 0
    with engine.begin() as connection:
        rows = connection.execute(
            sa.select(TICKET.c.id, TICKET.c.country, TICKET.c.reported_at, TICKET.c.eu, TICKET.c.inhope)
            .where(TICKET.c.resolved_at.is_not(None), TICKET.c.country.in_(list(countries)))
        ).all()
        updates = []
        for ticket_id, country, reported_at, eu, inhope in rows:
            member = jurisdictions.membership(country, reported_at.date())
            if (member.eu, member.inhope) != (eu, inhope):
                updates.append({"ticket": ticket_id, "eu": member.eu, "inhope": member.inhope})
        statement = TICKET.update().where(TICKET.c.id == sa.bindparam("ticket")).values(
            eu=sa.bindparam("eu"), inhope=sa.bindparam("inhope"))
        for start in range(0, len(updates), batch):
            connection.execute(statement, updates[start:start + batch])
            changed += len(updates[start:start + batch])
    return changed
