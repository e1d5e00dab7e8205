"""Write the resolution columns of pending tickets in bulk, inside the database.

Everything that depends on one value only is computed once in Python and
loaded into temporary tables: facts per IP (`merge.merge_ip`, with the country
when the IP has one), the registered domain per hostname, the canonical provider
per stated name, EU/INHOPE membership per (country, report day). One UPDATE per
chunk of ticket ids then joins them, applying the per-ticket rules:

- `country` = geolocated, else registered (both per IP), else the hotline's stated country;
- `provider` = the stated provider's canonical name, else the IP's fallback
  (network organisation, or `unknown (behind <CDN>)`), else `unknown`;
- `eu`/`inhope` = membership of that country on the report day (UTC); NULL when unknown;
- `resolution_sources` = `country=<geo|registered|stated|none>` + the IP's sources.

Only tickets still pending are written (a concurrent run's values are kept), and
only those whose IP, hostname and stated name were known when the run started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import Ticket, UTCDateTime
from providers.bulk import create_temp_table, drop_temp_table, insert_rows
from providers.jurisdictions import COUNTRY_ALIASES, Jurisdictions
from providers.merge import IpFacts

MAX_SOURCES = 255
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
    ],
    "rs_host": [("hostname", "TEXT"), ("domain", "TEXT")],
    "rs_stated": [("name", "TEXT"), ("provider", "TEXT")],
    "rs_member": [("country", "TEXT"), ("day", "TEXT"), ("eu", "BOOLEAN"), ("inhope", "BOOLEAN")],
}
TEMP_KEYS = {
    "rs_ip": ("ip",),
    "rs_host": ("hostname",),
    "rs_stated": ("name",),
    "rs_member": ("country", "day"),
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
JOINS = (
    "FROM ticket t LEFT JOIN rs_ip f ON f.ip = t.ip LEFT JOIN rs_host h ON h.hostname = t.hostname "
    "LEFT JOIN rs_stated s ON s.name = t.stated_provider"
)
KNOWN = (
    "t.resolved_at IS NULL AND t.id > :low AND t.id <= :high "
    "AND (t.ip IS NULL OR f.ip IS NOT NULL) AND (t.hostname IS NULL OR h.hostname IS NOT NULL) "
    "AND (t.stated_provider IS NULL OR s.name IS NOT NULL)"
)


def _ip_rows(facts: dict[str, IpFacts], fallback: dict[str, str]) -> Iterable[tuple]:
    for raw, f in facts.items():
        country, origin = (
            (f.geo_country, "geo") if f.geo_country else (f.registered_country, "registered")
        )
        ticket_sources = f"country={origin} {f.sources}"[:MAX_SOURCES] if country else None
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
        )


def load_lookup_tables(
    connection: Connection,
    facts: dict[str, IpFacts],
    fallback: dict[str, str],
    domains: dict[str, str | None],
    stated: dict[str, str | None],
) -> None:
    """Create and fill the temporary tables (they live as long as the connection)."""
    for name, columns in TEMP_TABLES.items():
        create_temp_table(connection, name, columns, TEMP_KEYS[name])
    insert_rows(
        connection, "rs_ip", [c for c, _ in TEMP_TABLES["rs_ip"]], _ip_rows(facts, fallback)
    )
    insert_rows(connection, "rs_host", ("hostname", "domain"), domains.items())
    insert_rows(connection, "rs_stated", ("name", "provider"), stated.items())


def load_membership(
    connection: Connection, jurisdictions: Jurisdictions, countries: set[str], days: Iterable[str]
) -> None:
    """EU/INHOPE membership of every country that may occur, on every report day of the run."""
    days = [(day, date.fromisoformat(day)) for day in days]
    rows = (
        (country, text, member.eu, member.inhope)
        for country in sorted(countries)
        for text, day in days
        for member in (jurisdictions.membership(country, day),)
    )
    insert_rows(connection, "rs_member", ("country", "day", "eu", "inhope"), rows)


def update_chunk(connection: Connection, low: int, high: int, now: datetime) -> int:
    """Resolve pending tickets with low < id <= high; returns how many were written."""
    day = report_day(connection.dialect.name)
    select = (
        "SELECT t.id AS id, h.domain AS registered_domain, "
        "COALESCE(s.provider, f.fallback_provider, 'unknown') AS provider, f.asn AS asn, "
        "f.network AS network, f.prefix AS prefix, f.geo_country AS geo_country, "
        f"f.registered_country AS registered_country, {COUNTRY} AS country, f.cdn AS cdn, "
        f"m.eu AS eu, m.inhope AS inhope, {SOURCES} AS resolution_sources {JOINS} "
        f"LEFT JOIN rs_member m ON m.country = {COUNTRY} AND m.day = {day} WHERE {KNOWN}"
    )
    assignments = ", ".join(f"{c} = u.{c}" for c in COLUMNS)
    return connection.execute(
        sa.text(
            f"UPDATE ticket SET {assignments}, resolved_at = :now FROM ({select}) AS u "
            "WHERE ticket.id = u.id AND ticket.resolved_at IS NULL"
        ).bindparams(sa.bindparam("now", type_=UTCDateTime)),
        {"low": low, "high": high, "now": now},
    ).rowcount


def run_counts(connection: Connection, now: datetime, ids: tuple[int, int]) -> dict:
    """Summary counts over the tickets this run resolved (one pass over its id range)."""
    ticket = Ticket.__table__
    sources = ticket.c.resolution_sources
    row = connection.execute(
        sa.select(
            *(
                sa.func.sum(sa.case((sources.like(f"country={origin} %"), 1), else_=0))
                for origin in ("geo", "registered", "stated", "none")
            ),
            sa.func.sum(sa.case((ticket.c.cdn.is_(True), 1), else_=0)),
            sa.func.sum(sa.case((ticket.c.eu.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((ticket.c.inhope.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((ticket.c.ip.is_(None), 1), else_=0)),
        ).where(ticket.c.id.between(*ids), ticket.c.resolved_at == now)
    ).one()
    values = [int(value or 0) for value in row]
    return {
        "country_from": dict(zip(("geo", "registered", "stated", "none"), values[:4], strict=True)),
        "cdn": values[4],
        "eu_unknown": values[5],
        "inhope_unknown": values[6],
        "without_ip": values[7],
    }


def drop_lookup_tables(connection: Connection) -> None:
    """Remove the temporary tables."""
    for name in TEMP_TABLES:
        drop_temp_table(connection, name)


def write_resolution(
    connection: Connection,
    *,
    facts: dict[str, IpFacts],
    fallback: dict[str, str],
    domains: dict[str, str | None],
    stated: dict[str, str | None],
    countries: set[str],
    days: list[str],
    jurisdictions: Jurisdictions,
    ids: tuple[int, int],
    now: datetime,
    chunk_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fill the pending tickets with ids in (ids[0], ids[1]]; one transaction per chunk of ids.

    `countries`: every country a ticket may end up in; `days`: every report day (YYYY-MM-DD).
    """
    low, high = ids
    updated = 0
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a bigger page cache for the index updates of a million rows (this connection only)
        raw = connection.connection.driver_connection
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute("PRAGMA cache_size = -262144")
    with connection.begin():
        load_lookup_tables(connection, facts, fallback, domains, stated)
        load_membership(connection, jurisdictions, countries, days)
    try:
        start = low
        while start < high:
            end = min(start + chunk_size, high)
            with connection.begin():
                updated += update_chunk(connection, start, end, now)
            if progress:
                progress(updated)
            start = end
    finally:
        with connection.begin():
            drop_lookup_tables(connection)
        if sqlite:
            raw.execute(f"PRAGMA cache_size = {int(cache)}")
    return updated
