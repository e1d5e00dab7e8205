"""What the pages show, fetched from the stage functions: the workbench computes no figure
of its own.

Scorecards come from a stored snapshot when one covers the period (a closed period's
published figures), else from `monitor.statistics.scorecard.compute_scorecard`. Heavy results (a
scorecard, the briefing's monthly shares, a provider's history) are cached in the process
per (what, period, generation). A generation is the page's stated moment `as_of` (the one
the reader gave, or now floored to `AS_OF_STEP`) with a data stamp that changes with every
ingest run and every scheduled job run, so a cached figure is the figure the stage function
gives for that as_of with the data the monitor held then.

Without an explicit as_of, a page is served from the newest generation whose default
figures are computed ("ready"); when time or data have moved on, the next generation is
computed in a background thread meanwhile, and the page says its figures are being
refreshed. Every page states its as_of. Changes made in the workbench empty the cache.
Every read goes through the read-only engine.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from monitor.core.timeutil import as_utc, iso, parse_timestamp, utcnow
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period
from monitor.web.storage import Engines

AS_OF_STEP = timedelta(minutes=15)
CACHE_ENTRIES = 64
SNAPSHOT_SEARCH = 200
QUARANTINE_ROWS = 500


def floor_time(moment: datetime, step: timedelta = AS_OF_STEP) -> datetime:
    """`moment` rounded down to a multiple of `step` (UTC)."""
    moment = as_utc(moment)
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return moment - ((moment - epoch) % step)


@dataclass(frozen=True)
class Generation:
    """The moment a page's figures are as of, and the state of the data they were taken from."""

    as_of: datetime
    stamp: tuple
    explicit: bool = False
    stale: bool = False


class Cache:
    """A small thread-safe LRU: one computation per key at a time, bounded entries."""

    def __init__(self, size: int = CACHE_ENTRIES):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.key_locks: dict = {}

    def get(self, key, compute):
        """The cached value of `key`, computing it (once, even when asked concurrently)."""
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self.lock:
                if key in self.entries:
                    return self.entries[key]
            value = compute()
            with self.lock:
                self.entries[key] = value
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
                self.key_locks.pop(key, None)
            return value

    def clear(self) -> None:
        """Forget everything (after a change made through the workbench)."""
        with self.lock:
            self.entries.clear()


