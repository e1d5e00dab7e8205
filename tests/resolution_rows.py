"""Store resolutions straight into `ticket_resolution`, as `monitor resolve` leaves them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.models import RESOLUTION, RESOLUTION_COLUMNS, TICKET


def store_resolutions(connection: Connection, rows: list[dict]) -> None:
    """One resolution per row: `source` and `ticket_id` name the ticket, the resolution
    columns given are stored (others left NULL); the tickets leave the pending queue."""
    if not rows:
        return
    keys = {(row["source"], row["ticket_id"]) for row in rows}
    ids = {
        (source, ticket_id): ticket
        for ticket, source, ticket_id in connection.execute(
            sa.select(TICKET.c.id, TICKET.c.source, TICKET.c.ticket_id)
        )
        if (source, ticket_id) in keys
    }
    values = [
        {
            "id": ids[row["source"], row["ticket_id"]],
            **{name: row.get(name) for name in RESOLUTION_COLUMNS},
        }
        for row in rows
    ]
    connection.execute(RESOLUTION.insert(), values)
    connection.execute(
        sa.text("DELETE FROM resolution_pending WHERE id IN (SELECT id FROM ticket_resolution)")
    )
