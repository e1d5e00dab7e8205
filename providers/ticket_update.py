"""Write the resolution of pending tickets in bulk, inside the database.

Everything that depends on one value only is computed once in Python and
loaded into temporary tables: facts per IP (`merge.merge_ip`, with the country
when the IP has one), the registered domain per hostname, the canonical provider
per stated name, EU/INHOPE membership per (country, report day). One INSERT ... SELECT
per chunk of ticket ids then joins them, applying the per-ticket rules, and appends a
`ticket_resolution` row per ticket (the ticket rows are never rewritten):

- `country` = geolocated, else registered (both per IP), else the hotline's stated country;
- `provider` = the stated provider's canonical name, else the IP's fallback
  (network organisation, or `unknown (behind <CDN>)`), else `unknown`;
- `eu`/`inhope` = membership of that country on the report day (UTC); NULL when unknown;
  for an IP country whose membership does not change over the run's report days it
  is carried on the IP's row, so only the other tickets look up (country, day);
- `resolution_sources` = `country=<geo|registered|stated|none>` + the IP's sources.

With DNS (`monitor resolve --dns`) a ticket with a hostname and no IP takes the address
its hostname was given (table `rs_dns`; '' = lookup failed) as if it were its IP: `dns_ip`
records it and its sources read `country=<origin> ip=dns <the IP's sources>` (`ip=dns-failed`
instead of `ip=none` when the lookup failed). Without DNS the statements are exactly the
ones without that branch: it costs the normal run nothing.

Only tickets still pending (`resolution_pending`) are written, a concurrent run's row is
kept, and only those whose keys the run read: IP, hostname and stated name; the hotline's
country when the ticket takes it; a report day within the run's first and last when its IP
carries fixed membership (with DNS: and, for a ticket without an IP, its hostname's
lookup). An ingest that changes one of them meanwhile leaves the ticket pending. The
resolved tickets then leave `resolution_pending`.

SQLite has no hash join: each lookup is a b-tree search of a temporary table, the pending
tickets walked in id order. PostgreSQL joins the lookup tables with hash joins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.models import RESOLUTION, TICKET, UTCDateTime
from providers.bulk import create_temp_table, drop_temp_table, insert_rows
from providers.jurisdictions import COUNTRY_ALIASES, Jurisdictions, Membership, normalise_country
from providers.merge import IpFacts

MAX_SOURCES = 255
# Hosting data describe the time of the lookup. A ticket resolved this long after its report
# (a backfill of old tickets) is resolved with today's data: an address that changed network
# or country since (and, with --dns, a hostname's address) may not be where the content was.
# The run counts such tickets (`resolved_late`) so the analyst is told.
LATE_AFTER = timedelta(days=7)
TEMP_TABLES = {
    "rs_ip": [
        ("ip", "TEXT"),
        ("asn", "BIGINT"),
        ("network", "TEXT"),
        ("prefix", "TEXT"),
        ("geo_country", "TEXT"),
        ("registered_country", "TEXT"),
        ("cdn", "BOOLEAN"),
        ("fallback_provider", "TEXT"),
        ("country", "TEXT"),
        ("ticket_sources", "TEXT"),
        ("sources", "TEXT"),
        ("fixed", "BOOLEAN"),  # eu/inhope below hold for every report day of the run
        ("eu", "BOOLEAN"),
        ("inhope", "BOOLEAN"),
    ],
    "rs_host": [("hostname", "TEXT"), ("domain", "TEXT")],
    "rs_stated": [("name", "TEXT"), ("provider", "TEXT")],
    "rs_country": [("stated", "TEXT")],  # the hotline's country codes as stored
    # Spans of constant membership: from `since` (inclusive) until the next span's `since`.
    "rs_member": [
        ("country", "TEXT"),
        ("since", "TEXT"),
        ("until", "TEXT"),
        ("eu", "BOOLEAN"),
        ("inhope", "BOOLEAN"),
    ],
}
TEMP_KEYS = {
    "rs_ip": ("ip",),
    "rs_host": ("hostname",),
    "rs_stated": ("name",),
    "rs_country": ("stated",),
    "rs_member": ("country", "since"),
}
COLUMNS = (
    "registered_domain",
    "provider",
    "asn",
    "network",
    "prefix",
    "geo_country",
    "registered_country",
    "country",
    "cdn",
    "eu",
    "inhope",
    "resolution_sources",
)


NO_IP = ""  # the rs_ip row of tickets without an IP (a stored IP is never empty)
DNS_TABLE = "rs_dns"  # hostname -> chosen address, NO_IP when the lookup failed
DNS_COLUMNS = [("hostname", "TEXT"), ("ip", "TEXT")]
# Only with DNS answers: tickets without an IP but with a hostname took its looked-up address.
VIA_DNS = "t.ip IS NULL AND t.hostname IS NOT NULL"
DNS_IP = f"CASE WHEN {VIA_DNS} THEN NULLIF(f.ip, '{NO_IP}') END"


def report_day(dialect: str) -> str:
    """SQL for the report day (UTC) of ticket `t` as YYYY-MM-DD text."""
    if dialect == "postgresql":
        return "to_char(t.reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return "substr(t.reported_at, 1, 10)"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC


_STATED = "(CASE upper(t.stated_country) {} ELSE upper(t.stated_country) END)".format(
    " ".join(f"WHEN '{alias}' THEN '{code}'" for alias, code in COUNTRY_ALIASES.items())
)
# COALESCE stops at the first non-NULL: the CASE runs only for tickets without an IP country.
COUNTRY = f"COALESCE(f.country, {_STATED})"
SOURCES = (
    "COALESCE(f.ticket_sources, substr('country=' || "
    "(CASE WHEN t.stated_country IS NOT NULL THEN 'stated' ELSE 'none' END) || ' ' || "
    "COALESCE(f.sources, CASE WHEN t.ip IS NULL THEN 'ip=none' ELSE 'ip=no-data' END), "
    f"1, {MAX_SOURCES}))"
)
_ORIGIN = (
    "(CASE WHEN f.geo_country IS NOT NULL THEN 'geo' "
    "WHEN f.registered_country IS NOT NULL THEN 'registered' "
    "WHEN t.stated_country IS NOT NULL THEN 'stated' ELSE 'none' END)"
)
DNS_SOURCES = (
    f"(CASE WHEN {VIA_DNS} THEN substr('country=' || {_ORIGIN} || ' ' || "
    f"(CASE WHEN NULLIF(f.ip, '{NO_IP}') IS NULL THEN 'ip=dns-failed' "
    f"ELSE 'ip=dns ' || f.sources END), 1, {MAX_SOURCES}) ELSE {SOURCES} END)"
)


def _values(member: str, dns: bool = False) -> str:
    """The SELECT list of the resolution columns (in COLUMNS order) of ticket `t`.

    `member` gives eu/inhope where the IP's row does not carry them (`{}` = the column);
    `dns`: the sources of tickets that took their IP from DNS, then `dns_ip`.
    """
    return (
        "h.domain, COALESCE(s.provider, f.fallback_provider, 'unknown'), f.asn, f.network, "
        f"f.prefix, f.geo_country, f.registered_country, {COUNTRY}, f.cdn, "
        f"CASE WHEN f.fixed THEN f.eu ELSE {member.format('eu')} END, "
        f"CASE WHEN f.fixed THEN f.inhope ELSE {member.format('inhope')} END, "
        + (f"{DNS_SOURCES}, {DNS_IP}" if dns else SOURCES)
    )


def _columns(dns: bool) -> tuple[str, ...]:
    return (*COLUMNS, "dns_ip") if dns else COLUMNS


def _ip_rows(
    facts: dict[str, IpFacts], fallback: dict[str, str], fixed: dict[str, Membership]
) -> Iterable[tuple]:
    yield (NO_IP, *(None,) * 10, False, None, None)
    for raw, f in facts.items():
        country, origin = (
            (f.geo_country, "geo") if f.geo_country else (f.registered_country, "registered")
        )
        ticket_sources = f"country={origin} {f.sources}"[:MAX_SOURCES] if country else None
        member = fixed.get(country) if country else None
        yield (
            raw,
            f.asn,
            f.network,
            f.prefix,
            f.geo_country,
            f.registered_country,
            f.cdn,
            fallback[raw],
            country,
            ticket_sources,
            f.sources,
            member is not None,
            member.eu if member else None,
            member.inhope if member else None,
        )


def ip_countries(facts: dict[str, IpFacts]) -> set[str]:
    """The countries tickets take from their IP (geolocated, else registered)."""
    return {f.geo_country or f.registered_country for f in facts.values()} - {None}


def fixed_membership(
    jurisdictions: Jurisdictions, countries: Iterable[str], days: list[str]
) -> dict[str, Membership]:
    """Membership of the countries whose EU/INHOPE status is the same on every day in `days`."""
    if not days:
        return {}
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    constant = {c: jurisdictions.constant_between(c, first, last) for c in countries}
    return {country: member for country, member in constant.items() if member is not None}


def load_lookup_tables(
    connection: Connection,
    facts: dict[str, IpFacts],
    fallback: dict[str, str],
    domains: dict[str, str | None],
    stated: dict[str, str | None],
    stated_countries: Iterable[str],
    fixed: dict[str, Membership],
) -> None:
    """Create and fill the temporary tables (they live as long as the connection)."""
    for name, columns in TEMP_TABLES.items():
        create_temp_table(connection, name, columns, TEMP_KEYS[name])
    insert_rows(
        connection,
        "rs_ip",
        [c for c, _ in TEMP_TABLES["rs_ip"]],
        _ip_rows(facts, fallback, fixed),
    )
    insert_rows(connection, "rs_host", ("hostname", "domain"), domains.items())
    insert_rows(connection, "rs_stated", ("name", "provider"), stated.items())
    insert_rows(connection, "rs_country", ("stated",), ((code,) for code in stated_countries))


def load_dns(connection: Connection, dns: dict[str, str | None]) -> None:
    """The temporary table of DNS answers: hostname -> chosen address ('' = failed)."""
    create_temp_table(connection, DNS_TABLE, DNS_COLUMNS, ("hostname",))
    rows = ((hostname, ip or NO_IP) for hostname, ip in dns.items())
    insert_rows(connection, DNS_TABLE, [c for c, _ in DNS_COLUMNS], rows)


OPEN_START, OPEN_END = "", "9999-12-31"  # report days (YYYY-MM-DD) compare as text


def load_membership(
    connection: Connection, jurisdictions: Jurisdictions, countries: set[str]
) -> None:
    """The spans of constant EU/INHOPE membership of `countries` (a few rows per country)."""
    rows = (
        (
            country,
            since.isoformat() if since else OPEN_START,
            until.isoformat() if until else OPEN_END,
            eu,
            inhope,
        )
        for country in sorted(countries)
        for since, until, eu, inhope in jurisdictions.segments(country)
    )
    insert_rows(connection, "rs_member", ("country", "since", "until", "eu", "inhope"), rows)


# Keys that are not joined but read: a ticket taking the hotline's country must carry one the
# run read (its membership spans are loaded), and one whose IP carries membership fixed over
# the run's report days must still be reported within them (an ingest may move either).
STATED_COUNTRY_READ = {
    "sqlite": "EXISTS (SELECT 1 FROM rs_country c WHERE c.stated = t.stated_country)",
    "postgresql": "c.stated IS NOT NULL",
}


def _read_keys(dialect: str) -> str:
    return (
        f"(f.country IS NOT NULL OR t.stated_country IS NULL OR {STATED_COUNTRY_READ[dialect]}) "
        f"AND (f.fixed IS NOT TRUE OR {report_day(dialect)} BETWEEN :first AND :last)"
    )


def pending_tickets(dialect: str) -> str:
    """The pending tickets `t` (`p`: their queue rows), walked in id order of the queue.

    SQLite: CROSS JOIN keeps the queue as the outer loop, so a range of ids where few
    tickets are still pending reads those few, not every ticket of the range.
    """
    join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"
    return f"resolution_pending p {join} ticket t ON t.id = p.id"


INSERT = "INSERT INTO ticket_resolution (id, {names}, resolved_at) SELECT t.id, {values}, :now "


def _sqlite_insert(dns: bool = False) -> str:
    member = (  # the span that starts last on or before the report day holds that day
        f"(SELECT {{}} FROM rs_member m WHERE m.country = {COUNTRY} "
        f"AND m.since <= {report_day('sqlite')} ORDER BY m.since DESC LIMIT 1)"
    )
    known = (
        "(t.hostname IS NULL OR h.hostname IS NOT NULL) "
        "AND (t.stated_provider IS NULL OR s.name IS NOT NULL) "
        f"AND {_read_keys('sqlite')}"
    )
    return (
        INSERT.format(names=", ".join(_columns(dns)), values=_values(member, dns))
        + f"FROM {pending_tickets('sqlite')} JOIN rs_ip f ON f.ip = {_sqlite_ip(dns)} "
        "LEFT JOIN rs_host h ON h.hostname = t.hostname "
        "LEFT JOIN rs_stated s ON s.name = t.stated_provider "
        f"WHERE p.id > :low AND p.id <= :high AND {known} "
        "ON CONFLICT (id) DO NOTHING"
    )


def _sqlite_ip(dns: bool) -> str:
    """The rs_ip key of ticket `t`; with DNS, NULL (no row: stays pending) for a ticket
    whose hostname was not looked up."""
    if not dns:
        return f"COALESCE(t.ip, '{NO_IP}')"
    return (
        f"COALESCE(t.ip, CASE WHEN t.hostname IS NULL THEN '{NO_IP}' "
        f"ELSE (SELECT d.ip FROM {DNS_TABLE} d WHERE d.hostname = t.hostname) END)"
    )


def _postgres_insert(dns: bool = False) -> str:
    # With DNS a ticket without an IP joins its hostname's answer ('' = failed: no IP).
    ip = f"COALESCE(t.ip, NULLIF(d.ip, '{NO_IP}'))" if dns else "t.ip"
    known = (
        "p.id > :low AND p.id <= :high "
        f"AND ({ip} IS NULL OR f.ip IS NOT NULL) "
        "AND (t.hostname IS NULL OR h.hostname IS NOT NULL) "
        "AND (t.stated_provider IS NULL OR s.name IS NOT NULL) "
        f"AND {_read_keys('postgresql')}"
        + (f" AND (NOT ({VIA_DNS}) OR d.hostname IS NOT NULL)" if dns else "")
    )
    lookups = f"LEFT JOIN {DNS_TABLE} d ON t.ip IS NULL AND d.hostname = t.hostname " if dns else ""
    return (
        INSERT.format(names=", ".join(_columns(dns)), values=_values("m.{}", dns))
        + f"FROM {pending_tickets('postgresql')} {lookups}"
        f"LEFT JOIN rs_ip f ON f.ip = {ip} LEFT JOIN rs_host h ON h.hostname = t.hostname "
        "LEFT JOIN rs_stated s ON s.name = t.stated_provider "
        "LEFT JOIN rs_country c ON c.stated = t.stated_country "
        f"LEFT JOIN rs_member m ON f.fixed IS NOT TRUE AND m.country = {COUNTRY} "
        f"AND m.since <= {report_day('postgresql')} AND {report_day('postgresql')} < m.until "
        f"WHERE {known} ON CONFLICT (id) DO NOTHING"
    )


def resolve_chunk(
    connection: Connection,
    low: int,
    high: int,
    now: datetime,
    *,
    days: tuple[str, str],
    dns: bool = False,
) -> int:
    """Resolve pending tickets with low < id <= high; returns how many were resolved.

    `days`: the first and last report day (YYYY-MM-DD) the run read; `dns`: the table
    of DNS answers is loaded (tickets without an IP use it).
    """
    params = {"low": low, "high": high, "now": now, "first": days[0], "last": days[-1]}
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        queued = connection.execute(sa.text(QUEUED_IN_RANGE), params).scalar_one()
    sql = _sqlite_insert(dns) if sqlite else _postgres_insert(dns)
    resolved = connection.execute(
        sa.text(sql).bindparams(sa.bindparam("now", type_=UTCDateTime)), params
    ).rowcount
    # Resolved here or by a concurrent run: no longer pending. On SQLite the transaction sees
    # one snapshot and holds the only write lock, so when this run resolved every queued
    # ticket of the range the whole range leaves the queue without a probe per row
    # (1 M tickets: 0.5 s -> 0.1 s).
    everything = sqlite and resolved == queued
    connection.execute(sa.text(DEQUEUE_RANGE if everything else DEQUEUE_RESOLVED), params)
    return resolved


QUEUED_IN_RANGE = "SELECT count(*) FROM resolution_pending WHERE id > :low AND id <= :high"
DEQUEUE_RANGE = "DELETE FROM resolution_pending WHERE id > :low AND id <= :high"
DEQUEUE_RESOLVED = (
    f"{DEQUEUE_RANGE} AND EXISTS "
    "(SELECT 1 FROM ticket_resolution r WHERE r.id = resolution_pending.id)"
)


def run_counts(
    connection: Connection, now: datetime, ids: tuple[int, int], dns: bool = False
) -> dict:
    """Summary counts over the tickets this run resolved (one pass over its id range).

    `without_ip`: tickets resolved without an address (`dns`: not even one from DNS);
    `resolved_late`: tickets reported more than LATE_AFTER before `now`;
    `providers`: the distinct provider names they were given (a set, not for the summary).
    """
    sources = RESOLUTION.c.resolution_sources
    no_ip = TICKET.c.ip.is_(None)
    if dns:
        no_ip = sa.and_(no_ip, RESOLUTION.c.dns_ip.is_(None))
    sqlite = connection.dialect.name == "sqlite"
    distinct_names = sa.func.json_group_array if sqlite else sa.func.array_agg
    names = distinct_names(RESOLUTION.c.provider.distinct())
    row = connection.execute(
        sa.select(
            names,
            *(
                sa.func.sum(sa.case((sources.like(f"country={origin} %"), 1), else_=0))
                for origin in ("geo", "registered", "stated", "none")
            ),
            sa.func.sum(sa.case((RESOLUTION.c.cdn.is_(True), 1), else_=0)),
            sa.func.sum(sa.case((RESOLUTION.c.eu.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((RESOLUTION.c.inhope.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((no_ip, 1), else_=0)),
            sa.func.sum(sa.case((TICKET.c.reported_at < now - LATE_AFTER, 1), else_=0)),
        )
        .select_from(RESOLUTION.join(TICKET, TICKET.c.id == RESOLUTION.c.id))
        .where(RESOLUTION.c.id.between(*ids), RESOLUTION.c.resolved_at == now)
    ).one()
    providers = json.loads(row[0]) if sqlite else row[0]
    values = [int(value or 0) for value in row[1:]]
    return {
        "providers": set(providers or ()) - {None},
        "country_from": dict(zip(("geo", "registered", "stated", "none"), values[:4], strict=True)),
        "cdn": values[4],
        "eu_unknown": values[5],
        "inhope_unknown": values[6],
        "without_ip": values[7],
        "resolved_late": values[8],
    }


def drop_lookup_tables(connection: Connection) -> None:
    """Remove the temporary tables."""
    for name in (*TEMP_TABLES, DNS_TABLE):
        drop_temp_table(connection, name)


def write_resolution(
    connection: Connection,
    *,
    facts: dict[str, IpFacts],
    fallback: dict[str, str],
    domains: dict[str, str | None],
    stated: dict[str, str | None],
    stated_countries: list[str],
    days: list[str],
    jurisdictions: Jurisdictions,
    ids: tuple[int, int],
    now: datetime,
    chunk_size: int,
    progress: Callable[[int], None] | None = None,
    dns: dict[str, str | None] | None = None,
) -> int:
    """Fill the pending tickets with ids in (ids[0], ids[1]]; one transaction per chunk of ids.

    `stated_countries`: the hotline's countries as stored; `days`: the first and last report day
    (YYYY-MM-DD); `dns`: with `--dns`, the address chosen per hostname of the tickets without an IP
    (None: lookup failed; the address must be a key of `facts`). A ticket without an IP
    whose hostname is not in `dns` then stays pending.
    """
    low, high = ids
    countries = ip_countries(facts)
    fixed = fixed_membership(jurisdictions, countries, days)
    updated = 0
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a bigger page cache for a million-row write (this connection only)
        raw = connection.connection.driver_connection
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute("PRAGMA cache_size = -262144")
    with connection.begin():
        load_lookup_tables(connection, facts, fallback, domains, stated, stated_countries, fixed)
        if dns is not None:
            load_dns(connection, dns)
        hotline = {normalise_country(code) for code in stated_countries} - {None}
        load_membership(connection, jurisdictions, (countries - set(fixed)) | hotline)
    span = (min(days), max(days)) if days else (OPEN_START, OPEN_END)
    try:
        start = low
        while start < high:
            end = min(start + chunk_size, high)
            with connection.begin():
                updated += resolve_chunk(
                    connection, start, end, now, days=span, dns=dns is not None
                )
            if progress:
                progress(updated)
            start = end
    finally:
        with connection.begin():
            drop_lookup_tables(connection)
        if sqlite:
            raw.execute(f"PRAGMA cache_size = {int(cache)}")
    return updated
