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

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from monitor.core.errors import ReportError
from monitor.core.timeutil import as_utc
from monitor.statistics.known_at import replayed_rows
from monitor.statistics.ticket_query import (
    FLAG_COLUMNS,
    NULL_TIME,
    OPTIONAL_COLUMNS,
    PROFILE_FIELDS,
    PROFILE_SEPARATOR,
    TIME_FIELDS,
    TIME_WIDTH,
    TicketQuery,
)
from monitor.store.reading import read_snapshot

NULL_US = int(np.datetime64(NULL_TIME, "us").astype(np.int64))
HOUR_US = 3_600_000_000


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
    `network` columns are empty unless asked for; with `url_hash` the frame also keeps
    `reported_at` and `removed_at` (int64 us, `NULL_US` when empty) for matching reports
    of the same url_hash (monitor.statistics.reappearance).
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
    reported_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    removed_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.clock_start)

    @property
    def in_curve(self) -> np.ndarray:
        """Tickets that enter the Kaplan-Meier curves (all but those removed before notice)."""
        return ~self.removed_before_notice

    def clock_within(self, start: datetime, end: datetime) -> np.ndarray:
        """Tickets whose clock started in [start, end)."""
        return (self.clock_start >= to_us(start)) & (self.clock_start < to_us(end))

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
        for name in ("url_hash", "reported_at", "removed_at"):
            column = getattr(self, name)
            if len(column) == len(self):
                changes[name] = column[mask]
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
    with read_snapshot(engine) as reader:
        query = TicketQuery(engine.dialect, tuple(columns), known_at)
        window = {"as_of": as_of, "start": start, "end": end}
        expected, full_scan = query.window_size(reader, **window)
        builder = _FrameBuilder(tuple(columns), expected_rows=expected or 0)
        sql, params = query.current_rows(**window, full_scan=full_scan)
        _parse_while_fetching(reader.chunks(sql, params), builder)
        if known_at is not None:
            builder.add_rows(replayed_rows(reader, query))
    return builder.frame(as_of=as_of, known_at=known_at, start=as_utc(start), end=as_utc(end))


# One odd multiplier per 8-byte word of a url_hash (the splitmix64 / murmur3 constants).
_WORD_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)


def hash_keys(url_hash: np.ndarray) -> np.ndarray:
    """A 64-bit key per url_hash (S64): the sum of its eight words times odd multipliers
    (one integer matrix product, wrapping modulo 2**64), then splitmix64's finaliser so
    every bit of the key depends on every word. Equal hashes have equal keys; different
    hashes rarely do, and a crafted pair can: `hash_codes` checks."""
    n = len(url_hash)
    words = np.ascontiguousarray(url_hash, dtype="S64").view(np.uint64).reshape(n, 8)
    key = words @ _WORD_MULTIPLIERS
    key ^= key >> np.uint64(30)
    key *= np.uint64(0xBF58476D1CE4E5B9)
    key ^= key >> np.uint64(27)
    key *= np.uint64(0x94D049BB133111EB)
    key ^= key >> np.uint64(31)
    return key


def hash_codes(url_hash: np.ndarray) -> np.ndarray:
    """Integer codes of url_hashes (S64): equal codes exactly for equal hashes.

    The tickets are sorted by their `hash_keys` with the row number packed into the low
    bits (a plain sort of integers, several times faster than an argsort, let alone a sort
    of 64-byte strings). Neighbours with the same key are compared byte for byte; a group
    holding two different hashes (keys collide by chance or by a crafted pair) is split
    exactly with `np.unique`. Codes are below 2 * len(url_hash), not necessarily dense.
    """
    n = len(url_hash)
    if n == 0:
        return np.zeros(0, np.int64)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (hash_keys(url_hash) >> bits << bits) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)
    top = packed >> bits
    same_key = top[1:] == top[:-1]
    code_sorted = np.zeros(n, np.int64)
    np.cumsum(~same_key, out=code_sorted[1:])
    codes = np.empty(n, np.int64)
    codes[order] = code_sorted
    pairs = np.flatnonzero(same_key)
    differ = url_hash[order[pairs]] != url_hash[order[pairs + 1]]
    if differ.any():
        mixed = np.flatnonzero(np.isin(codes, code_sorted[pairs[differ]]))
        exact = np.unique(url_hash[mixed], return_inverse=True)[1].reshape(-1)
        codes[mixed] = int(code_sorted[-1]) + 1 + exact
    return codes