class Workbench:
    """The data behind the pages, from the stage functions, cached where sound."""

    def __init__(self, engines: Engines, config: StatisticsConfig | None = None):
        self.engines = engines
        self.config = config or StatisticsConfig()
        self.cache = Cache()
        self.lock = threading.Lock()
        self.ready: Generation | None = None
        self.warming: Generation | None = None
        self.threads: list[threading.Thread] = []

    @property
    def read(self):
        return self.engines.read

    # -- moments and freshness -------------------------------------------------------------

    def generation(self, text: str | None = None) -> Generation:
        """The generation of a page: the reader's as_of if given and readable, else the
        newest ready one (see the module docstring), starting a refresh when it is behind."""
        if text:
            try:
                from monitor.core.timeutil import parse_user_time

                return Generation(parse_user_time(text[:40]), self.stamp(), explicit=True)
            except Exception:  # an unreadable as_of falls back to now, stated on the page
                pass
        current = Generation(floor_time(utcnow()), self.stamp())
        with self.lock:
            ready = self.ready
            if ready is None or ready == current:
                return current
            if self.warming != current:
                self.start_warming(current)
        return Generation(ready.as_of, ready.stamp, stale=True)

    def start_warming(self, gen: Generation | None = None) -> threading.Thread:
        """Compute the default pages' figures of `gen` (default: now) in a background thread."""
        gen = gen or Generation(floor_time(utcnow()), self.stamp())
        self.warming = gen
        thread = threading.Thread(target=self._warm, args=(gen,), daemon=True, name="warm")
        self.threads.append(thread)
        thread.start()
        return thread

    def _warm(self, gen: Generation) -> None:
        from monitor.web.periods import current_quarter

        try:
            quarter = current_quarter(gen.as_of)
            for period in (quarter, quarter.previous()):
                scorecard = self.scorecard(period, "provider", gen)
                self.monthly_shares(scorecard, gen)
            self.overdue_count(self.config.overdue_after_hours, gen)
            open_by_provider(self, gen)
            self.provider_frame(self.history_span(gen.as_of), gen)
            self.trend(None, gen)
            self.providers()
        except Exception:  # the page computes what is missing itself; nothing is lost
            logging.getLogger(__name__).warning("workbench warm-up failed", exc_info=True)
            with self.lock:
                self.warming = None
            return
        with self.lock:
            if self.ready is None or self.ready.as_of <= gen.as_of:
                self.ready = gen
            self.warming = None
        try:  # then the other groupings of the providers page, after the default pages
            for period in (quarter, quarter.previous()):
                for by in ("network", "country"):
                    self.scorecard(period, by, gen)
        except Exception:
            logging.getLogger(__name__).warning("workbench warm-up failed", exc_info=True)

    def history_span(self, as_of: datetime) -> Period:
        """The quarters `monitor provider show` covers as of `as_of` (oldest to current)."""
        from monitor.statistics.periods import between
        from monitor.web.periods import current_quarter

        last = first = current_quarter(as_of)
        for _ in range(self.config.history_quarters - 1):
            first = first.previous()
        return between(first.start, last.end)

    def stamp(self) -> tuple:
        """Changes whenever an ingest or a scheduled job has run since."""
        with self.read.connect() as connection:
            runs = connection.execute(sa.text("SELECT max(id) FROM ingest_run")).scalar()
            jobs = connection.execute(sa.text("SELECT max(id) FROM job_run")).scalar()
        return runs, jobs

    def _cached(self, key: tuple, gen: Generation, compute):
        return self.cache.get((*key, gen.as_of, gen.stamp), compute)

    def changed(self) -> None:
        """After a change made here: forget every cached figure and generation."""
        with self.lock:
            self.cache.clear()
            self.ready = None

    # -- scorecards ------------------------------------------------------------------------

    def stored_snapshot(self, period: Period, by: str, as_of: datetime) -> dict | None:
        """The newest stored snapshot of exactly this period and grouping that was taken
        after the period ended and not after `as_of` (a closed period's published figures)."""
        from monitor.statistics.snapshots import list_snapshots, load_snapshot

        if period.end > as_of:
            return None
        for row in list_snapshots(self.read, limit=SNAPSHOT_SEARCH):
            taken = parse_timestamp(row["as_of"])
            if (
                row["period"] == period.label
                and row["by"] == by
                and row["known_at"] is None
                and period.end <= taken <= as_of
            ):
                return load_snapshot(self.read, row["id"])
        return None

    def scorecard(self, period: Period, by: str, gen: Generation) -> dict:
        """The scorecard of `period` grouped `by`: a stored snapshot if one fits, else
        computed, all three groupings at once (one read of the tickets; an analyst who
        switches grouping then waits no more)."""
        from monitor.statistics.scorecard import compute_scorecards

        def compute():
            stored = self.stored_snapshot(period, by, gen.as_of)
            if stored is not None:
                return stored
            every = self._cached(
                ("scorecards", period),
                gen,
                lambda: compute_scorecards(
                    self.read, period=period, as_of=gen.as_of, config=self.config
                ),
            )
            return every[by]

        return self._cached(("scorecard", period, by), gen, compute)

    def monthly_shares(self, scorecard: dict, gen: Generation):
        """The briefing's figures for the scorecard: months by jurisdiction, outside share."""
        from reports.briefing_data import briefing_figures

        key = ("briefing", scorecard["period"]["label"], scorecard["as_of"], scorecard["by"])
        return self._cached(
            key,
            gen,
            lambda: briefing_figures(
                self.read, scorecard, largest=0, trend=False, reappearance=False
            ),
        )

    def overdue_count(self, hours: float, gen: Generation) -> dict:
        """`monitor overdue --limit 0` as of the generation: the count, no notices."""
        return self._cached(("overdue", hours), gen, lambda: self.overdue(hours, gen.as_of, 0))

    def fragment(self, key: tuple, gen: Generation, render):
        """A rendered piece of a page that holds nothing of the reader's (a big table)."""
        return self._cached(("fragment", *key), gen, render)

    # -- one provider ----------------------------------------------------------------------

    def provider_history(self, name: str, gen: Generation) -> dict:
        """`monitor provider show NAME`: the provider's quarters side by side, on the one
        ticket frame every provider page shares (loaded once per generation)."""
        from monitor.statistics.provider_history import provider_history_in_frame

        def compute():
            frame = self.provider_frame(self.history_span(gen.as_of), gen)
            return provider_history_in_frame(frame, name, as_of=gen.as_of, config=self.config)

        return self._cached(("history", name.strip().casefold()), gen, compute)

    def trend(self, provider: str | None, gen: Generation) -> dict:
        """`reports.trend_data.quarterly_trend`: the last four to eight quarters (as many as
        `history_quarters`, at most eight) up to the one holding as_of, of all notices or of
        `provider`; on the provider pages' shared ticket frame when it spans those quarters."""
        from monitor.web.periods import current_quarter
        from reports.trend_data import MAX_QUARTERS, MIN_QUARTERS, quarterly_trend

        count = min(MAX_QUARTERS, max(MIN_QUARTERS, self.config.history_quarters))

        def compute():
            frame = None
            if count == self.config.history_quarters:
                frame = self.provider_frame(self.history_span(gen.as_of), gen)
            return quarterly_trend(
                self.read,
                last=current_quarter(gen.as_of),
                as_of=gen.as_of,
                count=count,
                provider=provider,
                config=self.config,
                frame=frame,
            )

        return self._cached(("trend", provider), gen, compute)

    def reappearance(self, period: Period, gen: Generation) -> dict[str, dict]:
        """`compute_reappearance` of `period` as of the generation: every provider at once."""
        from monitor.statistics.reappearance import compute_reappearance

        return self._cached(
            ("reappearance", period),
            gen,
            lambda: compute_reappearance(self.read, period=period, as_of=gen.as_of),
        )

    def provider_frame(self, period: Period, gen: Generation):
        """The tickets of the provider pages' span (the history quarters up to `as_of`)."""
        from monitor.statistics.ticket_frame import load_frame

        return self._cached(
            ("frame", period),
            gen,
            lambda: load_frame(
                self.read,
                as_of=gen.as_of,
                start=period.start,
                end=period.end,
                columns=("network",),
            ),
        )

    # -- lists -----------------------------------------------------------------------------

    def overdue(self, hours: float, as_of: datetime | None, limit: int | None) -> dict:
        """`monitor overdue`: open notices past `hours`, oldest first (`limit` None: all)."""
        from monitor.statistics.overdue import overdue_notices

        return overdue_notices(self.read, older_than_hours=hours, as_of=as_of, limit=limit)

    def flags(self, *, include_acknowledged: bool) -> list[dict]:
        """`monitor drift list [--all]`: stored drift flags, newest first."""
        from monitor.drift.store import list_flags

        return list_flags(self.read, include_acknowledged=include_acknowledged)

    def providers(self) -> list[dict]:
        """`monitor providers list`: canonical providers, their aliases and ticket counts."""
        from providers.registry import list_providers

        return self.cache.get(("registry", self.stamp()), lambda: list_providers(self.read))

    def reference(self) -> tuple[list[dict], list[dict]]:
        """`monitor reference show` and `--history`: periods in force, and every correction."""
        from providers.jurisdictions import correction_history, reference_rows

        return reference_rows(self.read), correction_history(self.read)

    def snapshots(self, limit: int = 100) -> list[dict]:
        """`monitor snapshots list`: stored scorecards, newest first."""
        from monitor.statistics.snapshots import list_snapshots

        return list_snapshots(self.read, limit=limit)

    def status(self) -> dict:
        """`monitor status`: counts and the last ingest."""
        from monitor.statistics.data_versions import status_with_versions

        return status_with_versions(self.read)

    def quarantine_groups(self) -> list[dict]:
        """Quarantined rows counted by ingest run and reason, newest run first."""
        from monitor.store.models import IngestRun, QuarantinedRow

        QUARANTINE, INGEST_RUN = QuarantinedRow.__table__, IngestRun.__table__

        query = (
            sa.select(
                QUARANTINE.c.run_id,
                QUARANTINE.c.source,
                QUARANTINE.c.origin,
                QUARANTINE.c.reason,
                sa.func.count().label("rows"),
                sa.func.min(QUARANTINE.c.line).label("first_line"),
                INGEST_RUN.c.started_at,
            )
            .select_from(QUARANTINE.outerjoin(INGEST_RUN, INGEST_RUN.c.id == QUARANTINE.c.run_id))
            .group_by(
                QUARANTINE.c.run_id,
                QUARANTINE.c.source,
                QUARANTINE.c.origin,
                QUARANTINE.c.reason,
                INGEST_RUN.c.started_at,
            )
            .order_by(sa.desc(QUARANTINE.c.run_id), sa.desc(sa.func.count()))
            .limit(QUARANTINE_ROWS)
        )
        with self.read.connect() as connection:
            return [
                {**row, "started_at": iso(row["started_at"])}
                for row in connection.execute(query).mappings()
            ]

    def quarantine_rows(self, run_id: int | None = None):
        """Every quarantined row (of one run, or all), oldest first, streamed."""
        from monitor.store.models import QuarantinedRow

        QUARANTINE = QuarantinedRow.__table__
        query = sa.select(
            QUARANTINE.c.run_id,
            QUARANTINE.c.source,
            QUARANTINE.c.origin,
            QUARANTINE.c.line,
            QUARANTINE.c.reason,
            QUARANTINE.c.raw,
            QUARANTINE.c.created_at,
        ).order_by(QUARANTINE.c.id)
        if run_id is not None:
            query = query.where(QUARANTINE.c.run_id == run_id)
        with self.read.connect() as connection:
            yield from connection.execute(query).mappings()


def open_by_provider(bench: Workbench, gen: Generation) -> dict[str, list[dict]]:
    """Every open notice as of `as_of` (`monitor overdue --older-than 0h`), by provider,
    oldest first: the provider pages' list of what is still online."""

    def compute():
        grouped: dict[str, list[dict]] = {}
        for notice in bench.overdue(0.0, gen.as_of, None)["notices"]:
            grouped.setdefault(str(notice["provider"]).casefold(), []).append(notice)
        return grouped

    return bench._cached(("open",), gen, compute)
