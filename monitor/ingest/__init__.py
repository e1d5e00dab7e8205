"""Stage 2, ingest: hotline exports (CSV, JSON Lines) and feed pages in, every row checked
against the contract, bad rows to quarantine with a reason, one transaction per file or page.

    readers        files and streams to numbered rows
    validate       the row rules (INTERFACE section 1)
    ticket_writer  inserts and updates, per source
    pipeline       one file or page, one transaction, one ingest run
    feed*          the same ingest from a hotline's paginated API
"""

from monitor.ingest.pipeline import (
    IngestOptions,
    IngestSummary,
    ingest_file,
    ingest_rows,
    lock_source,
)

__all__ = ["IngestOptions", "IngestSummary", "ingest_file", "ingest_rows", "lock_source"]
