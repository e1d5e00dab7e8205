"""`monitor tickets export`: one row per ticket with the contract's columns, then the monitor's.

The contract (INTERFACE section 3) fixes the first columns and their order; the monitor
only appends: `dns_ip` (the address `monitor resolve --dns` found for the hostname).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.safe_output import csv_cell
from monitor.core.timeutil import iso
from monitor.store.models import RESOLUTION, TICKET, TICKET_WITH_RESOLUTION

EXPORT_COLUMNS = (
    "source",
    "ticket_id",
    "url_hash",
    "reported_at",
    "notified_at",
    "removed_at",
    "checked_at",
    "ip",
    "hostname",
    "registered_domain",
    "provider",
    "asn",
    "network",
    "country",
    "eu",
    "inhope",
    "dns_ip",  # an addition to the contract's columns
)


def iter_export_rows(engine: Engine, batch: int = 10000) -> Iterator[dict]:
    """Tickets in (source, ticket_id) order as plain values, streamed from the database."""
    columns = (RESOLUTION.c.get(name, TICKET.c.get(name)) for name in EXPORT_COLUMNS)
    query = (
        sa.select(*columns)
        .select_from(TICKET_WITH_RESOLUTION)
        .order_by(TICKET.c.source, TICKET.c.ticket_id)
    )
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch).execute(query)
        for row in result.mappings():
            yield {
                name: iso(value) if name.endswith("_at") else value for name, value in row.items()
            }


def write_export(engine: Engine, out: TextIO, fmt: str = "csv") -> int:
    """Write the export as CSV (header row) or JSON Lines; returns the number of tickets.

    CSV cells go through `csv_cell`, as in every CSV the monitor writes: a value a
    spreadsheet would run as a formula (`=HYPERLINK(...)`) is written as text.
    """
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in iter_export_rows(engine):
            writer.writerow([csv_cell(row[name]) for name in EXPORT_COLUMNS])
            count += 1
    elif fmt == "jsonl":
        for row in iter_export_rows(engine):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return count
