"""The SELECT that reads tickets for a frame, and the read snapshot it runs in.

Split from `ticket_frame` so that `known_at` (which replays tickets changed after K with
the same query) and `ticket_frame` (which parses what both read) do not import each other.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa

from monitor.core.timeutil import as_utc
from monitor.store.models import Ticket, ticket_with_resolution_sql
from monitor.store.reading import SnapshotReader

UNKNOWN_PROVIDER = "unknown"
TIME_WIDTH = 26  # "YYYY-MM-DD HH:MM:SS.ffffff", SQLAlchemy's SQLite storage format
NULL_TIME = "0001-01-01 00:00:00.000000"
FULL_SCAN_SHARE = 0.2  # a window with this share of the table or more is read by a full scan
TIME_FIELDS = ("reported_at", "notified_at", "removed_at", "checked_at")
FLAG_COLUMNS = ("eu", "inhope", "cdn")
OPTIONAL_COLUMNS = ("url_hash", "source", "network")
TICKET = Ticket.__table__


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
            # Tickets changed after known_at are read apart and replayed
            # (monitor.statistics.known_at).
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

    def _upper(self, as_of: datetime, end: datetime | None) -> datetime:
        upper = as_utc(as_of) + timedelta(microseconds=1)
        return upper if end is None else min(upper, as_utc(end))

    def reports_outside_window(
        self,
        *,
        hashes: list[str],
        after: datetime,
        as_of: datetime,
        start: datetime | None,
        end: datetime | None,
        only_before: bool = False,
    ):
        """SQL and parameters of the tickets with one of `hashes` reported in (after, as_of]
        whose clock start is outside the window (`window`'s tickets are in the frame already;
        `only_before`: before the window's start only): the later reports of removed items
        that a period's frame does not hold. One index lookup per hash; the list goes as one
        parameter (JSON for SQLite, an array for PostgreSQL) however long it is."""
        clock = "coalesce(notified_at, reported_at)"
        values: dict[str, object] = {
            "upper": self.bind_time(self._upper(as_of, end)),
            "after": self.bind_time(after),
            "as_of": self.bind_time(as_of),
        }
        inside = [f"{clock} < :upper"]
        if start is not None:
            inside.append(f"{clock} >= :start")
            values["start"] = self.bind_time(start)
        outside = f"{clock} < :start" if only_before else f"NOT ({' AND '.join(inside)})"
        if self.dialect == "sqlite":
            values["hashes"] = json.dumps(hashes)
            in_hashes = "url_hash IN (SELECT value FROM json_each(:hashes))"
        else:
            values["hashes"] = hashes
            in_hashes = "url_hash = ANY(:hashes)"
        where = [in_hashes, "reported_at > :after AND reported_at <= :as_of", outside]
        if self.known_at is not None:
            where.append("first_learnt_at <= :known_at AND last_learnt_at <= :known_at")
        table = ticket_with_resolution_sql()
        return self.compile(
            f"SELECT {self.select_list()} FROM {table} WHERE {' AND '.join(where)}", values
        )

    def reports_after_window(self, *, after: datetime, as_of: datetime, end: datetime | None):
        """SQL and parameters of the tickets reported in (after, as_of] whose clock starts
        after the window (by the clock-start index, in order; no `known_at`)."""
        clock = "coalesce(notified_at, reported_at)"
        values = {
            "upper": self.bind_time(self._upper(as_of, end)),
            "after": self.bind_time(after),
            "as_of": self.bind_time(as_of),
        }
        where = f"{clock} >= :upper AND reported_at > :after AND reported_at <= :as_of"
        table = ticket_with_resolution_sql()
        return self.compile(f"SELECT {self.select_list()} FROM {table} WHERE {where}", values)

    def count_reported(self, reader: SnapshotReader, *, after: datetime, as_of: datetime) -> int:
        """Tickets reported in (after, as_of], counted on the reported_at index alone."""
        values = {"after": self.bind_time(after), "as_of": self.bind_time(as_of)}
        sql, params = self.compile(
            "SELECT count(*) FROM ticket WHERE reported_at > :after AND reported_at <= :as_of",
            values,
        )
        return int(reader.scalar(sql, params))

    def count_after_window(
        self, reader: SnapshotReader, *, as_of: datetime, end: datetime | None, cap: int
    ) -> int:
        """Tickets whose clock starts after the window, counted on the clock-start index up
        to `cap` (so a long history after the window costs no more than `cap` entries)."""
        values = {"upper": self.bind_time(self._upper(as_of, end)), "cap": cap}
        sql, params = self.compile(
            "SELECT count(*) FROM (SELECT 1 FROM ticket "
            "WHERE coalesce(notified_at, reported_at) >= :upper LIMIT :cap) AS after_window",
            values,
        )
        return int(reader.scalar(sql, params))

    def window_size(self, reader: SnapshotReader, **window) -> tuple[int | None, bool]:
        """How many tickets lie in the window as stored now (counted on the index; None on
        PostgreSQL, whose planner decides alone), and whether that is at least a fifth of
        the table (then a full scan reads them fastest)."""
        if self.dialect != "sqlite":
            return None, False
        where, values = self.window(**window)
        sql, params = self.compile(f"SELECT count(*) FROM ticket WHERE {where}", values)
        inside = int(reader.scalar(sql, params))
        total = reader.scalar("SELECT coalesce(max(id) - min(id) + 1, 0) FROM ticket", ())
        return inside, inside >= FULL_SCAN_SHARE * total > 0

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
