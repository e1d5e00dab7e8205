"""Helpers shared by the providers tests (no tests here).

Tickets are written straight into the ticket table, so these tests do not
depend on the ingest stage; the CLI test goes through `monitor ingest` once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.store.models import QUEUE_UNRESOLVED, RESOLUTION, TICKET, TICKET_WITH_RESOLUTION
from providers.results import IpResult

DATA = Path(__file__).parents[1] / "data" / "providers"
PFX_V4 = DATA / "routeviews-excerpt-ipv4.pfx2as"
PFX_V6 = DATA / "routeviews-excerpt-ipv6.pfx2as"
ASNAMES = DATA / "asnames-excerpt.csv"
RDAP_EXCERPT = DATA / "ipwhois-rdap-excerpt.json"
LEARNT = datetime(2026, 1, 1, tzinfo=UTC)


def add_tickets(engine, rows: Sequence[dict], source: str = "default") -> None:
    """Insert tickets: each row needs `ticket_id`; `reported_at` defaults to 2024-02-01."""
    with engine.begin() as connection:
        for row in rows:
            connection.execute(
                TICKET.insert().values(
                    source=source,
                    ticket_id=row["ticket_id"],
                    url_hash=row.get("url_hash", "a" * 64),
                    reported_at=row.get("reported_at", datetime(2024, 2, 1, 12, tzinfo=UTC)),
                    ip=row.get("ip"),
                    hostname=row.get("hostname"),
                    stated_provider=row.get("provider"),
                    stated_country=row.get("country"),
                    first_learnt_at=LEARNT,
                    last_learnt_at=LEARNT,
                )
            )
        connection.exec_driver_sql(QUEUE_UNRESOLVED)  # as the ingest queues new tickets


def tickets(engine) -> dict[str, dict]:
    """Every ticket by ticket_id with its resolution columns (NULL while pending), as dicts."""
    resolution = [column for column in RESOLUTION.c if column.name != "id"]
    query = sa.select(TICKET, *resolution).select_from(TICKET_WITH_RESOLUTION)
    with engine.connect() as connection:
        return {row["ticket_id"]: dict(row) for row in connection.execute(query).mappings()}


class FakeResolver:
    """A resolver with fixed answers that counts what it was asked."""

    def __init__(
        self, name: str, answers: dict[str, IpResult], version: str | None = "v1", ttl=None
    ):
        self.name, self.answers, self.version, self.ttl = name, answers, version, ttl
        self.asked: list[str] = []

    def data_version(self) -> str | None:
        return self.version

    def resolve(self, ips):
        self.asked.extend(ips)
        return {ip: self.answers[ip] for ip in ips if ip in self.answers}

    def as_name(self, asn):  # only used when it stands in for the prefix table
        return None
