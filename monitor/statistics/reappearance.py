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
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc
from monitor.statistics import survival
from monitor.statistics.periods import Period
from monitor.statistics.ticket_frame import NULL_US, TIME_WIDTH, TicketQuery, read_snapshot, to_us

DAY_US = 86_400_000_000
WINDOWS = (30, 90)
WHERE = ("same_provider", "other_inside", "outside", "unknown")
_SEPARATOR = "\x1f"
_FIXED = 64 + 3 * TIME_WIDTH


@dataclass(frozen=True)
class RemovalTickets:
    """The tickets that can take part: removed tickets of the period and every ticket with
    the same url_hash reported by `as_of`, as numpy columns."""

    as_of_us: int
    start_us: int
    upper_us: int
    url_hash: np.ndarray  # S64
    reported: np.ndarray  # int64 us
    clock: np.ndarray
    removed: np.ndarray  # NULL_US when not removed
    provider: np.ndarray  # object, canonical provider (stated, else unknown)
    eu: np.ndarray  # int8: 1, 0, -1 unknown
    inhope: np.ndarray

    def __len__(self) -> int:
        return len(self.reported)


def _columns(query: TicketQuery) -> tuple[str, list[str]]:
    """The three times as fixed-width text, and the profile values (provider, eu, inhope);
    with `known_at`, a resolution made after it counts as none (`TicketQuery.resolved`)."""
    times = " || ".join(
        query.time_text(f"ticket.{name}") for name in ("reported_at", "notified_at", "removed_at")
    )
    flags = [
        query.resolved(f"r.{name}" if query.dialect == "sqlite" else f"CAST(r.{name} AS INTEGER)")
        for name in ("eu", "inhope")
    ]
    return times, [query.resolved("r.provider"), *flags]


def _profile(query: TicketQuery, values: list[str]) -> str:
    if query.dialect == "sqlite":
        return f"printf('%s{_SEPARATOR}%s{_SEPARATOR}%s', {', '.join(values)})"
    return " || chr(31) || ".join(f"coalesce(CAST({v} AS TEXT), '')" for v in values)


def _query(query: TicketQuery, *, full_scan: bool = False) -> str:
    """Tickets in the row shape (url_hash + times, profile). Without `known_at`: only the
    url_hashes with a removal in the period (an index lookup each). With `known_at` every
    ticket known at K unchanged since (a later change can move a removal or a url_hash;
    the changed ones are replayed apart)."""
    times, (provider, *flags) = _columns(query)
    profile = _profile(query, [f"coalesce({provider}, ticket.stated_provider, 'unknown')", *flags])
    # A period holding much of the table is read faster in storage order than through the
    # url_hash index, one random row at a time (SQLite; 200 k tickets: 1.3 s against 2.1 s).
    hint = " NOT INDEXED" if full_scan and query.dialect == "sqlite" else ""
    select = (
        f"SELECT ticket.url_hash || {times}, {profile} FROM ticket{hint} "
        "LEFT JOIN ticket_resolution r ON r.id = ticket.id WHERE ticket.reported_at <= :as_of"
    )
    if query.known_at is not None:
        return select + " AND first_learnt_at <= :known_at AND last_learnt_at <= :known_at"
    clock = "coalesce(notified_at, reported_at)"
    removed_in_period = (
        f"SELECT url_hash FROM ticket{hint} WHERE {clock} >= :start AND {clock} < :upper "
        "AND removed_at IS NOT NULL AND removed_at <= :as_of"
    )
    return f"{select} AND ticket.url_hash IN ({removed_in_period})"


