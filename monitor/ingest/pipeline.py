"""Ingest hotline ticket metadata (INTERFACE.md section 1).

One file is one transaction: it is all written or, on any crash, nothing is.
Bad rows go to quarantine with their line and a reason; `--strict` refuses the
whole file instead. Raw URLs are refused unless hashed on the way in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.core.errors import IngestError, MonitorError, RawUrlRefused, StrictModeRejected
from monitor.core.redaction import error_text, redact_text, safe_label, url_or_credential
from monitor.core.timeutil import utcnow, zone
from monitor.ingest.bounds import MAX_COLUMN_NAME_CHARS, MAX_SOURCE_CHARS, MAX_TICKET_ID_CHARS
from monitor.ingest.readers import BadLine, FileFacts, InputFile, display_name
from monitor.ingest.ticket_writer import TicketWriter
from monitor.ingest.validate import (
    INPUT_COLUMNS,
    URL_COLUMN,
    RowRejected,
    RowRules,
    redact_row,
    validate_row,
)
from monitor.store.db import is_postgres
from monitor.store.models import IngestRun

log = logging.getLogger(__name__)
RUN = IngestRun.__table__
MAX_ERRORS_LISTED = 1000
MAX_IGNORED_COLUMNS = 100  # names listed; JSON Lines objects may each bring new keys
Progress = Callable[[int], None]


@dataclass
class IngestOptions:
    """The options of `monitor ingest`."""

    source: str = "default"
    format: str = "auto"
    timezone: str | None = None
    hash_urls: bool = False
    strict: bool = False
    batch_size: int = 5000


@dataclass
class IngestSummary:
    """Counts of one or more ingests; `to_json` has the contract's keys."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    removed_before_notice: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        """Fold another file's summary into this one."""
        for name in (
            "read",
            "inserted",
            "updated",
            "unchanged",
            "quarantined",
            "removed_before_notice",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ignored_columns = sorted(set(self.ignored_columns) | set(other.ignored_columns))
        self.errors.extend(other.errors[: max(0, MAX_ERRORS_LISTED - len(self.errors))])
        self.run_ids.extend(other.run_ids)

    def to_json(self) -> dict:
        """The `monitor ingest --json` object."""
        return {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "removed_before_notice": self.removed_before_notice,
            "ignored_columns": self.ignored_columns,
            "errors": self.errors,
            "errors_listed": min(len(self.errors), MAX_ERRORS_LISTED),
            "run_ids": self.run_ids,
        }


class _Batch:
    """Rows waiting to be written, with their raw rows for late rejections."""

    def __init__(self) -> None:
        self.records: list[tuple[int, dict]] = []
        self.raw: dict[int, dict] = {}
        self.bad: list[tuple[int, str, str, str | None]] = []


def ingest_file(
    engine: Engine,
    path: Path | str,
    options: IngestOptions | None = None,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    facts: FileFacts | None = None,
) -> IngestSummary:
    """Ingest one CSV or JSON Lines file (gzip or not; `-` is standard input) as one transaction.

    The bytes are hashed as they are read (`facts` is accepted for compatibility and not
    needed). A fault of the whole file raises an IngestError and records a failed run.
    """
    options = options or IngestOptions()
    origin = display_name(path)
    learnt_at = now or utcnow()
    try:
        handle = InputFile(path, options.format)
    except IngestError as exc:
        _record_failure(engine, options.source, origin, options.format, None, learnt_at, exc)
        raise
    with handle:
        if handle.header is not None and URL_COLUMN in handle.header and not options.hash_urls:
            exc = _url_refused(origin)
            _record_failure(engine, options.source, origin, handle.format, None, learnt_at, exc)
            raise exc
        return ingest_rows(
            engine,
            handle.rows(),
            options,
            origin=origin,
            fmt=handle.format,
            header=handle.header,
            sha256=lambda: handle.sha256,
            now=learnt_at,
            progress=progress,
        )


def _url_refused(origin: str) -> RawUrlRefused:
    return RawUrlRefused(
        f"{origin}: has a '{URL_COLUMN}' column (raw URLs); refusing to ingest it. "
        "Give --hash-urls to store only the SHA-256 of each URL; the URL itself is never stored."
    )


def lock_source(connection: Connection, source: str) -> None:
    """Wait for, then hold until the transaction ends, PostgreSQL's lock on ingesting `source`.

    Serialises ingests of one source, so concurrent files never race on a ticket. The key
    names the schema too: monitors that share one database in schemas of their own (a test
    run, a second hotline) do not wait for each other.
    """
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :key))"),
        {"key": "monitor.ingest:" + source},
    )


def check_source(source: str) -> None:
    """Refuse a source name the store cannot keep alike on every backend (1 to
    MAX_SOURCE_CHARS characters, printable), before anything is written."""
    if not source.strip() or len(source) > MAX_SOURCE_CHARS or not source.isprintable():
        raise IngestError(
            f"--source must be 1 to {MAX_SOURCE_CHARS} printable characters, got {len(source)}"
        )


def ingest_rows(
    engine: Engine,
    rows: Iterable[tuple[int, dict | BadLine]],
    options: IngestOptions,
    *,
    origin: str,
    fmt: str,
    header: list[str] | None = None,
    sha256: str | Callable[[], str] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[Connection, IngestSummary, int], None] | None = None,
) -> IngestSummary:
    """Validate and write numbered rows (from a file or a feed page) in one transaction.

    A failure leaves the database as it was and records a `failed` ingest run. `sha256` may
    be a function, asked once the rows are read (a stream is hashed while it is read).
    Any exception while reading or checking one row quarantines that row (the firewall);
    only an IngestError from the reader (a fault of the whole file) ends the ingest.
    `before_commit(connection, summary, run_id)` runs inside that transaction at its end,
    so what the caller writes there (a feed's cursor) commits with the rows or not at all.
    """
    check_source(options.source)
    learnt_at = now or utcnow()
    rules = RowRules(naive_zone=zone(options.timezone), hash_urls=options.hash_urls, now=learnt_at)
    summary = IngestSummary()
    unknown: set[str] = set(header or ()) - set(INPUT_COLUMNS) - {URL_COLUMN}
    try:
        with engine.begin() as connection:
            run_id = _start_run(connection, options.source, origin, fmt, None, learnt_at)
            if is_postgres(engine):
                lock_source(connection, options.source)
                # Rows this transaction inserts are invisible to the planner's statistics, so on
                # a young table it would seq-scan for every batch's key lookup (quadratic time).
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            writer = TicketWriter(connection, options.source, run_id, learnt_at)
            for batch in _batches(
                rows, rules, options, origin, unknown, summary, progress, header is not None
            ):
                counts = writer.write(batch.records)
                bad = batch.bad + [
                    (line, redact_row(batch.raw[line]), reason, _ticket_id(batch.raw[line]))
                    for line, reason in counts.rejected
                ]
                writer.quarantine(origin, bad)
                rejected = {line for line, _reason in counts.rejected}
                writer.resolve_quarantined(
                    [record["ticket_id"] for line, record in batch.records if line not in rejected]
                )
                summary.inserted += counts.inserted
                summary.updated += counts.updated
                summary.unchanged += counts.unchanged
                summary.removed_before_notice += counts.removed_before_notice
                summary.quarantined += len(bad)
                for line, _raw, reason, _id in sorted(bad, key=_first):
                    if len(summary.errors) < MAX_ERRORS_LISTED:
                        summary.errors.append({"file": origin, "line": line, "reason": reason})
            summary.ignored_columns = sorted(
                {safe_label(name, MAX_COLUMN_NAME_CHARS) for name in unknown}
            )
            if options.strict and summary.quarantined:
                raise StrictModeRejected(
                    f"{origin}: --strict and {summary.quarantined} bad row(s); nothing was written",
                    summary.errors,
                )
            digest = sha256() if callable(sha256) else sha256
            _finish_run(connection, run_id, summary, "ok", digest)
            if before_commit is not None:
                before_commit(connection, summary, run_id)
            summary.run_ids.append(run_id)
    except StrictModeRejected:
        raise
    except Exception as exc:
        _record_failure(engine, options.source, origin, fmt, None, learnt_at, exc)
        raise
    log.info(
        "ingested %s: read=%d inserted=%d updated=%d unchanged=%d quarantined=%d",
        origin,
        summary.read,
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.quarantined,
    )
    return summary


def _batches(
    rows: Iterable[tuple[int, dict | BadLine]],
    rules: RowRules,
    options: IngestOptions,
    origin: str,
    unknown: set[str],
    summary: IngestSummary,
    progress: Progress | None,
    header_known: bool,
) -> Iterator[_Batch]:
    batch = _Batch()
    for line, row in rows:
        summary.read += 1
        if isinstance(row, BadLine):
            raw = json.dumps({"line": redact_text(row.raw)}, ensure_ascii=False)
            batch.bad.append((line, raw, row.reason, None))
        else:
            if not header_known:  # JSON Lines: every object may bring its own keys
                if URL_COLUMN in row and not options.hash_urls:
                    raise _url_refused(origin)
                if len(unknown) < MAX_IGNORED_COLUMNS:
                    unknown.update(
                        key for key in row if key not in INPUT_COLUMNS and key != URL_COLUMN
                    )
            try:
                batch.records.append((line, validate_row(row, rules)))
                batch.raw[line] = row
            except RowRejected as exc:
                batch.bad.append((line, _safe_redact_row(row), str(exc), _ticket_id(row)))
            except Exception as exc:  # noqa: BLE001 - the row firewall: this row alone fails
                reason = f"row could not be read ({type(exc).__name__})"
                batch.bad.append((line, _safe_redact_row(row), reason, _ticket_id(row)))
        if len(batch.records) + len(batch.bad) >= options.batch_size:
            yield batch
            if progress:
                progress(summary.read)
            batch = _Batch()
    if batch.records or batch.bad:
        yield batch
    if progress:
        progress(summary.read)


def _first(item: tuple) -> int:
    return item[0]


def _safe_redact_row(row: dict) -> str:
    """The redacted raw row; a row even redaction cannot render is kept as a note."""
    try:
        return redact_row(row)
    except Exception as exc:  # noqa: BLE001 - the firewall must not fail on the bad row itself
        return json.dumps({"unrenderable row": type(exc).__name__})


def _ticket_id(row: dict) -> str | None:
    """The row's ticket_id if it could be one, so a later corrected row can resolve it."""
    value = row.get("ticket_id")
    if value.__class__ is not str:
        return None
    value = value.strip()
    if not value or len(value) > MAX_TICKET_ID_CHARS or not value.isprintable():
        return None
    return None if url_or_credential(value) else value


def _start_run(
    connection: Connection,
    source: str,
    origin: str,
    fmt: str,
    sha256: str | None,
    started_at: datetime,
) -> int:
    result = connection.execute(
        sa.insert(RUN).returning(RUN.c.id),
        {
            "source": source,
            "origin": origin[:255],
            "file_sha256": sha256,
            "format": fmt,
            "status": "running",
            "started_at": started_at,
            "read": 0,
            "inserted": 0,
            "updated": 0,
            "unchanged": 0,
            "quarantined": 0,
            "ignored_columns": "[]",
        },
    )
    return result.scalar_one()


def _finish_run(
    connection: Connection,
    run_id: int,
    summary: IngestSummary,
    status: str,
    sha256: str | None = None,
) -> None:
    connection.execute(
        sa.update(RUN)
        .where(RUN.c.id == run_id)
        .values(
            status=status,
            file_sha256=sha256,
            finished_at=utcnow(),
            read=summary.read,
            inserted=summary.inserted,
            updated=summary.updated,
            unchanged=summary.unchanged,
            quarantined=summary.quarantined,
            ignored_columns=json.dumps(summary.ignored_columns),
        )
    )


def _record_failure(
    engine: Engine,
    source: str,
    origin: str,
    fmt: str,
    sha256: str | None,
    started_at: datetime,
    exc: BaseException,
) -> None:
    """Keep a trace of a failed ingest (its rows were rolled back), with the error redacted."""
    error = error_text(exc)
    # A refused file is the caller's one `error:` line; only an unexpected failure logs an error.
    level = logging.INFO if isinstance(exc, MonitorError) else logging.ERROR
    log.log(level, "ingest of %s failed, nothing written: %s", origin, error)
    try:
        with engine.begin() as connection:
            run_id = _start_run(connection, source, origin, fmt, sha256, started_at)
            connection.execute(
                sa.update(RUN)
                .where(RUN.c.id == run_id)
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error=error,
                )
            )
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.warning("could not record the failed ingest of %s", origin)
