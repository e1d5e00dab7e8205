"""The resolution stage: fill the resolution columns of every pending ticket.

A ticket is pending while it is in `resolution_pending` (the ingest adds every new
ticket); it is resolved once, into a `ticket_resolution` row that is never rewritten, so
a ticket keeps what its hosting looked like when it was resolved (normally right after
its report). Steps:

1. the distinct IPs, hostnames and stated provider names of the pending tickets;
   only when asked for (`dns=True`, `monitor resolve --dns`), an address per hostname
   of the tickets without an IP (`dns`), added to the IPs;
2. facts per IP (`ip_facts`: each IP looked up once per resolver and data version,
   answers kept in `ip_resolution`), registered domain per hostname, canonical
   provider per name (`registry`);
3. the `ticket_resolution` rows written in bulk inside the database (`ticket_update`),
   in chunks of ticket ids, one transaction each.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import utcnow
from monitor.store.models import RESOLUTION, TICKET, TICKET_WITH_RESOLUTION, ResolutionPending
from providers.dns import Lookup, lookup_addresses
from providers.embedded import EmbeddedResolver
from providers.hostnames import registered_domain
from providers.ip_facts import collect_ip_facts
from providers.jurisdictions import Jurisdictions
from providers.prefix_table import PrefixTableResolver
from providers.rdap import RdapResolver
from providers.registry import AliasMap, save_new_names
from providers.results import Resolver
from providers.ticket_update import pending_tickets, report_day, run_counts, write_resolution

PENDING = ResolutionPending.__table__
CHUNK = 250_000
Progress = Callable[[int, int], None]


def default_resolvers(
    engine: Engine, *, online: bool = False, rdap: RdapResolver | None = None
) -> list[Resolver]:
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
    dns: bool = False,
    dns_lookup: Lookup | None = None,
) -> dict:
    """Resolve every pending ticket; returns a summary (counts, sources, data versions).

    `resolvers` replaces the default set; `rdap` supplies a configured online
    resolver (e.g. one with a test transport). Raises ResolverUnavailable, with
    no ticket written, when the online resolver gave up (its answers so far are kept).
    `dns`: look up the hostname of each pending ticket without an IP (never made
    otherwise) and resolve the chosen address like a stored IP; `dns_lookup` replaces
    the system resolver (hostname -> addresses).
    """
    started = time.perf_counter()
    now = now or utcnow()
    resolvers = (
        list(resolvers)
        if resolvers is not None
        else default_resolvers(engine, online=online, rdap=rdap)
    )
    with engine.connect() as connection:
        low, high, total = connection.execute(
            sa.select(sa.func.min(PENDING.c.id), sa.func.max(PENDING.c.id), sa.func.count())
        ).one()
        if not total:
            return _finish(_new_summary(0, online, dns), started)
        aliases = AliasMap.load(connection)
    summary = _new_summary(total, online, dns)
    raw_ips, hostnames, stated_names, stated_countries, days = _pending_keys(engine, high)
    summary["timings"]["read"] = round(time.perf_counter() - started, 3)
    answers = _dns_answers(engine, high, dns_lookup, summary) if dns else None
    if answers:
        raw_ips += sorted({ip for ip in answers.values() if ip}.difference(raw_ips))
    facts = _ip_facts(engine, resolvers, raw_ips, now, summary)
    # The provider of a ticket without a stated one: per network (and CDN), not per IP.
    networks = {(f.network, f.cdn_operator) for f in facts.values()}
    named = {key: aliases.canonical(None, *key) for key in networks}
    fallback = {raw: named[f.network, f.cdn_operator] for raw, f in facts.items()}
    stated = {name: aliases.name_for(name) for name in stated_names}
    domains = {host: registered_domain(host) for host in hostnames}
    summary["timings"]["ip_facts"] = round(
        time.perf_counter() - started - summary["timings"]["read"], 3
    )
    writing = time.perf_counter()

    with engine.connect() as connection:
        summary["resolved"] = write_resolution(
            connection,
            facts=facts,
            fallback=fallback,
            domains=domains,
            stated=stated,
            stated_countries=stated_countries,
            days=days,
            jurisdictions=Jurisdictions.load(engine),
            ids=(low - 1, high),
            now=now,
            chunk_size=chunk_size,
            progress=(lambda done: progress(done, total)) if progress else None,
            dns=answers,
        )
    with engine.begin() as connection:
        counts = run_counts(connection, now, ids=(low, high), dns=dns)
        # Register the names first seen in this run that ended up naming a ticket.
        used = counts.pop("providers")
        aliases.new = {key: name for key, name in aliases.new.items() if name in used}
        summary["new_providers"] = save_new_names(connection, aliases, now)
    summary.update(counts)
    summary["timings"]["write"] = round(time.perf_counter() - writing, 3)
    return _finish(summary, started)


def _distinct(engine: Engine, expression: str, high: int, where: str = "") -> list:
    """The distinct non-NULL values of `expression` over the pending tickets `t` with id <= high
    (and `where`, an extra SQL condition, when given)."""
    with engine.connect() as connection:
        return list(
            connection.scalars(
                sa.text(
                    f"SELECT DISTINCT {expression} FROM {pending_tickets(connection.dialect.name)} "
                    "WHERE p.id <= :high "
                    f"AND {expression} IS NOT NULL{where and ' AND ' + where}"
                ),
                {"high": high},
            )
        )


def _pending_keys(engine: Engine, high: int) -> tuple[list, ...]:
    """Distinct IPs, hostnames, stated providers and stated countries of the pending tickets
    with id <= high (sorted, without NULLs), and their first and last report day, in one pass.

    (Two passes side by side on two connections measured slower in the resolve benchmark
    on this 2-core machine, although faster alone.)
    """
    dialect = engine.dialect.name
    expressions = ("t.ip", "t.hostname", "t.stated_provider", "t.stated_country")
    day = report_day(dialect)
    if dialect == "sqlite":
        lists = ", ".join(f"json_group_array(DISTINCT {e})" for e in expressions)
        lists += f", json_array(min({day}), max({day}))"
    else:
        lists = ", ".join(f"array_agg(DISTINCT {e})" for e in expressions)
        lists += f", array[min({day}), max({day})]"
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(f"SELECT {lists} FROM {pending_tickets(dialect)} WHERE p.id <= :high"),
            {"high": high},
        ).one()
    values = (json.loads(value) for value in row) if dialect == "sqlite" else row
    return tuple(sorted(v for v in (value or []) if v is not None) for value in values)


def _dns_answers(
    engine: Engine, high: int, lookup: Lookup | None, summary: dict
) -> dict[str, str | None]:
    """The address chosen per hostname of the pending tickets without an IP (None: failed)."""
    began = time.perf_counter()
    hostnames = _distinct(engine, "t.hostname", high, where="t.ip IS NULL")
    answers = lookup_addresses(hostnames, lookup) if hostnames else {}
    summary["dns_looked_up"] = len(answers)
    summary["dns_failed"] = sum(1 for ip in answers.values() if ip is None)
    summary["timings"]["dns"] = round(time.perf_counter() - began, 3)
    return answers


def _ip_facts(
    engine: Engine, resolvers: Sequence[Resolver], raw_ips: list[str], now: datetime, summary: dict
) -> dict:
    """Facts per stored IP text from the resolvers that have data; fills `summary`."""
    versions = {r.name: r.data_version() for r in resolvers} if raw_ips else {}
    active = [r for r in resolvers if versions.get(r.name)]
    summary["data_versions"] = {name: version for name, version in versions.items() if version}
    summary["skipped_sources"] = sorted(name for name, version in versions.items() if not version)
    table = next((r for r in active if hasattr(r, "as_name")), None)
    return collect_ip_facts(
        engine,
        active,
        raw_ips,
        now,
        summary,
        as_name=table.as_name if table else (lambda asn: None),
    )


def _new_summary(total: int, online: bool, dns: bool) -> dict:
    return {
        "pending": total,
        "resolved": 0,
        "online": online,
        "dns": dns,
        "ips": 0,
        "special_ips": 0,
        "without_ip": 0,
        "resolved_late": 0,  # reported more than 7 days (LATE_AFTER) before this run
        "lookups": {},
        "reused": {},
        "online_failed": 0,
        "dns_looked_up": 0,  # distinct hostnames (of tickets without an IP), with --dns only
        "dns_failed": 0,  # of those: error, timeout, or no usable address
        "data_versions": {},
        "skipped_sources": [],
        "country_from": {"geo": 0, "registered": 0, "stated": 0, "none": 0},
        "cdn": 0,
        "eu_unknown": 0,
        "inhope_unknown": 0,
        "new_providers": 0,
        # seconds: read (the keys of the pending tickets, one pass), dns (with --dns: reading
        # the hostnames and looking them up), ip_facts (lookups and merge; dns included),
        # write (tickets)
        "timings": {},
    }


def _finish(summary: dict, started: float) -> dict:
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def refresh_membership(engine: Engine, countries: Sequence[str], *, batch: int = 50_000) -> int:
    """Re-evaluate `eu`/`inhope` of resolved tickets in `countries` after a reference correction.

    A correction says the table was wrong, so it applies to past tickets too
    (each still evaluated on its own report date). Returns tickets changed.
    """
    jurisdictions = Jurisdictions.load(engine)
    changed = 0
    with engine.begin() as connection:
        rows = connection.execute(
            sa.select(
                RESOLUTION.c.id,
                RESOLUTION.c.country,
                TICKET.c.reported_at,
                RESOLUTION.c.eu,
                RESOLUTION.c.inhope,
            )
            .select_from(TICKET_WITH_RESOLUTION)
            .where(RESOLUTION.c.country.in_(list(countries)))
        ).all()
        updates = []
        for ticket_id, country, reported_at, eu, inhope in rows:
            member = jurisdictions.membership(country, reported_at.date())
            if (member.eu, member.inhope) != (eu, inhope):
                updates.append({"ticket": ticket_id, "eu": member.eu, "inhope": member.inhope})
        statement = (
            RESOLUTION.update()
            .where(RESOLUTION.c.id == sa.bindparam("ticket"))
            .values(eu=sa.bindparam("eu"), inhope=sa.bindparam("inhope"))
        )
        for start in range(0, len(updates), batch):
            connection.execute(statement, updates[start : start + batch])
            changed += len(updates[start : start + batch])
    return changed