def _replayed(reader, query: TicketQuery) -> list[tuple[str, str]]:
    """Tickets known at K but changed since, in the row shape, with K's values
    (monitor.statistics.known_at: the old value of the earliest event after K per field)."""
    from monitor.statistics.known_at import _earliest_old_values, _stored_time

    _, (provider, eu, inhope) = _columns(query)
    times = [query.time_text(f"ticket.{n}") for n in ("reported_at", "notified_at", "removed_at")]
    sql, params = query.compile(
        f"SELECT ticket.source, ticket.ticket_id, ticket.url_hash, {', '.join(times)}, "
        f"ticket.stated_provider, {provider}, {eu}, {inhope} FROM ticket "
        "LEFT JOIN ticket_resolution r ON r.id = ticket.id "
        "WHERE first_learnt_at <= :known_at AND last_learnt_at > :known_at",
        {},
    )
    tickets = [row for rows in reader.chunks(sql, params) for row in rows]
    if not tickets:
        return []
    old = _earliest_old_values(reader, query, {(row[0], row[1]) for row in tickets})
    names = ("url_hash", "reported_at", "notified_at", "removed_at", "stated_provider")
    shaped = []
    for row in tickets:
        values = dict(zip(names, row[2:7], strict=True))
        for name, old_value in old.get((row[0], row[1]), {}).items():
            if name in values:
                values[name] = _stored_time(old_value) if name.endswith("_at") else old_value
        fixed = values["url_hash"] + values["reported_at"] + values["notified_at"]
        fixed += values["removed_at"]
        name = row[7] or values["stated_provider"] or "unknown"
        flags = ["" if flag is None else str(int(flag)) for flag in row[8:10]]
        shaped.append((fixed, _SEPARATOR.join([name, *flags])))
    return shaped


def load_removal_tickets(
    engine: Engine, *, period: Period, as_of: datetime, known_at: datetime | None = None
) -> RemovalTickets:
    """Read the removed tickets of `period` and their url_hash's other tickets, as they were
    known at `known_at` when given."""
    as_of = as_utc(as_of)
    upper = min(as_utc(period.end), as_of + timedelta(microseconds=1))
    query = TicketQuery(engine.dialect, (), as_utc(known_at))
    with read_snapshot(engine) as reader:
        full_scan = query.window_is_most_of_the_table(
            reader, as_of=as_of, start=period.start, end=period.end
        )
    sql, params = query.compile(
        _query(query, full_scan=full_scan),
        {
            "start": query.bind_time(period.start),
            "upper": query.bind_time(upper),
            "as_of": query.bind_time(as_of),
        },
    )
    fixed_parts, profile_parts, profiles = [], [], {}

    def add(rows) -> None:
        fixed, profile = zip(*rows, strict=True)
        fixed_parts.append("".join(fixed).encode("ascii"))
        for value in dict.fromkeys(profile):
            profiles.setdefault(value, len(profiles))
        profile_parts.append(np.fromiter(map(profiles.__getitem__, profile), np.int32))

    with read_snapshot(engine) as reader:
        for rows in reader.chunks(sql, params):
            add(rows)
        if known_at is not None and (replayed := _replayed(reader, query)):
            add(replayed)
    raw = np.frombuffer(b"".join(fixed_parts), dtype=np.uint8).reshape(-1, _FIXED)
    url_hash = np.ascontiguousarray(raw[:, :64]).view("S64").ravel()
    times = (
        np.ascontiguousarray(raw[:, 64:]).view(f"S{TIME_WIDTH}").astype("datetime64[us]")
    ).view(np.int64)
    codes = np.concatenate(profile_parts) if profile_parts else np.zeros(0, np.int32)
    decoded = [value.split(_SEPARATOR) for value in profiles]
    provider = np.empty(len(decoded), dtype=object)
    provider[:] = [fields[0] for fields in decoded]

    def flag(position: int) -> np.ndarray:
        return np.array([int(f[position]) if f[position] else -1 for f in decoded], np.int8)

    reported, notified, removed = (times[:, i] for i in range(3))
    keep = reported <= to_us(as_of)  # replayed tickets were not filtered by the query
    codes, url_hash, reported, notified, removed = (
        a[keep] for a in (codes, url_hash, reported, notified, removed)
    )
    return RemovalTickets(
        as_of_us=to_us(as_of),
        start_us=to_us(period.start),
        upper_us=to_us(upper),
        url_hash=url_hash,
        reported=reported,
        clock=np.where(notified != NULL_US, notified, reported),
        removed=removed,
        provider=provider[codes] if len(decoded) else np.zeros(0, object),
        eu=flag(1)[codes] if len(decoded) else np.zeros(0, np.int8),
        inhope=flag(2)[codes] if len(decoded) else np.zeros(0, np.int8),
    )