def positions_in(table: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """For each url_hash of `queries`, its index in `table` (distinct S64), -1 when absent."""
    codes = hash_codes(np.concatenate((table, queries)))
    position = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, np.int64)
    position[codes[: len(table)]] = np.arange(len(table))
    return position[codes[len(table) :]]


def distinct_hashes(url_hash: np.ndarray) -> np.ndarray:
    """The distinct url_hashes (S64), in no particular order."""
    _, first = np.unique(hash_codes(url_hash), return_index=True)
    return url_hash[first]


AFTER_WINDOW_READ = 2  # read the tickets after the window in order up to this many per hash


def load_reports_outside(
    frame: TicketFrame, engine: Engine, *, hashes: np.ndarray, after: int
) -> TicketFrame:
    """Tickets with one of `hashes` (distinct S64) reported after `after` (us)
    and by the frame's `as_of`, as known at its `known_at`, that `frame` does not hold (clock
    start outside its window), with `url_hash`, `reported_at`, `removed_at` and the profile columns.

    Without `known_at` the index counts decide how: none outside (the tickets reported in
    (after, as_of] are all in the frame) costs one count; the tickets after the window are
    read in clock order when they are few beside the hashes; whatever remains (clock start
    before the window: a notice dated before its report) is found by url_hash lookups.
    """
    as_of, known_at = frame.as_of, frame.known_at
    as_of_us = to_us(as_of)
    builder = _FrameBuilder(("url_hash",))
    after_time = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(after))
    query = TicketQuery(engine.dialect, ("url_hash",), known_at)
    lookup = {"after": after_time, "as_of": as_of, "start": frame.start}

    def hash_list() -> list[str]:
        return [value.decode("ascii") for value in hashes.tolist()]

    with read_snapshot(engine) as reader:
        if not len(hashes):
            pass
        elif known_at is not None:
            sql, params = query.reports_outside_window(hashes=hash_list(), **lookup, end=frame.end)
            for rows in reader.chunks(sql, params):
                builder.add_rows(rows)
            builder.add_rows(replayed_rows(reader, query))  # K's values decide, filtered below
        else:
            held = int(
                np.count_nonzero((frame.reported_at > after) & (frame.reported_at <= as_of_us))
            )
            outside = query.count_reported(reader, after=after_time, as_of=as_of) - held
            only_before = False
            if outside > 0:
                cap = AFTER_WINDOW_READ * len(hashes) + 1
                if query.count_after_window(reader, as_of=as_of, end=frame.end, cap=cap) < cap:
                    sql, params = query.reports_after_window(
                        after=after_time, as_of=as_of, end=frame.end
                    )
                    for rows in reader.chunks(sql, params):
                        builder.add_rows(rows)
                        outside -= len(rows)
                    only_before = True
            if outside > 0 and not (only_before and frame.start is None):
                sql, params = query.reports_outside_window(
                    hashes=hash_list(), **lookup, end=frame.end, only_before=only_before
                )
                for rows in reader.chunks(sql, params):
                    builder.add_rows(rows)
    found = builder.frame(as_of=as_of, known_at=known_at, start=None, end=None, keep_all=True)
    if not len(found):
        return found
    upper = as_of_us + 1 if frame.end is None else min(as_of_us + 1, to_us(frame.end))
    inside = found.clock_start < upper
    if frame.start is not None:
        inside &= found.clock_start >= to_us(frame.start)
    keep = (
        ~inside
        & (found.reported_at > after)
        & (found.reported_at <= as_of_us)
        & (positions_in(hashes, found.url_hash) >= 0)
    )
    return found.select(keep)


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


