"""Streaming readers for hotline exports: CSV with a header, or JSON Lines.

`open_input` opens a path, `-` (standard input) or a FIFO, gzip or not, checks the encoding
and sniffs the format and CSV delimiter from the first bytes, and hashes the bytes while
they are read (a stream is read once). Its `rows` yield `(line_number, row)` where `row` is a
dict, or `(line_number, BadLine)` for a line that cannot even be split into columns.

Every line is read against a bound (monitor.ingest.bounds): an overlong line, a stray quote that
would swallow the following rows, or JSON nested too deep becomes one BadLine and reading
goes on. Only a fault of the whole file raises UnreadableInput: not UTF-8, duplicate or
case-colliding column names, empty, unreadable, or changed while it was read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from monitor.core.errors import UnreadableInput
from monitor.core.redaction import safe_label
from monitor.ingest.bounds import (
    MAX_COLUMN_NAME_CHARS,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_HEADER_SNIFF_BYTES,
    MAX_JSON_DEPTH,
    MAX_LINE_CHARS,
    MAX_RAW_KEPT_CHARS,
    MAX_RECORD_LINES,
)
from monitor.ingest.validate import INPUT_COLUMNS, URL_COLUMN

FORMATS = ("auto", "csv", "jsonl")
STDIN = "-"
KNOWN_COLUMNS = frozenset((*INPUT_COLUMNS, URL_COLUMN))
DELIMITERS = (",", ";", "\t", "|")
_CHUNK = 1 << 20
_BUFFER = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian, byte-order mark FF FE 00 00)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian, byte-order mark 00 00 FE FF)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian, byte-order mark FF FE)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian, byte-order mark FE FF)"),
)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
csv.field_size_limit(MAX_LINE_CHARS * (MAX_RECORD_LINES + 1))


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
    """Hash and count lines in one streaming pass (the progress bar's line count)."""
    digest, size, lines = hashlib.sha256(), 0, 0
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return FileFacts(digest.hexdigest(), size, lines)


def progress_lines(path: Path | str) -> int:
    """Lines of an uncompressed regular file (for a progress bar); 0 for anything else."""
    if str(path) == STDIN:
        return 0
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return 0
        with open(path, "rb") as handle:
            if handle.read(2) == _GZIP_MAGIC:
                return 0
        return file_facts(Path(path)).lines
    except OSError:
        return 0


def display_name(path: Path | str) -> str:
    """The name a file is shown and stored under: `stdin` for `-`, else its redacted name."""
    if str(path) == STDIN:
        return "stdin"
    return safe_label(Path(path).name, 255)


class _Counting(io.RawIOBase):
    """Hashes and counts the bytes as they are read, so a stream is read only once."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.raw.readinto(buffer)
        if count:
            self.digest.update(memoryview(buffer)[:count])
            self.size += count
        return count or 0


class _Prefixed(io.RawIOBase):
    """The bytes already read for sniffing, then the rest of the stream."""

    def __init__(self, head: bytes, rest) -> None:
        self.head = memoryview(head)
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            count = min(len(buffer), len(self.head))
            buffer[:count] = self.head[:count]
            self.head = self.head[count:]
            return count
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_exactly(stream, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _check_encoding(name: str, head: bytes, complete: bool) -> None:
    """Refuse text that is not UTF-8, naming what was found."""
    for bom, found in _BOMS:
        if head.startswith(bom):
            raise UnreadableInput(
                f"{name}: the file is {found}, not UTF-8; save it as UTF-8 and ingest it again"
            )
    if head.count(b"\x00") * 8 > len(head):  # a stray NUL is one row's problem
        raise UnreadableInput(
            f"{name}: the file contains NUL bytes (UTF-16 or UTF-32 without a byte-order mark, "
            "or not a text file), not UTF-8; save it as UTF-8 and ingest it again"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError as exc:
        raise UnreadableInput(
            f"{name}: not UTF-8 (byte 0x{head[exc.start]:02X} at offset {exc.start}; "
            "Latin-1 or Windows-1252?); save it as UTF-8 and ingest it again"
        ) from None


class InputFile:
    """One input opened for reading: its format, header, rows, and the hash of its bytes.

    Use as a context manager; iterate `rows` once. After the last row the file is checked
    against what it was when opened (size, modification time, and for a regular file a
    second hash), so a file changed during the ingest is refused rather than recorded.
    """

    def __init__(self, path: Path | str, requested: str = "auto") -> None:
        if requested not in FORMATS:
            raise UnreadableInput(f"unknown format {requested!r}; use auto, csv or jsonl")
        self.name = display_name(path)
        self.path = None if str(path) == STDIN else Path(path)
        self._raw = self._open()
        try:
            self._stat = os.fstat(self._raw.fileno()) if self.path is not None else None
            if self._stat is not None and stat.S_ISDIR(self._stat.st_mode):
                raise UnreadableInput(f"{self.name}: is a folder, not a file")
            if self._stat is not None and not stat.S_ISREG(self._stat.st_mode):
                self._stat = None  # a FIFO or device: a stream, read once
            self._counting = _Counting(self._raw)
            buffered = io.BufferedReader(self._counting, _BUFFER)
            binary = buffered
            self.compressed = buffered.peek(2)[:2] == _GZIP_MAGIC
            if self.compressed:
                binary = gzip.GzipFile(fileobj=buffered, mode="rb")
            head = self._guarded(_read_exactly, binary, MAX_HEADER_SNIFF_BYTES)
            complete = len(head) < MAX_HEADER_SNIFF_BYTES
            _check_encoding(self.name, head, complete)
            self.format = self._format(requested, head)
            if not head.lstrip(codecs.BOM_UTF8).strip():
                what = "no header row" if self.format == "csv" else "no rows"
                raise UnreadableInput(f"{self.name}: empty file: {what}")
            text = io.TextIOWrapper(
                io.BufferedReader(_Prefixed(head, binary), _BUFFER),
                encoding="utf-8-sig",
                errors="surrogateescape",
                newline="",
            )
            self._read_line = partial(text.readline, MAX_LINE_CHARS)
            self.header: list[str] | None = None
            if self.format == "csv":
                self.header, self._dialect = self._csv_header()
        except BaseException:
            self.close()
            raise

    def _open(self):
        if self.path is None:
            return sys.stdin.buffer
        try:
            return open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise UnreadableInput(f"{self.name}: no such file; check the path") from None
        except IsADirectoryError:
            raise UnreadableInput(f"{self.name}: is a folder, not a file") from None
        except OSError as exc:
            raise UnreadableInput(f"{self.name}: cannot be read ({exc.strerror})") from None

    def _guarded(self, function, *args):
        """Run a read; turn a broken gzip stream or a read error into a file-level error."""
        try:
            return function(*args)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise UnreadableInput(
                f"{self.name}: not a complete gzip file ({type(exc).__name__})"
            ) from None
        except OSError as exc:
            raise UnreadableInput(
                f"{self.name}: cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None

    def _format(self, requested: str, head: bytes) -> str:
        if requested != "auto":
            return requested
        name = self.name.lower().removesuffix(".gz")
        if name.endswith((".csv", ".tsv")):
            return "csv"
        if name.endswith((".jsonl", ".ndjson", ".json")):
            return "jsonl"
        return "jsonl" if head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"{") else "csv"

    def _csv_header(self) -> tuple[list[str], type[csv.Dialect]]:
        while True:
            line = self._guarded(self._read_line)
            if not line:
                raise UnreadableInput(f"{self.name}: empty file: no header row")
            if line.strip():
                break
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            raise UnreadableInput(
                f"{self.name}: the header line is longer than {MAX_LINE_CHARS:,} characters"
            )
        dialect = _sniff(line)
        names = next(csv.reader([line], dialect), [])
        header = [name.strip().lower() for name in names]
        if not any(header):
            raise UnreadableInput(f"{self.name}: the first line has no column names")
        check_column_names(self.name, header, names)
        return header, dialect

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes read so far (of the whole input once `rows` is exhausted)."""
        return self._counting.digest.hexdigest()

    @property
    def size(self) -> int:
        """Bytes read so far (compressed bytes for a gzip file)."""
        return self._counting.size

    def rows(self) -> Iterator[tuple[int, dict | BadLine]]:
        """The numbered rows; after the last one, the file-changed check."""
        if self.format == "csv":
            yield from _csv_rows(self.name, self._feed(2), self.header, self._dialect)
        else:
            yield from _jsonl_rows(self.name, self._feed(1))
        self.verify()

    def _feed(self, first_line: int) -> _LineFeed:
        return _LineFeed(partial(self._guarded, self._read_line), first_line)

    def verify(self) -> None:
        """Raise UnreadableInput if the regular file changed while it was read."""
        if self._stat is None or self.path is None:
            return
        before, now = self._stat, os.fstat(self._raw.fileno())
        changed = (
            now.st_size != before.st_size
            or now.st_mtime_ns != before.st_mtime_ns
            or self._counting.size != before.st_size
        )
        if not changed:
            try:
                changed = file_facts(self.path).sha256 != self.sha256
            except OSError:
                changed = True
        if changed:
            raise UnreadableInput(
                f"{self.name}: the file changed while it was read (now {now.st_size:,} bytes, "
                f"{self._counting.size:,} read); nothing was written, ingest it again"
            )

    def close(self) -> None:
        """Close the file (standard input stays open)."""
        if self.path is not None and getattr(self, "_raw", None) is not None:
            self._raw.close()

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def check_column_names(origin: str, names: list[str], given: list[str] | None = None) -> None:
    """Refuse duplicate, case-colliding, overlong or too many column names (file-level)."""
    if len(names) > MAX_COLUMNS:
        raise UnreadableInput(f"{origin}: more than {MAX_COLUMNS} columns ({len(names)})")
    if any(len(name) > MAX_COLUMN_NAME_CHARS for name in names):
        raise UnreadableInput(
            f"{origin}: a column name is longer than {MAX_COLUMN_NAME_CHARS} characters"
        )
    seen: set[str] = set()
    twice = sorted({name for name in names if name in seen or seen.add(name)})
    if twice:
        shown = ", ".join(safe_label(name) for name in twice)
        raise UnreadableInput(
            f"{origin}: duplicate column names (case and spaces ignored): {shown}; "
            "each column may appear once"
        )


def _sniff(line: str) -> type[csv.Dialect]:
    """The delimiter that splits the header into the most known column names (`,` on a tie)."""
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        names = next(csv.reader([line], delimiter=delimiter), [])
        known = sum(name.strip().lower() in KNOWN_COLUMNS for name in names)
        score = (known, len(names))
        if score > best_score:
            best, best_score = delimiter, score
    dialect = csv.excel_tab if best == "\t" else csv.excel
    if best in ("\t", ","):
        return dialect

    class Sniffed(csv.excel):
        delimiter = best

    return Sniffed


class _Overrun(Exception):
    """A CSV record spans more lines than a quoted field may (a stray quote)."""


class _Overlong(Exception):
    """A line longer than MAX_LINE_CHARS; `args[0]` is its cut text."""


class _LongLine(str):
    """The first MAX_LINE_CHARS characters of an overlong line (the rest was skipped)."""


class _LineFeed:
    """Physical lines for csv.reader, bounded in length and in lines per record.

    Lines of the record being read are kept in `taken`, so after a stray quote the
    reader can re-read all but the first of them (`pending`) instead of losing them.
    """

    def __init__(self, read_line, first_line: int) -> None:
        self.read_line = read_line
        self.pending: deque[str] = deque()
        self.taken: list[str] = []
        self.start = first_line  # line number of taken[0]

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.pending:
            line = self.pending.popleft()
        else:
            line = self.read_line()
            if not line:
                raise StopIteration
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            if line.__class__ is not _LongLine:
                line = self._skip_rest(line)
            raise _Overlong(line)
        self.taken.append(line)
        if len(self.taken) > MAX_RECORD_LINES:
            raise _Overrun
        return line

    def _skip_rest(self, line: str) -> _LongLine:
        while (more := self.read_line()) and not more.endswith("\n"):
            pass
        return _LongLine(line)

    def done(self, count: int) -> int:
        """The record of the first `count` taken lines is done; its first line number."""
        start = self.start
        self.start += count
        del self.taken[:count]
        return start

    def resync(self) -> tuple[int, str]:
        """Give up on the record being read: its first line is bad, the rest is read again."""
        first, rest = self.taken[0], self.taken[1:]
        self.pending.extendleft(reversed(rest))
        self.taken = []
        start = self.start
        self.start += 1
        return start, first


def kept_raw(text: str) -> str:
    """Raw text of an unreadable line as quarantine keeps it: cut to a bound, and marked."""
    text = text.rstrip("\r\n")
    if len(text) <= MAX_RAW_KEPT_CHARS and text.__class__ is not _LongLine:
        return text
    return f"{text[:MAX_RAW_KEPT_CHARS]}... [cut: longer than {MAX_RAW_KEPT_CHARS} characters]"


_UNBALANCED = "unbalanced quote: a quoted field runs past the end of its line"


def _csv_rows(
    name: str, feed: _LineFeed, header: list[str], dialect: type[csv.Dialect]
) -> Iterator[tuple[int, dict | BadLine]]:
    width = len(header)
    while True:
        reader = csv.reader(feed, dialect)
        try:
            for values in reader:
                taken = feed.taken
                count = len(taken)
                if count == 1 and len(values) == width:
                    line = taken.pop()
                    number = feed.start
                    feed.start = number + 1
                    if not values[0].strip() and all(not value.strip() for value in values):
                        continue
                    if len(line) > MAX_FIELD_CHARS:
                        yield number, _sized(header, values, line)
                    else:
                        yield number, dict(zip(header, values, strict=True))
                    continue
                if count <= 1 or (
                    len(values) == width and not _swallows_rows(feed.taken, dialect, width)
                ):
                    raw = "".join(feed.taken)
                    number = feed.done(count)
                    if not values or all(not value.strip() for value in values):
                        continue
                    if len(values) != width:
                        yield (
                            number,
                            BadLine(kept_raw(raw), f"expected {width} fields, found {len(values)}"),
                        )
                    else:
                        yield number, _sized(header, values, raw)
                    continue
                # A multi-line record of the wrong width: a stray quote swallowed lines.
                number, first = feed.resync()
                yield number, BadLine(kept_raw(first), _UNBALANCED)
                break
            else:
                return
        except _Overrun:
            number, first = feed.resync()
            yield number, BadLine(kept_raw(first), _UNBALANCED)
        except _Overlong as exc:
            if feed.taken:
                feed.pending.appendleft(exc.args[0])
                number, first = feed.resync()
                yield number, BadLine(kept_raw(first), _UNBALANCED)
            else:
                yield _long_line(feed, exc.args[0])
        except csv.Error:
            if not feed.taken:
                raise UnreadableInput(f"{name}: not readable as CSV") from None
            number, first = feed.resync()
            yield number, BadLine(kept_raw(first), "not valid CSV")


def _swallows_rows(lines: list[str], dialect: type[csv.Dialect], width: int) -> bool:
    """True when a continuation line of a multi-line record is a complete row by itself:
    then a stray quote swallowed it, rather than a field holding a line break."""
    return any(len(next(csv.reader([line], dialect), [])) == width for line in lines[1:])


def _long_line(feed: _LineFeed, line: str) -> tuple[int, BadLine]:
    number = feed.start
    feed.start += 1
    return number, BadLine(kept_raw(line), f"line longer than {MAX_LINE_CHARS:,} characters")


def _sized(header: list[str], values: list[str], raw: str) -> dict | BadLine:
    """The row, or a BadLine if one of its values is over MAX_FIELD_CHARS."""
    for name, value in zip(header, values, strict=True):
        if len(value) > MAX_FIELD_CHARS:
            return BadLine(
                kept_raw(raw),
                f"{safe_label(name, 64) or 'a column'}: longer than {MAX_FIELD_CHARS:,} characters",
            )
    return dict(zip(header, values, strict=True))


class _DuplicateKeys(Exception):
    """One JSON object names a key twice, or two keys that differ only in case."""


def _object(pairs: list[tuple[str, object]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKeys(sorted({key for key, _ in pairs if key in seen or seen.add(key)}))
    return value


def json_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in JSON text (strings skipped), without parsing."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def parse_json_object(text: str) -> dict | str:
    """One JSON Lines object with its keys normalised, or the reason it is not one.

    Depth and size are bounded before `json.loads`, so no line can exhaust the stack.
    Raises _DuplicateKeys for keys given twice or differing only in case.
    """
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except _DuplicateKeys:
        raise
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"
    except ValueError as exc:
        if "digits" in str(exc):
            return "not valid JSON (a number with too many digits)"
        return "not valid JSON"
    except Exception as exc:  # noqa: BLE001 - the row firewall: any failure is this row's
        return f"not valid JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return "not a JSON object"
    row = {str(key).strip().lower(): item for key, item in value.items()}
    if len(row) != len(value):
        seen: set[str] = set()
        normalised = [str(key).strip().lower() for key in value]
        raise _DuplicateKeys(sorted({key for key in normalised if key in seen or seen.add(key)}))
    return row


def _jsonl_rows(name: str, feed: _LineFeed) -> Iterator[tuple[int, dict | BadLine]]:
    number = feed.start - 1
    while True:
        try:
            text = next(feed)
        except StopIteration:
            return
        except _Overlong as exc:
            number += 1
            feed.taken = []
            reason = f"line longer than {MAX_LINE_CHARS:,} characters"
            yield number, BadLine(kept_raw(exc.args[0]), reason)
            continue
        number += 1
        feed.taken = []
        if not text.strip():
            continue
        try:
            row = parse_json_object(text)
        except _DuplicateKeys as exc:
            names = ", ".join(safe_label(str(key)) for key in exc.args[0])
            raise UnreadableInput(
                f"{name} line {number}: duplicate keys (case and spaces ignored) among: {names}; "
                "each key may appear once"
            ) from None
        if row.__class__ is str:
            yield number, BadLine(kept_raw(text), row)
        else:
            yield number, row