@dataclass(frozen=True)
class Reappearance:
    """Per removed item: provider, days to re-appearance (or to `as_of`), event, where."""

    provider: np.ndarray  # object
    days: np.ndarray  # float
    event: np.ndarray  # bool: reported again by as_of
    where: np.ndarray  # int8 index into WHERE, -1 when not back
    url_hash: np.ndarray


def match_reappearances(tickets: RemovalTickets) -> Reappearance:
    """For each removed item of the period, the first later report of its url_hash.

    One sort of reports and removals by (url_hash, time, reports before removals): the
    first report after a removal in that order is the first one strictly later (a report
    at the very moment of the removal does not count as coming back).
    """
    removed_item = (
        (tickets.clock >= tickets.start_us)
        & (tickets.clock < tickets.upper_us)
        & (tickets.removed != NULL_US)
        & (tickets.removed <= tickets.as_of_us)
    )
    items = np.flatnonzero(removed_item)
    _, hash_code = np.unique(tickets.url_hash, return_inverse=True)
    n = len(tickets)
    code = np.concatenate((hash_code, hash_code[items]))
    time = np.concatenate((tickets.reported, tickets.removed[items]))
    kind = np.concatenate((np.zeros(n, np.int8), np.ones(len(items), np.int8)))
    row = np.concatenate((np.arange(n), items))
    order = np.lexsort((kind, time, code))
    code, time, kind, row = code[order], time[order], kind[order], row[order]
    size = len(order)
    position = np.where(kind == 0, np.arange(size), size)
    following = np.minimum.accumulate(position[::-1])[::-1]  # first report at or after i
    removal_at = np.flatnonzero(kind == 1)
    item_row = row[removal_at]
    nxt = following[removal_at]
    found = nxt < size
    found[found] = code[nxt[found]] == code[removal_at[found]]
    back_row = np.where(found, row[np.minimum(nxt, size - 1)], -1)
    removal_time = tickets.removed[item_row]
    end = np.where(found, tickets.reported[np.maximum(back_row, 0)], tickets.as_of_us)
    days = (end - removal_time) / DAY_US
    where = np.full(len(item_row), -1, np.int8)
    if found.any():
        back = back_row[found]
        same = tickets.provider[back] == tickets.provider[item_row[found]]
        same &= ~np.char.startswith(tickets.provider[back].astype(str), "unknown")
        inside = (tickets.eu[back] == 1) | (tickets.inhope[back] == 1)
        outside = (tickets.eu[back] == 0) & (tickets.inhope[back] == 0)
        where[found] = np.select([same, inside, outside], [0, 1, 2], default=3)
    return Reappearance(
        provider=tickets.provider[item_row],
        days=days,
        event=found,
        where=where,
        url_hash=tickets.url_hash[item_row],
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
    labels, codes = np.unique(matched.provider.astype(str), return_inverse=True)
    names = [*labels.tolist(), "all"]
    total_code = len(labels)
    figures = {}
    for group_codes, n_groups, offset in (
        (codes, len(labels), 0),
        (np.zeros(len(codes), np.int64), 1, total_code),
    ):
        curves = survival.kaplan_meier(matched.days, matched.event, group_codes, n_groups)
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


def compute_reappearance(
    engine: Engine, *, period: Period, as_of: datetime, known_at: datetime | None = None
) -> dict[str, dict]:
    """Re-appearance figures of `period` as of `as_of` (and as known at `known_at`), per
    provider and `all`."""
    tickets = load_removal_tickets(engine, period=period, as_of=as_of, known_at=known_at)
    return reappearance_figures(match_reappearances(tickets))
