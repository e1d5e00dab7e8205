"""Streaming readers for hotline exports: CSV with a header, or JSON Lines.

Each reader yields `(line_number, row)` where `row` is a dict, or
`(line_number, BadLine)` for a line that cannot even be split into columns.
Files are streamed, never loaded whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import UnreadableInput

FORMATS = ("auto", "csv", "jsonl")
_CHUNK = 1 << 20
csv.field_size_limit(1 << 20)


@dataclass(frozen=True)
class BadLine:
    """A line that is not a row at all (broken JSON, wrong number of CSV fields)."""

    raw: str
    reason: str


@dataclass(frozen=True)
class FileFacts:
    """What one pass over the bytes tells: SHA-256, size and line count."""

    sha256: str
    size: int
    lines: int


def file_facts(path: Path) -> FileFacts:
    """Hash and count lines in one streaming pass (for the ingest-run record and progress)."""
    digest, size, lines = hashlib.sha256(), 0, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return FileFacts(digest.hexdigest(), size, lines)


def detect_format(path: Path, requested: str = "auto") -> str:
    """`csv` or `jsonl`: as requested, else by extension, else by the first character."""
    if requested not in FORMATS:
        raise UnreadableInput(f"unknown format {requested!r}; use auto, csv or jsonl")
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def open_text(path: Path) -> io.TextIOWrapper:
    """UTF-8 text (a BOM is skipped); undecodable bytes become lone surrogates to be quarantined."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


def read_csv(handle: io.TextIOBase) -> tuple[list[str], Iterator[tuple[int, dict | BadLine]]]:
    """The header and a row iterator; line numbers are the file's (header = line 1)."""
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableInput("empty file: no header row") from None
    header = [name.strip().lower() for name in header]
    if not any(header):
        raise UnreadableInput("the first line has no column names")

    def rows() -> Iterator[tuple[int, dict | BadLine]]:
        line = reader.line_num + 1
        for values in reader:
            start, line = line, reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raw = ",".join(values)
                yield start, BadLine(raw, f"expected {len(header)} fields, found {len(values)}")
                continue
            yield start, dict(zip(header, values, strict=True))

    return header, rows()


def read_jsonl(handle: io.TextIOBase) -> Iterator[tuple[int, dict | BadLine]]:
    """One JSON object per line; blank lines are skipped."""
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, UnicodeEncodeError) as exc:
            yield (
                number,
                BadLine(
                    text.rstrip("\r\n"),
                    f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})",
                ),
            )
            continue
        if not isinstance(value, dict):
            yield number, BadLine(text.rstrip("\r\n"), "not a JSON object")
            continue
        yield number, {str(k).strip().lower(): v for k, v in value.items()}
