"""The monitor's core: ticket store, ingest, survival statistics, drift and the CLI.

One module per job, in the order data flows through them:

    models, db, schema        the store (SQLModel tables, engines, Alembic migrations)
    readers, validate,        ingest: CSV / JSON Lines in, rows checked against the
    ticket_writer, ingest     contract, bad rows to quarantine, one transaction per file
    feed, feed_client         the same ingest from a hotline's paginated API
    ticket_frame, survival,   measure: tickets as numpy columns, Kaplan-Meier for many
    scorecard, snapshots      groups at once, scorecards and their immutable snapshots
    overdue, provider_history the analyst's lists
    drift*                    flag: hosting moving outside the EU and INHOPE, slowdowns
    cli/                      thin commands calling the functions above

Resolution lives in the `providers` package, scheduling in `schedules`, documents in
`reports`. Every error raised on purpose is in `monitor.errors`.
"""

from monitor.errors import MonitorError
from monitor.ingest import IngestOptions, IngestSummary, ingest_file, ingest_rows

__all__ = ["IngestOptions", "IngestSummary", "MonitorError", "ingest_file", "ingest_rows"]
