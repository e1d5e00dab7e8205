"""Tickets as numpy columns for the survival statistics, as they stood at a point in time.

`load_frame` reads only the columns the statistics need, straight from the database
cursor (no ORM object, no datetime object per ticket), and computes per ticket:

- clock start: `notified_at`, else `reported_at` (INTERFACE.md section 3);
- event: removed at or before `as_of`; otherwise censored at `checked_at` when that is
  not after `as_of`, else at `as_of`. A censoring time before the clock start (content
  last checked before the notice went out) counts as 0 hours of follow-up;
- removed before notice (`removed_at` < `notified_at`): flagged, no duration, kept out of
  the curves and counted apart;
- the grouping columns. An unresolved ticket falls back to what the hotline stated: its
  provider is `stated_provider` (else "unknown") and its country `stated_country` (else
  unknown); its ASN, network, EU/INHOPE membership and CDN flag stay unknown.

`known_at` re-derives a past figure exactly: tickets first learnt after it are left out,
a tracked field changed after it is set back to the old value of its earliest later
event, and a resolution made after it is ignored (the ticket counts as unresolved).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import ReportError
from monitor.models import Ticket
from monitor.timeutil import as_utc

UNKNOWN_PROVIDER = "unknown"
TIME_WIDTH = 26  # "YYYY-MM-DD HH:MM:SS.ffffff", SQLAlchemy's SQLite storage format
NULL_TIME = "0001-01-01 00:00:00.000000"
NULL_US = int(np.datetime64(NULL_TIME, "us").astype(np.int64))
HOUR_US = 3_600_000_000
FETCH_ROWS = 65_536
TIME_FIELDS = ("reported_at", "notified_at", "removed_at", "checked_at")
FLAG_COLUMNS = ("eu", "inhope", "cdn")
OPTIONAL_COLUMNS = ("url_hash", "source", "network")
TICKET = Ticket.__table__


@dataclass(frozen=True)
class Categorical:
    """A text column as integer codes into `labels` (None is a label: unknown)."""

    codes: np.ndarray
    labels: np.ndarray

    def values(self) -> np.ndarray:
        """One label per ticket (an object array)."""
        return self.labels[self.codes]


def _empty_categorical() -> Categorical:
    return Categorical(np.zeros(0, np.int32), np.array([], dtype=object))


@dataclass(frozen=True)
class TicketFrame:
    """One entry per ticket whose clock started by `as_of` (and in [start, end) when given).

    Times are int64 microseconds since 1970-01-01 UTC. `eu`, `inhope`, `cdn` are int8:
    1 yes, 0 no, -1 unknown; `asn` is -1 when unknown. `duration_hours` is NaN for tickets
    removed before notice (use `in_curve`). `url_hash` (bytes) and the `source` and
    `network` columns are empty unless asked for.
    """

    as_of: datetime
    known_at: datetime | None
    start: datetime | None
    end: datetime | None
    clock_start: np.ndarray
    duration_hours: np.ndarray
    event: np.ndarray
    removed_before_notice: np.ndarray
    provider: Categorical
    country: Categorical
    asn: np.ndarray
    eu: np.ndarray
    inhope: np.ndarray
    cdn: np.ndarray
    network: Categorical = field(default_factory=_empty_categorical)
    source: Categorical = field(default_factory=_empty_categorical)
    url_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, "S64"))

    def __len__(self) -> int:
        return len(self.clock_start)

    @property
    def in_curve(self) -> np.ndarray:
        """Tickets that enter the Kaplan-Meier curves (all but those removed before notice)."""
        return ~self.removed_before_notice

    @property
    def clock_start_seconds(self) -> np.ndarray:
        """Clock start as float seconds since the epoch (for datetime.timestamp() comparisons)."""
        return self.clock_start / 1e6

    def select(self, mask: np.ndarray) -> TicketFrame:
        """The tickets where `mask` is true (a boolean array or index array)."""
        changes = {}
        for name in (
            "clock_start",
            "duration_hours",
            "event",
            "removed_before_notice",
            "asn",
            "eu",
            "inhope",
            "cdn",
        ):
            changes[name] = getattr(self, name)[mask]
        for name in ("provider", "country", "network", "source"):
            column = getattr(self, name)
            if len(column.codes) == len(self):
                changes[name] = Categorical(column.codes[mask], column.labels)
        if len(self.url_hash) == len(self):
            changes["url_hash"] = self.url_hash[mask]
        return replace(self, **changes)


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, no float rounding)."""
    delta = as_utc(value) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def load_frame(
    engine: Engine,
    *,
    as_of: datetime,
    known_at: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] = OPTIONAL_COLUMNS,
) -> TicketFrame:
    """Tickets whose clock start lies in [start, end) and not after `as_of`, as numpy columns.

    `columns` names the optional columns to load (`url_hash`, `source`, `network`); the
    scorecard leaves out what it does not show to keep ten million tickets fast.
    """
    unknown = set(columns) - set(OPTIONAL_COLUMNS)
    if unknown:
        raise ValueError(f"unknown optional columns {sorted(unknown)}")
    as_of = as_utc(as_of)
    known_at = as_utc(known_at)
    builder = _FrameBuilder(tuple(columns))
    with read_snapshot(engine) as reader:
        query = TicketQuery(engine.dialect, tuple(columns), known_at)
        for rows in reader.chunks(*query.current_rows(as_of=as_of, start=start, end=end)):
            builder.add_rows(rows)
        if known_at is not None:
            from monitor.known_at import replayed_rows

            builder.add_rows(replayed_rows(reader, query))
    return builder.frame(as_of=as_of, known_at=known_at, start=as_utc(start), end=as_utc(end))