class _FrameBuilder:
    """Turns chunks of rows into numpy columns, coding each distinct profile once.

    With `expected_rows` (the window's count, known on SQLite) the columns are allocated
    once and each chunk is written into place by the parsing thread, while the database
    produces the next chunk: no joining of ten million rows' pieces afterwards (for the
    64-byte url_hash that join cost more than a second at ten million tickets). Rows beyond
    the expected count (replayed history) go on as pieces.
    """

    def __init__(self, columns: tuple[str, ...], expected_rows: int = 0):
        self.columns = columns
        self.fixed_width = TIME_WIDTH * len(TIME_FIELDS) + (64 if "url_hash" in columns else 0)
        self.profiles: dict[str, int] = {}
        self.parts: dict[str, list[np.ndarray]] = {"times": [], "url_hash": [], "profile": []}
        self.filled = 0
        self.placed: dict[str, np.ndarray] | None = None
        if expected_rows > 0:
            self.placed = {
                "times": np.empty((expected_rows, len(TIME_FIELDS)), np.int64),
                "profile": np.empty(expected_rows, np.int32),
            }
            if "url_hash" in columns:
                self.placed["url_hash"] = np.empty(expected_rows, "S64")

    def _store(self, times: np.ndarray, hashes: np.ndarray | None, profile: np.ndarray) -> None:
        """Keep one chunk's columns: in place while they fit, else as pieces."""
        count = len(times)
        placed = self.placed
        if placed is not None and self.filled + count > len(placed["times"]):
            for name, column in placed.items():  # more rows than counted: pieces from here
                self.parts[name].append(column[: self.filled])
            self.placed = placed = None
        if placed is None:
            self.parts["times"].append(times)
            if hashes is not None:
                self.parts["url_hash"].append(np.ascontiguousarray(hashes).view("S64").ravel())
            self.parts["profile"].append(profile)
            return
        end = self.filled + count
        placed["times"][self.filled : end] = times
        if hashes is not None:
            placed["url_hash"][self.filled : end].view(np.uint8).reshape(count, 64)[:] = hashes
        placed["profile"][self.filled : end] = profile
        self.filled = end

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
        mapping = self.profiles
        for value in dict.fromkeys(profiles):  # the few distinct profiles, in order of appearance
            if value not in mapping:
                mapping[value] = len(mapping)
        self._store(
            times.astype("datetime64[us]").view(np.int64),
            fixed[:, width:] if "url_hash" in self.columns else None,
            np.fromiter(map(mapping.__getitem__, profiles), np.int32, len(rows)),
        )

    def _joined(self, name: str, empty: np.ndarray) -> np.ndarray:
        if self.placed is not None:
            return self.placed[name][: self.filled]
        parts = self.parts[name]
        if len(parts) == 1:
            return parts[0]
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

    def frame(
        self, *, as_of: datetime, known_at, start, end, keep_all: bool = False
    ) -> TicketFrame:
        """Compute clock start and durations, and keep the tickets in the window (all the
        rows read with `keep_all`: the query chose them)."""
        times = self._joined("times", np.zeros((0, len(TIME_FIELDS)), np.int64))
        reported, notified, removed, checked = (times[:, i] for i in range(len(TIME_FIELDS)))
        has_notice, has_removal = notified != NULL_US, removed != NULL_US
        clock = np.where(has_notice, notified, reported)
        as_of_us = to_us(as_of)
        window = clock <= as_of_us if not keep_all else np.ones(len(clock), bool)
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
            reported_at=reported if "url_hash" in self.columns else np.zeros(0, np.int64),
            removed_at=removed if "url_hash" in self.columns else np.zeros(0, np.int64),
        )
        return frame if window.all() else frame.select(window)
