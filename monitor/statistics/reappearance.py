"""Re-appearance: removed content reported again, per provider where it was removed.

Removed content that comes back is not a success (Project Arachnid found it came back in
about half the cases). Definitions (docs/fair-comparisons.md):

- A removed item is a ticket of the period (clock start `notified_at`, else `reported_at`,
  in [from, to) and not after `as_of`, as for the scorecard) whose removal was confirmed
  at or before `as_of`, content gone before the notice included.
- It re-appeared when a later ticket (any source) with the same `url_hash` was reported
  strictly after that removal and at or before `as_of`; the first such ticket counts.
- Time to re-appearance is in days from the removal; an item not reported again is
  censored at `as_of`. Kaplan-Meier (monitor.statistics.survival) gives the share back within 30
  and 90 days with 95 % intervals; counts within 30 / 90 days and at all are as observed.
- Where it came back, from the first re-report's resolution: `same_provider`, else
  `other_inside` (another provider, hosted in the EU or an INHOPE country), `outside`
  (neither EU nor INHOPE), or `unknown` (hosting not resolved or membership unknown).

With `known_at` the tickets are taken as the monitor knew them then
(monitor.statistics.known_at), so a published figure can be re-derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Engine

from monitor.statistics import survival
from monitor.statistics.periods import Period
from monitor.statistics.ticket_frame import (
    NULL_US,
    TicketFrame,
    hash_codes,
    load_frame,
    load_reports_outside,
    positions_in,
    to_us,
)

DAY_US = 86_400_000_000
WINDOWS = (30, 90)
WHERE = ("same_provider", "other_inside", "outside", "unknown")


@dataclass(frozen=True)
class RemovalTickets:
    """The tickets that can take part: removed tickets of the period and every ticket with
    the same url_hash reported by `as_of`, as numpy columns."""

    as_of_us: int
    start_us: int
    upper_us: int
    hash_code: np.ndarray  # int64, equal exactly for equal url_hash (ticket_frame.hash_codes)
    reported: np.ndarray  # int64 us
    clock: np.ndarray
    removed: np.ndarray  # NULL_US when not removed
    provider: np.ndarray  # int codes into provider_labels
    provider_labels: np.ndarray  # sorted str: canonical provider (stated, else unknown)
    eu: np.ndarray  # int8: 1, 0, -1 unknown
    inhope: np.ndarray

    def __len__(self) -> int:
        return len(self.reported)


def removal_tickets(frame: TicketFrame, engine: Engine, *, period: Period) -> RemovalTickets:
    """The tickets that take part, from a frame read with the `url_hash` column whose window
    holds `period` (the scorecard's frame: no second pass over the tickets), and the later
    reports of its removed items that lie outside the frame's window (reported after the
    period's end, say), read by one indexed query for just their url_hashes."""
    if len(frame) and len(frame.url_hash) != len(frame):
        raise ValueError("the ticket frame was read without the url_hash column")
    as_of_us = to_us(frame.as_of)
    upper_us = min(to_us(period.end), as_of_us + 1)
    start_us = to_us(period.start)
    removed = frame.removed_at
    item = (
        (frame.clock_start >= start_us)
        & (frame.clock_start < upper_us)
        & (removed != NULL_US)
        & (removed <= as_of_us)
        & (frame.reported_at <= as_of_us)
    )
    # One exact code per url_hash; only the hashes of removed items matter.
    codes = hash_codes(frame.url_hash)
    item_rows = np.flatnonzero(item)
    of_item = np.zeros(int(codes.max()) + 1 if len(codes) else 0, bool)
    of_item[codes[item_rows]] = True
    item_codes = np.flatnonzero(of_item)
    one_row = np.zeros(len(of_item), np.int64)
    one_row[codes[item_rows]] = item_rows  # a row of each removed item's url_hash
    hashes = frame.url_hash[one_row[item_codes]]
    outside = load_reports_outside(
        frame,
        engine,
        hashes=hashes,
        after=int(removed[item_rows].min()) if len(item_rows) else as_of_us,
    )
    rows = np.flatnonzero(of_item[codes] & (frame.reported_at <= as_of_us))
    labels = np.unique(
        np.concatenate([part.provider.labels.astype(str) for part in (frame, outside)])
    )

    def joined(name: str) -> np.ndarray:
        return np.concatenate((getattr(frame, name)[rows], getattr(outside, name)))

    def provider(part: TicketFrame, codes: np.ndarray) -> np.ndarray:
        return np.searchsorted(labels, part.provider.labels.astype(str))[codes]

    # Every report outside the frame has one of `hashes` (load_reports_outside keeps no other).
    outside_codes = item_codes[positions_in(hashes, outside.url_hash)] if len(outside) else []
    return RemovalTickets(
        as_of_us=as_of_us,
        start_us=start_us,
        upper_us=upper_us,
        hash_code=np.concatenate((codes[rows], np.asarray(outside_codes, np.int64))),
        reported=joined("reported_at"),
        clock=joined("clock_start"),
        removed=joined("removed_at"),
        provider=np.concatenate(
            (provider(frame, frame.provider.codes[rows]), provider(outside, outside.provider.codes))
        ),
        provider_labels=labels,
        eu=joined("eu"),
        inhope=joined("inhope"),
    )


@dataclass(frozen=True)
class Reappearance:
    """Per removed item: provider, days to re-appearance (or to `as_of`), event, where."""

    provider: np.ndarray  # int codes into provider_labels
    provider_labels: np.ndarray  # sorted str
    days: np.ndarray  # float
    event: np.ndarray  # bool: reported again by as_of
    where: np.ndarray  # int8 index into WHERE, -1 when not back


def match_reappearances(tickets: RemovalTickets) -> Reappearance:
    """For each removed item of the period, the first later report of its url_hash.

    One sort of reports and removals by (url_hash, time, reports before removals): the
    first report after a removal in that order is the first one strictly later (a report
    at the very moment of the removal does not count as coming back). Items are returned
    in no particular order.
    """
    removed_item = (
        (tickets.clock >= tickets.start_us)
        & (tickets.clock < tickets.upper_us)
        & (tickets.removed != NULL_US)
        & (tickets.removed <= tickets.as_of_us)
    )
    items = np.flatnonzero(removed_item)
    hash_code = tickets.hash_code
    # An item whose url_hash has no other ticket cannot come back: only the others are sorted.
    shared = np.bincount(hash_code)[hash_code] >= 2 if len(hash_code) else np.zeros(0, bool)
    reports = np.flatnonzero(shared)
    alone = items[~shared[items]]
    items = items[shared[items]]
    code = np.concatenate((hash_code[reports], hash_code[items]))
    time = np.concatenate((tickets.reported[reports], tickets.removed[items]))
    kind = np.concatenate((np.zeros(len(reports), np.int8), np.ones(len(items), np.int8)))
    row = np.concatenate((reports, items))
    # Time and kind as one key (microseconds since 1970 stay below 2**52): reports before
    # removals at the same moment, and a stable sort of two keys instead of three.
    order = np.lexsort((time * 2 + kind, code))
    code, time, kind, row = code[order], time[order], kind[order], row[order]
    size = len(order)
    position = np.where(kind == 0, np.arange(size), size)
    following = np.minimum.accumulate(position[::-1])[::-1]  # first report at or after i
    removal_at = np.flatnonzero(kind == 1)
    item_row = row[removal_at]
    nxt = following[removal_at]
    found = nxt < size
    found[found] = code[nxt[found]] == code[removal_at[found]]
    back_row = np.where(found, row[np.minimum(nxt, size - 1)], -1) if size else nxt
    item_row = np.concatenate((item_row, alone))
    found = np.concatenate((found, np.zeros(len(alone), bool)))
    back_row = np.concatenate((back_row, np.full(len(alone), -1, back_row.dtype)))
    removal_time = tickets.removed[item_row]
    end = np.where(found, tickets.reported[np.maximum(back_row, 0)], tickets.as_of_us)
    days = (end - removal_time) / DAY_US
    where = np.full(len(item_row), -1, np.int8)
    if found.any():
        back = back_row[found]
        same = tickets.provider[back] == tickets.provider[item_row[found]]
        same &= ~np.char.startswith(tickets.provider_labels[tickets.provider[back]], "unknown")
        inside = (tickets.eu[back] == 1) | (tickets.inhope[back] == 1)
        outside = (tickets.eu[back] == 0) & (tickets.inhope[back] == 0)
        where[found] = np.select([same, inside, outside], [0, 1, 2], default=3)
    return Reappearance(
        provider=tickets.provider[item_row],
        provider_labels=tickets.provider_labels,
        days=days,
        event=found,
        where=where,
    )


def _share(
    curves: survival.Curves, days: float, durations: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, ...]:
    """1 - S(days) with its 95 % band; where nothing came back by `days` the log(-log) band
    is [0, 0], which overclaims, so the Clopper-Pearson interval for 0 of the n items
    followed for at least `days` is used instead: [0, 1 - 0.025 ** (1 / n)]."""
    share, low, high = survival.removed_within(curves, days)
    followed = np.bincount(groups[durations >= days], minlength=curves.n_groups)
    none_back = (share == 0) & (followed > 0)
    with np.errstate(divide="ignore"):
        upper = 1.0 - 0.025 ** (1.0 / np.maximum(followed, 1))
    high = np.where(none_back, upper, high)
    low = np.where(none_back, 0.0, low)
    return share, low, high


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def reappearance_figures(matched: Reappearance) -> dict[str, dict]:
    """Per provider (and `all`): counts within 30 / 90 days and at all, where they came back,
    and the Kaplan-Meier share back within 30 and 90 days with 95 % intervals."""
    # Providers that have removed items, numbered 0.. in label order (a count per label
    # instead of a sort of every item).
    counts = np.bincount(matched.provider, minlength=len(matched.provider_labels))
    present = np.flatnonzero(counts)
    number = np.zeros(len(counts), np.int64)
    number[present] = np.arange(len(present))
    codes = number[matched.provider]
    labels = matched.provider_labels[present]
    names = [*labels.tolist(), "all"]
    total_code = len(labels)
    figures = {}
    # One sort of the durations for both calls (the order of equal durations does not
    # change a curve: tied times form one step whatever their order).
    by_days = np.argsort(matched.days)
    for group_codes, n_groups, offset in (
        (codes, len(labels), 0),
        (np.zeros(len(codes), np.int64), 1, total_code),
    ):
        curves = survival.kaplan_meier(
            matched.days, matched.event, group_codes, n_groups, duration_order=by_days
        )
        shares = {w: _share(curves, float(w), matched.days, group_codes) for w in WINDOWS}
        removed = np.bincount(group_codes, minlength=n_groups)
        back = np.bincount(group_codes, weights=matched.event, minlength=n_groups)
        within = {
            w: np.bincount(
                group_codes, weights=matched.event & (matched.days <= w), minlength=n_groups
            )
            for w in WINDOWS
        }
        where = np.zeros((n_groups, len(WHERE)), np.int64)
        np.add.at(where, (group_codes[matched.event], matched.where[matched.event]), 1)
        for g in range(n_groups):
            entry = {
                "removed": int(removed[g]),
                "reappeared": int(back[g]),
                "reappeared_30d": int(within[30][g]),
                "reappeared_90d": int(within[90][g]),
            }
            for w in WINDOWS:
                share, low, high = shares[w]
                entry[f"reappeared_{w}d_share"] = _number(share[g])
                entry[f"reappeared_{w}d_share_ci"] = [_number(low[g]), _number(high[g])]
            entry["reappeared_where"] = {name: int(where[g, i]) for i, name in enumerate(WHERE)}
            figures[names[offset + g]] = entry
    return figures


def reappearance_from_frame(frame: TicketFrame, engine: Engine, *, period: Period) -> dict:
    """Re-appearance figures of `period` from a ticket frame read with `url_hash` whose
    window holds the period (as the scorecard's does), per provider and `all`."""
    return reappearance_figures(match_reappearances(removal_tickets(frame, engine, period=period)))


def compute_reappearance(
    engine: Engine, *, period: Period, as_of: datetime, known_at: datetime | None = None
) -> dict[str, dict]:
    """Re-appearance figures of `period` as of `as_of` (and as known at `known_at`), per
    provider and `all`."""
    frame = load_frame(
        engine,
        as_of=as_of,
        known_at=known_at,
        start=period.start,
        end=period.end,
        columns=("url_hash",),
    )
    return reappearance_from_frame(frame, engine, period=period)