class SnapshotReader:
    """Runs queries in one read snapshot through the driver's own cursors."""

    def __init__(self, raw, dialect: str):
        self.raw = raw
        self.dialect = dialect

    def chunks(self, sql: str, params) -> Iterator[list[tuple]]:
        """The rows of one query, in lists of up to FETCH_ROWS, streamed from the server."""
        if self.dialect == "postgresql":
            cursor = self.raw.driver_connection.cursor(name="ticket_frame")
        else:
            cursor = self.raw.cursor()
        # Millions of short-lived row tuples would set off the cyclic garbage collector
        # over and over; none of them can form a cycle, so it is paused while reading.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield rows
        finally:
            if was_enabled:
                gc.enable()
            cursor.close()


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[SnapshotReader]:
    """Driver cursors in one read-only snapshot, without taking SQLite's write lock.

    The engine opens its own transactions with BEGIN IMMEDIATE (right for writers); a
    scorecard over millions of tickets must not hold up an ingest meanwhile, so it reads
    in a deferred transaction (SQLite, WAL) or a read-only repeatable-read one (PostgreSQL).
    """
    raw = engine.raw_connection()
    dialect = engine.dialect.name
    began = False
    try:
        if dialect == "sqlite":
            raw.cursor().execute("BEGIN")
        else:
            raw.driver_connection.execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
        began = True
        yield SnapshotReader(raw, dialect)
    finally:
        try:
            if began and dialect == "sqlite":
                raw.cursor().execute("COMMIT")
            else:
                raw.rollback()
        finally:
            raw.close()


class TicketQuery:
    """The SELECT that reads tickets in the row shape `_FrameBuilder` parses, per dialect.

    Row: fixed-width text (four times, then url_hash if asked), provider, country, asn,
    flags (eu + 3 inhope + 9 cdn, 2 = unknown), then network and source if asked.
    """

    def __init__(
        self, dialect: sa.engine.Dialect, columns: tuple[str, ...], known_at: datetime | None
    ):
        self.sa_dialect = dialect
        self.dialect = dialect.name
        self.columns = columns
        self.known_at = known_at

    def time_text(self, column: str) -> str:
        if self.dialect == "sqlite":
            return f"ifnull({column}, '{NULL_TIME}')"
        text = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        return f"coalesce({text}, '{NULL_TIME}')"

    def bind_time(self, value: datetime) -> object:
        value = as_utc(value)
        if self.dialect == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def resolved(self, column: str) -> str:
        """A resolution column, or NULL when the resolution came after `known_at`."""
        if self.known_at is None:
            return column
        return f"CASE WHEN resolved_at <= :known_at THEN {column} END"

    def flag(self, column: str) -> str:
        value = column if self.dialect == "sqlite" else f"CAST({column} AS INTEGER)"
        return f"coalesce({self.resolved(value)}, 2)"

    def select_list(self) -> str:
        fixed = " || ".join(self.time_text(name) for name in TIME_FIELDS)
        if "url_hash" in self.columns:
            fixed += " || url_hash"
        items = [
            fixed,
            f"coalesce({self.resolved('provider')}, stated_provider, '{UNKNOWN_PROVIDER}')",
            f"coalesce({self.resolved('country')}, stated_country)",
            f"coalesce({self.resolved('asn')}, -1)",
            " + ".join(
                f"{weight} * {self.flag(name)}"
                for weight, name in zip((1, 3, 9), FLAG_COLUMNS, strict=True)
            ),
        ]
        if "network" in self.columns:
            items.append(self.resolved("network"))
        if "source" in self.columns:
            items.append("source")
        return ", ".join(items)

    def current_rows(self, *, as_of: datetime, start: datetime | None, end: datetime | None):
        """SQL and parameters of the tickets in the window, with their values as stored now."""
        where = ["coalesce(notified_at, reported_at) <= :as_of"]
        values: dict[str, object] = {"as_of": self.bind_time(as_of)}
        if start is not None:
            where.append("coalesce(notified_at, reported_at) >= :start")
            values["start"] = self.bind_time(start)
        if end is not None:
            where.append("coalesce(notified_at, reported_at) < :end")
            values["end"] = self.bind_time(end)
        if self.known_at is not None:
            # Tickets changed after known_at are read apart and replayed (monitor.known_at).
            where.append("first_learnt_at <= :known_at AND last_learnt_at <= :known_at")
        return self.compile(
            f"SELECT {self.select_list()} FROM ticket WHERE {' AND '.join(where)}", values
        )

    def compile(self, sql: str, values: dict[str, object]):
        """`:name` parameters in the driver's own style, with `known_at` bound when used."""
        if self.known_at is not None and ":known_at" in sql:
            values = {**values, "known_at": self.bind_time(self.known_at)}
        compiled = sa.text(sql).compile(dialect=self.sa_dialect)
        if compiled.positional:
            return str(compiled), tuple(values[name] for name in compiled.positiontup)
        return str(compiled), {name: values[name] for name in compiled.params}


