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
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import ReportError
from monitor.models import Ticket, ticket_with_resolution_sql
from monitor.timeutil import as_utc

UNKNOWN_PROVIDER = "unknown"
TIME_WIDTH = 26  # "YYYY-MM-DD HH:MM:SS.ffffff", SQLAlchemy's SQLite storage format
NULL_TIME = "0001-01-01 00:00:00.000000"
NULL_US = int(np.datetime64(NULL_TIME, "us").astype(np.int64))
HOUR_US = 3_600_000_000
FETCH_ROWS = 65_536
FULL_SCAN_SHARE = 0.2  # a window with this share of the table or more is read by a full scan
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
    1 yes, 0 no, -1 unknown; `asn` is -1 when unknown, `asn_codes` indexes the sorted
    distinct `asn_values` (-1 unknown). `duration_hours` is NaN for tickets
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
    asn_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    asn_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
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
            "asn_codes",
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
        window = {"as_of": as_of, "start": start, "end": end}
        full_scan = query.window_is_most_of_the_table(reader, **window)
        sql, params = query.current_rows(**window, full_scan=full_scan)
        _parse_while_fetching(reader.chunks(sql, params), builder)
        if known_at is not None:
            from monitor.known_at import replayed_rows

            builder.add_rows(replayed_rows(reader, query))
    return builder.frame(as_of=as_of, known_at=known_at, start=as_utc(start), end=as_utc(end))


def _parse_while_fetching(chunks: Iterator[list[tuple]], builder: _FrameBuilder) -> None:
    """Parse each chunk in a helper thread while the database produces the next one.

    The drivers run their query work without holding the GIL (sqlite3_step, libpq), so
    parsing one chunk overlaps with fetching the next. One helper keeps the chunk order.
    """
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ticket-frame") as pool:
        for rows in chunks:
            pending.append(pool.submit(builder.add_rows, rows))
            while len(pending) > 2:
                pending.popleft().result()
        while pending:
            pending.popleft().result()


