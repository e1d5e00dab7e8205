"""Quarantined rows as an analyst works with them: listed, filtered, exported to correct.

An export is a file the ingest reads back: the rows' input columns (as quarantine keeps
them, URLs and credentials already redacted) plus `quarantine_id`, `quarantine_line` and
`quarantine_reason`, which the ingest lists as ignored columns. Re-ingesting the corrected
file marks the rows it fixed as resolved (`TicketWriter.resolve_quarantined`): they are kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, iso
from monitor.ingest.validate import INPUT_COLUMNS
from monitor.store.models import QuarantinedRow

QUARANTINE = QuarantinedRow.__table__
META_COLUMNS = ("quarantine_id", "quarantine_line", "quarantine_reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as the scorecard CSV neutralises them


def quarantined(
    engine: Engine,
    *,
    run_id: int | None = None,
    reason: str | None = None,
    include_resolved: bool = True,
) -> Iterator[dict]:
    """Quarantined rows, oldest first; `reason` matches part of the reason, ignoring case."""
    query = sa.select(QUARANTINE).order_by(QUARANTINE.c.id)
    if run_id is not None:
        query = query.where(QUARANTINE.c.run_id == run_id)
    if reason:
        query = query.where(
            sa.func.lower(QUARANTINE.c.reason).contains(reason.lower(), autoescape=True)
        )
    if not include_resolved:
        query = query.where(QUARANTINE.c.resolved_at.is_(None))
    with engine.connect() as connection:
        for row in connection.execute(query).mappings():
            yield {
                "id": row["id"],
                "run_id": row["run_id"],
                "source": row["source"],
                "origin": row["origin"],
                "line": row["line"],
                "reason": row["reason"],
                "ticket_id": row["ticket_id"],
                "created_at": iso(as_utc(row["created_at"])),
                "resolved_at": iso(as_utc(row["resolved_at"])),
                "resolved_by_run": row["resolved_by_run"],
                "raw": _raw(row["raw"]),
            }


def _raw(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {"line": text}
    return value if isinstance(value, dict) else {"line": text}


def is_row(entry: dict) -> bool:
    """True when the quarantined raw text was split into columns (not an unreadable line)."""
    raw = entry["raw"]
    return not (set(raw) <= {"line"} and isinstance(raw.get("line"), str))


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(entries: list[dict], out: TextIO) -> tuple[int, int]:
    """Rows that had columns as CSV to correct and re-ingest; (written, unreadable lines left
    out, which only the JSON Lines export carries)."""
    rows = [entry for entry in entries if is_row(entry)]
    extra = sorted({key for entry in rows for key in entry["raw"]} - set(INPUT_COLUMNS))
    writer = csv.writer(out)
    writer.writerow([*INPUT_COLUMNS, *extra, *META_COLUMNS])
    for entry in rows:
        raw = entry["raw"]
        writer.writerow(
            [_cell(raw.get(name)) for name in (*INPUT_COLUMNS, *extra)]
            + [entry["id"], entry["line"], _cell(entry["reason"])]
        )
    return len(rows), len(entries) - len(rows)


def write_jsonl(entries: list[dict], out: TextIO) -> int:
    """Every entry as one JSON object: its raw columns plus the quarantine columns."""
    for entry in entries:
        meta = dict(zip(META_COLUMNS, (entry["id"], entry["line"], entry["reason"]), strict=True))
        out.write(json.dumps({**entry["raw"], **meta}, ensure_ascii=False) + "\n")
    return len(entries)
