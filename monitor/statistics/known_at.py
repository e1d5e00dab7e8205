"""`--known-at K`: tickets as the monitor knew them at K, replayed from the event log.

Only tickets first learnt by K count. A ticket changed after K (its `last_learnt_at` is
later) gets each changed field back as it was: the old value of the earliest event after K
for that field (`ticket_event`, monitor.store.models). Resolution columns are not in the event
log; a resolution made after K is ignored by the query itself (`TicketQuery.resolved`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.statistics.ticket_query import (
    NULL_TIME,
    TIME_FIELDS,
    UNKNOWN_PROVIDER,
    SnapshotReader,
    TicketQuery,
    profile_text,
)
from monitor.store.models import ticket_with_resolution_sql

REPLAYED_FIELDS = (*TIME_FIELDS, "url_hash", "stated_provider", "stated_country")


def _changed_tickets_sql(query: TicketQuery):
    items = [
        "source",
        "ticket_id",
        *(query.time_text(name) for name in TIME_FIELDS),
        "url_hash",
        "stated_provider",
        "stated_country",
        query.resolved("provider"),
        query.resolved("country"),
        query.resolved("network"),
        query.resolved("asn"),
        *(query.resolved(name) for name in ("eu", "inhope", "cdn")),
    ]
    sql = (
        f"SELECT {', '.join(items)} FROM {ticket_with_resolution_sql()} "
        "WHERE first_learnt_at <= :known_at AND last_learnt_at > :known_at"
    )
    return query.compile(sql, {})


def _earliest_old_values(reader: SnapshotReader, query: TicketQuery, keys: set) -> dict:
    sql, params = query.compile(
        "SELECT source, ticket_id, field, old_value FROM ticket_event "
        "WHERE learnt_at > :known_at AND field <> 'first_seen' ORDER BY learnt_at DESC, id DESC",
        {},
    )
    old: dict[tuple[str, str], dict[str, str | None]] = {}
    for rows in reader.chunks(sql, params):
        for source, ticket_id, name, old_value in rows:
            if (source, ticket_id) in keys and name in REPLAYED_FIELDS:
                # Newest first, so the earliest event after K is written last and wins.
                old.setdefault((source, ticket_id), {})[name] = old_value
    return old


def _stored_time(iso_text: str | None) -> str:
    if iso_text is None:
        return NULL_TIME
    return datetime.fromisoformat(iso_text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def replayed_rows(reader: SnapshotReader, query: TicketQuery) -> list[tuple]:
    """Rows (in the `TicketQuery` shape) of the tickets changed after K, with K's values."""
    sql, params = _changed_tickets_sql(query)
    tickets = [row for rows in reader.chunks(sql, params) for row in rows]
    if not tickets:
        return []
    old = _earliest_old_values(reader, query, {(row[0], row[1]) for row in tickets})
    shaped = []
    for row in tickets:
        source, ticket_id = row[0], row[1]
        values = dict(zip(REPLAYED_FIELDS, row[2:9], strict=True))
        provider, country, network, asn = row[9:13]
        for name, old_value in old.get((source, ticket_id), {}).items():
            values[name] = _stored_time(old_value) if name in TIME_FIELDS else old_value
        fixed = "".join(values[name] for name in TIME_FIELDS)
        if "url_hash" in query.columns:
            fixed += values["url_hash"]
        if provider is None:
            provider = values["stated_provider"] or UNKNOWN_PROVIDER
        if country is None:
            country = values["stated_country"]
        profile = profile_text(
            provider,
            country,
            network if "network" in query.columns else None,
            source if "source" in query.columns else None,
            asn,
            row[13:16],
        )
        shaped.append((fixed, profile))
    return shaped
