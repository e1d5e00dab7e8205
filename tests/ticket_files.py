"""Small builders for hotline export files used across the test suite."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

HEADER = [
    "ticket_id",
    "url_hash",
    "reported_at",
    "notified_at",
    "removed_at",
    "checked_at",
    "ip",
    "hostname",
    "provider",
    "country",
]


def url_hash(n: int | str) -> str:
    """A deterministic, valid url_hash."""
    return hashlib.sha256(f"test-url-{n}".encode()).hexdigest()


def good_row(n: int, **overrides) -> dict:
    """A valid row; `overrides` replace columns."""
    row = {
        "ticket_id": f"T-{n:06d}",
        "url_hash": url_hash(n),
        "reported_at": "2026-07-01T10:00:00Z",
        "notified_at": "2026-07-01T11:00:00Z",
        "removed_at": "",
        "checked_at": "",
        "ip": "5.79.101.242",
        "hostname": "files.example.nl",
        "provider": "LeaseWeb Netherlands B.V.",
        "country": "NL",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    """Write rows as a CSV file with a header row."""
    header = header or list(dict.fromkeys(k for row in rows for k in row)) or HEADER
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    """Write rows as JSON Lines; a str is written as the raw line."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path