class _FrameBuilder:
    """Turns chunks of rows into numpy columns, coding text columns as it goes."""

    def __init__(self, columns: tuple[str, ...]):
        self.columns = columns
        self.fixed_width = TIME_WIDTH * len(TIME_FIELDS) + (64 if "url_hash" in columns else 0)
        self.text_columns = ["provider", "country"] + [
            name for name in ("network", "source") if name in columns
        ]
        self.codes: dict[str, dict] = {name: {} for name in self.text_columns}
        self.parts: dict[str, list[np.ndarray]] = {}

    def _append(self, name: str, array: np.ndarray) -> None:
        self.parts.setdefault(name, []).append(array)

    def add_rows(self, rows: list[tuple]) -> None:
        """Parse one chunk of rows in the `TicketQuery` shape."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        text = "".join(columns[0]).encode("ascii")
        if len(text) != self.fixed_width * len(rows):
            raise ReportError(
                "unexpected timestamp format in the ticket table (expected UTC to microseconds)"
            )
        fixed = np.frombuffer(text, dtype=np.uint8).reshape(len(rows), self.fixed_width)
        times = np.ascontiguousarray(fixed[:, : TIME_WIDTH * len(TIME_FIELDS)]).view(
            f"S{TIME_WIDTH}"
        )
        self._append("times", times.astype("datetime64[us]").view(np.int64))
        if "url_hash" in self.columns:
            self._append("url_hash", np.ascontiguousarray(fixed[:, -64:]).view("S64").ravel())
        for index, name in zip((1, 2), ("provider", "country"), strict=True):
            self._append(name, self._code(name, columns[index]))
        self._append("asn", np.array(columns[3], dtype=np.int64))
        self._append("flags", np.array(columns[4], dtype=np.int8))
        for offset, name in enumerate(
            name for name in ("network", "source") if name in self.columns
        ):
            self._append(name, self._code(name, columns[5 + offset]))

    def _code(self, name: str, values: tuple) -> np.ndarray:
        mapping = self.codes[name]
        for value in dict.fromkeys(values):  # the few distinct values, in order of appearance
            if value not in mapping:
                mapping[value] = len(mapping)
        return np.fromiter(map(mapping.__getitem__, values), np.int32, len(values))

    def _joined(self, name: str, shape_tail=(), dtype=np.int64) -> np.ndarray:
        parts = self.parts.get(name)
        if not parts:
            return np.zeros((0, *shape_tail), dtype=dtype)
        return np.concatenate(parts)

    def _categorical(self, name: str) -> Categorical:
        labels = np.empty(len(self.codes[name]), dtype=object)
        labels[:] = list(self.codes[name])
        return Categorical(self._joined(name, dtype=np.int32), labels)

    def frame(self, *, as_of: datetime, known_at, start, end) -> TicketFrame:
        """Compute clock start, durations and flags, and keep the tickets in the window."""
        times = self._joined("times", (len(TIME_FIELDS),))
        reported, notified, removed, checked = (times[:, i] for i in range(len(TIME_FIELDS)))
        has_notice, has_removal, has_check = (
            notified != NULL_US,
            removed != NULL_US,
            checked != NULL_US,
        )
        clock = np.where(has_notice, notified, reported)
        as_of_us = to_us(as_of)
        window = clock <= as_of_us
        if start is not None:
            window &= clock >= to_us(start)
        if end is not None:
            window &= clock < to_us(end)
        before_notice = has_removal & has_notice & (removed < notified)
        event = has_removal & (removed <= as_of_us) & ~before_notice
        censored_at = np.where(has_check & (checked <= as_of_us), checked, as_of_us)
        end_us = np.where(event, removed, censored_at)
        duration = np.maximum(end_us - clock, 0) / HOUR_US
        duration[before_notice] = np.nan
        flags = self._joined("flags", dtype=np.int8)
        eu, inhope, cdn = (((flags // weight) % 3).astype(np.int8) for weight in (1, 3, 9))
        for array in (eu, inhope, cdn):
            array[array == 2] = -1
        frame = TicketFrame(
            as_of=as_of,
            known_at=known_at,
            start=start,
            end=end,
            clock_start=clock,
            duration_hours=duration,
            event=event,
            removed_before_notice=before_notice,
            provider=self._categorical("provider"),
            country=self._categorical("country"),
            asn=self._joined("asn"),
            eu=eu,
            inhope=inhope,
            cdn=cdn,
            network=self._categorical("network")
            if "network" in self.columns
            else _empty_categorical(),
            source=self._categorical("source")
            if "source" in self.columns
            else _empty_categorical(),
            url_hash=self._joined("url_hash", dtype="S64")
            if "url_hash" in self.columns
            else np.zeros(0, "S64"),
        )
        return frame if window.all() else frame.select(window)