class SnapshotReader:
    """Runs queries in one read snapshot through the driver's own cursors."""

    def __init__(self, raw, dialect: str):
        self.raw = raw
        self.dialect = dialect

    def scalar(self, sql: str, params):
        """The single value of a small query."""
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
        finally:
            cursor.close()

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

    Two values per row keep the per-row work of the database driver small:
    1. fixed-width text: the four times (`NULL_TIME` when empty), then url_hash if asked;
    2. the profile: provider, country, network, source, ASN, eu, inhope, cdn joined by
       U+001F (empty when unknown or not asked; flags 1 or 0). Tickets share few
       profiles, so each distinct profile is decoded once.
    """

    def __init__(
        self, dialect: sa.engine.Dialect, columns: tuple[str, ...], known_at: datetime | None
    ):
        self.sa_dialect = dialect
        self.dialect = dialect.name
        self.columns = columns
        self.known_at = known_at

    def time_text(self, column: str) -> str:
        """A time column as its fixed-width text."""
        if self.dialect == "sqlite":
            return f"ifnull({column}, '{NULL_TIME}')"
        text = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        return f"coalesce({text}, '{NULL_TIME}')"

    def bind_time(self, value: datetime) -> object:
        """A time as the driver compares it with the stored column."""
        value = as_utc(value)
        if self.dialect == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def resolved(self, column: str) -> str:
        """A resolution column, or NULL when the resolution came after `known_at`."""
        if self.known_at is None:
            return column
        return f"CASE WHEN resolved_at <= :known_at THEN {column} END"

    def profile(self) -> str:
        """Provider, country, network, source and ASN joined by U+001F (see PROFILE_FIELDS)."""
        values = [
            f"coalesce({self.resolved('provider')}, stated_provider, '{UNKNOWN_PROVIDER}')",
            f"coalesce({self.resolved('country')}, stated_country)",
            self.resolved("network") if "network" in self.columns else "NULL",
            "source" if "source" in self.columns else "NULL",
            self.resolved("asn"),
            *(
                self.resolved(name if self.dialect == "sqlite" else f"CAST({name} AS INTEGER)")
                for name in FLAG_COLUMNS
            ),
        ]
        if self.dialect == "sqlite":
            # printf: one call instead of eight concatenations; NULL prints as ''.
            template = PROFILE_SEPARATOR.join(["%s"] * len(values))
            return f"printf('{template}', {', '.join(values)})"
        texts = [f"coalesce(CAST({value} AS TEXT), '')" for value in values]
        return " || chr(31) || ".join(texts)

    def select_list(self) -> str:
        fixed = " || ".join(self.time_text(name) for name in TIME_FIELDS)
        if "url_hash" in self.columns:
            fixed += " || url_hash"
        return f"{fixed}, {self.profile()}"

    def window(self, *, as_of: datetime, start: datetime | None, end: datetime | None):
        """WHERE conditions and parameters of the tickets in the window (index-friendly)."""
        clock = "coalesce(notified_at, reported_at)"
        # "not after as_of" and "before end" as one bound: the earlier of end and as_of + 1 us.
        upper = as_utc(as_of) + timedelta(microseconds=1)
        if end is not None:
            upper = min(upper, as_utc(end))
        where = [f"{clock} < :upper"]
        values: dict[str, object] = {"upper": self.bind_time(upper)}
        if start is not None:
            where.append(f"{clock} >= :start")
            values["start"] = self.bind_time(start)
        if self.known_at is not None:
            # Tickets changed after known_at are read apart and replayed (monitor.known_at).
            where.append("first_learnt_at <= :known_at AND last_learnt_at <= :known_at")
        return " AND ".join(where), values

    def current_rows(
        self,
        *,
        as_of: datetime,
        start: datetime | None,
        end: datetime | None,
        full_scan: bool = False,
    ):
        """SQL and parameters of the tickets in the window, with their values as stored now.

        The clock-start index (migration 0006) serves a window that is a small part of the
        table; `full_scan` reads the table in storage order instead, which is much faster
        when the window holds most tickets (SQLite only; PostgreSQL's planner decides).
        """
        where, values = self.window(as_of=as_of, start=start, end=end)
        hint = "NOT INDEXED" if full_scan and self.dialect == "sqlite" else ""
        table = ticket_with_resolution_sql(hint)
        return self.compile(f"SELECT {self.select_list()} FROM {table} WHERE {where}", values)

    def window_is_most_of_the_table(self, reader: SnapshotReader, **window) -> bool:
        """True when at least a fifth of the tickets lie in the window (counted on the index)."""
        if self.dialect != "sqlite":
            return False
        where, values = self.window(**window)
        sql, params = self.compile(f"SELECT count(*) FROM ticket WHERE {where}", values)
        inside = reader.scalar(sql, params)
        total = reader.scalar("SELECT coalesce(max(id) - min(id) + 1, 0) FROM ticket", ())
        return inside >= FULL_SCAN_SHARE * total > 0

    def compile(self, sql: str, values: dict[str, object]):
        """`:name` parameters in the driver's own style, with `known_at` bound when used."""
        if self.known_at is not None and ":known_at" in sql:
            values = {**values, "known_at": self.bind_time(self.known_at)}
        compiled = sa.text(sql).compile(dialect=self.sa_dialect)
        if compiled.positional:
            return str(compiled), tuple(values[name] for name in compiled.positiontup)
        return str(compiled), {name: values[name] for name in compiled.params}


PROFILE_FIELDS = ("provider", "country", "network", "source", "asn", *FLAG_COLUMNS)
PROFILE_SEPARATOR = "\x1f"


def profile_text(
    provider: str,
    country: str | None,
    network: str | None,
    source: str | None,
    asn: int | None,
    flags: tuple[object, object, object],
) -> str:
    """The profile of one ticket as `TicketQuery.profile` builds it in SQL."""
    values = [
        provider,
        country,
        network,
        source,
        asn,
        *(None if f is None else int(f) for f in flags),
    ]
    return PROFILE_SEPARATOR.join("" if value is None else str(value) for value in values)


class _FrameBuilder:
    """Turns chunks of rows into numpy columns, coding each distinct profile once."""

    def __init__(self, columns: tuple[str, ...]):
        self.columns = columns
        self.fixed_width = TIME_WIDTH * len(TIME_FIELDS) + (64 if "url_hash" in columns else 0)
        self.profiles: dict[str, int] = {}
        self.parts: dict[str, list[np.ndarray]] = {"times": [], "url_hash": [], "profile": []}

    def add_rows(self, rows: list[tuple]) -> None:
        """Parse one chunk of rows in the `TicketQuery` shape."""
        if not rows:
            return
        fixed_texts, profiles = zip(*rows, strict=True)
        text = "".join(fixed_texts).encode("ascii")
        if len(text) != self.fixed_width * len(rows):
            raise ReportError(
                "unexpected timestamp format in the ticket table (expected UTC to microseconds)"
            )
        fixed = np.frombuffer(text, dtype=np.uint8).reshape(len(rows), self.fixed_width)
        width = TIME_WIDTH * len(TIME_FIELDS)
        times = np.ascontiguousarray(fixed[:, :width]).view(f"S{TIME_WIDTH}")
        self.parts["times"].append(times.astype("datetime64[us]").view(np.int64))
        if "url_hash" in self.columns:
            self.parts["url_hash"].append(
                np.ascontiguousarray(fixed[:, width:]).view("S64").ravel()
            )
        mapping = self.profiles
        for value in dict.fromkeys(profiles):  # the few distinct profiles, in order of appearance
            if value not in mapping:
                mapping[value] = len(mapping)
        self.parts["profile"].append(
            np.fromiter(map(mapping.__getitem__, profiles), np.int32, len(rows))
        )

    def _joined(self, name: str, empty: np.ndarray) -> np.ndarray:
        parts = self.parts[name]
        return np.concatenate(parts) if parts else empty

    def _profile_columns(self, codes: np.ndarray) -> dict:
        """Per ticket columns decoded from its profile (each distinct profile decoded once)."""
        fields = []
        for profile in self.profiles:
            values = profile.split(PROFILE_SEPARATOR)
            if len(values) != len(PROFILE_FIELDS):
                raise ReportError(f"a provider or network name contains U+001F: {profile!r}")
            fields.append(dict(zip(PROFILE_FIELDS, values, strict=True)))

        def per_ticket(values: list, dtype) -> np.ndarray:
            return np.array(values, dtype=dtype)[codes] if fields else np.zeros(0, dtype)

        columns = {}
        for name in ("provider", "country", "network", "source"):
            labels: dict = {}
            of_profile = [labels.setdefault(f[name] or None, len(labels)) for f in fields]
            label_array = np.empty(len(labels), dtype=object)
            label_array[:] = list(labels)
            columns[name] = Categorical(per_ticket(of_profile, np.int32), label_array)
        asn = np.array([int(f["asn"]) if f["asn"] else -1 for f in fields], dtype=np.int64)
        columns["asn"] = per_ticket(asn, np.int64)
        values, code_of_profile = np.unique(asn, return_inverse=True)
        unknown = int((values < 0).sum())  # -1 sorts first
        columns["asn_values"] = values[unknown:]
        columns["asn_codes"] = per_ticket(code_of_profile - unknown, np.int32)
        for name in FLAG_COLUMNS:
            columns[name] = per_ticket([int(f[name]) if f[name] else -1 for f in fields], np.int8)
        return columns

    def frame(self, *, as_of: datetime, known_at, start, end) -> TicketFrame:
        """Compute clock start and durations, and keep the tickets in the window."""
        times = self._joined("times", np.zeros((0, len(TIME_FIELDS)), np.int64))
        reported, notified, removed, checked = (times[:, i] for i in range(len(TIME_FIELDS)))
        has_notice, has_removal = notified != NULL_US, removed != NULL_US
        clock = np.where(has_notice, notified, reported)
        as_of_us = to_us(as_of)
        window = clock <= as_of_us
        if start is not None:
            window &= clock >= to_us(start)
        if end is not None:
            window &= clock < to_us(end)
        before_notice = has_removal & has_notice & (removed < notified)
        event = has_removal & (removed <= as_of_us) & ~before_notice
        censored_at = np.where((checked != NULL_US) & (checked <= as_of_us), checked, as_of_us)
        end_us = np.where(event, removed, censored_at)
        duration = np.maximum(end_us - clock, 0) / HOUR_US
        duration[before_notice] = np.nan
        profiles = self._profile_columns(self._joined("profile", np.zeros(0, np.int32)))
        frame = TicketFrame(
            as_of=as_of,
            known_at=known_at,
            start=start,
            end=end,
            clock_start=clock,
            duration_hours=duration,
            event=event,
            removed_before_notice=before_notice,
            provider=profiles["provider"],
            country=profiles["country"],
            asn=profiles["asn"],
            asn_codes=profiles["asn_codes"],
            asn_values=profiles["asn_values"],
            eu=profiles["eu"],
            inhope=profiles["inhope"],
            cdn=profiles["cdn"],
            network=profiles["network"] if "network" in self.columns else _empty_categorical(),
            source=profiles["source"] if "source" in self.columns else _empty_categorical(),
            url_hash=self._joined("url_hash", np.zeros(0, "S64"))
            if "url_hash" in self.columns
            else np.zeros(0, "S64"),
        )
        return frame if window.all() else frame.select(window)
