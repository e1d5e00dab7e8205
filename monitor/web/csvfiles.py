"""CSV downloads: the overdue queue (what a re-notice needs) and the quarantine.

Every cell is outside text: one that a spreadsheet would run as a formula (starting with
`=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, as in the
scorecard CSV; control characters other than tab are shown as `\\xNN`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

OVERDUE_COLUMNS = (
    "provider",
    "source",
    "ticket_id",
    "url_hash",
    "clock_start",
    "notified",
    "age_hours",
    "network",
    "asn",
    "country",
    "last_checked",
)
CSV_BATCH = 2000  # rows per streamed piece: one piece per row costs more than the rows
QUARANTINE_COLUMNS = ("run_id", "source", "origin", "line", "reason", "raw", "created_at")


def cell(value: object) -> str:
    """One CSV cell, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.1f}"
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_lines(
    columns: tuple[str, ...], rows: Iterable[dict], batch: int = CSV_BATCH
) -> Iterator[str]:
    """The header and the rows as CSV text, `batch` rows per piece (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    pending = 0
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
        pending += 1
        if pending == batch:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()
