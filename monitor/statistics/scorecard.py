"""Provider scorecards: how fast each provider, network or country removes content.

One row per group of notices whose clock started in the period, with the Kaplan-Meier
figures of monitor.statistics.survival (content still online is censored, never "fast"):

- `notices` all tickets of the row; `removed_before_notice` those whose content was gone
  before the notice (kept out of the curve); `removed` and `open` split the rest into
  removals by `as_of` and tickets still online (censored).
- `median_hours`, `p90_hours` with the median's CI; `within_24h` / `within_72h` /
  `within_7d` and the share within each configured norm, with 95 % CIs. A share is null
  when the row's follow-up does not reach that many hours yet.
- `low_volume`: fewer than `min_notices` tickets in the curve. Such rows carry their
  (wide) CIs but no `rank`. `category`: `provider`, or `unknown` / `cdn` (CDN-fronted) for a
  row that is no one provider's performance: those are shown apart and never ranked.
  `rank` orders the provider rows that are not low volume by `within_24h` (higher first),
  then by median (shorter first, none last), then by key.
- `asn`, `country`, `eu`, `inhope`: the most common known value among the row's tickets
  (ties: the smallest ASN / country code, "no" before "yes"). `cdn_share`: share of the
  row's notices of known CDN status that are fronted by a CDN.
- `previous`: notices, median and within-24h share of the same key in the previous period
  (as of the same `as_of`), or null.

Grouping `provider` uses the canonical provider (unresolved tickets: the hotline's stated
provider, else "unknown"); `network` the ASN where known, else the normalised network (AS
organisation) name, so a resolved ticket without an AS number (the embedded offline data
has none) is not `unknown`; `network_id` says which (`AS60781` or the name's source);
`country` the jurisdiction country.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, iso, utcnow
from monitor.statistics import survival
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period
from monitor.statistics.ticket_frame import TicketFrame, load_frame, to_us

GROUPINGS = ("provider", "network", "country")
WITHIN = (("within_24h", 24.0), ("within_72h", 72.0), ("within_7d", 168.0))
TOTAL_KEY = "all"
_MAX_MODE_CELLS = 50_000_000


@dataclass(frozen=True)
class Grouping:
    """Per ticket a group number; per group a stable key and a display name."""

    codes: np.ndarray
    keys: list[str]
    names: list[str]
    kinds: list[str] | None = None


def _ranks(labels) -> np.ndarray:
    """Rank of each label in sorted order (None last), to break ties by label."""
    order = sorted(range(len(labels)), key=lambda i: (labels[i] is None, labels[i] or ""))
    ranks = np.empty(len(labels), dtype=np.int64)
    ranks[order] = np.arange(len(labels))
    return ranks


def _mode(groups: np.ndarray, values: np.ndarray, n_groups: int, n_values: int) -> np.ndarray:
    """Per group the most common value in 0..n_values-1 (ties: smallest), -1 if none.

    Unknown values (-1) never win: they are counted in a column of their own, dropped.
    """
    if n_groups == 0 or n_values == 0 or len(groups) == 0:
        return np.full(n_groups, -1)
    width = n_values + 1
    # n_groups * width <= _MAX_MODE_CELLS keeps these keys inside int32.
    key_type = np.int32 if n_groups * width <= _MAX_MODE_CELLS else np.int64
    keys = groups.astype(key_type) * width
    keys += values
    keys += 1
    if n_groups * width <= _MAX_MODE_CELLS:
        counts = np.bincount(keys, minlength=n_groups * width).reshape(n_groups, width)[:, 1:]
        return np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), -1)
    pairs, counts = np.unique(keys[values >= 0], return_counts=True)
    group_of, value_of = pairs // width, pairs % width - 1
    order = np.lexsort((value_of, -counts, group_of))
    first = np.concatenate(([True], group_of[order][1:] != group_of[order][:-1]))
    result = np.full(n_groups, -1)
    result[group_of[order][first]] = value_of[order][first]
    return result


def _narrow(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Group numbers in the smallest type (16 bits lets the curves radix-sort them)."""
    return codes.astype(np.uint16 if n_groups <= 65536 else np.int64)


def _country_name(code: str | None) -> str:
    if code is None:
        return "unknown"
    from babel import Locale

    return Locale("en").territories.get(code.upper(), code)


class _Attributes:
    """Ticket attributes recoded once per frame for modes and groupings."""

    def __init__(self, frame: TicketFrame):
        self.frame = frame
        self.asn_values, self.asn_codes = frame.asn_values, frame.asn_codes
        self.country_labels = frame.country.labels
        country_rank = _ranks(list(self.country_labels))
        is_none = np.array([label is None for label in self.country_labels], dtype=bool)
        country_rank[is_none] = -1
        self.country_codes = (
            country_rank[frame.country.codes] if len(frame) else np.zeros(0, np.int64)
        )
        self.country_sorted = sorted(label for label in self.country_labels if label is not None)

    def grouping(self, by: str) -> Grouping:
        frame = self.frame
        if by == "provider":
            labels = [str(label) for label in frame.provider.labels]
            return Grouping(_narrow(frame.provider.codes, len(labels)), labels, labels)
        if by == "country":
            labels = list(self.country_labels)
            keys = [label if label is not None else "unknown" for label in labels]
            names = [_country_name(label) for label in labels]
            return Grouping(_narrow(frame.country.codes, len(keys)), keys, names)
        if by == "network":
            return self._network_grouping()
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")

    def _network_grouping(self) -> Grouping:
        """Group by AS number where known, else by the normalised network (AS organisation) name.

        The embedded (offline) network data names the AS organisation but carries no AS
        number, so keying on the ASN alone put every such ticket in `unknown`. Only a ticket
        with neither an AS number nor a network name stays `unknown`.
        """
        frame = self.frame
        n_known = len(self.asn_values)
        keys = [f"AS{int(asn)}" for asn in self.asn_values]
        names = list(keys)
        kinds = ["asn"] * n_known
        codes = np.where(self.asn_codes < 0, -1, self.asn_codes).astype(np.int64)
        if len(frame.network.codes) == len(frame):
            labels = list(frame.network.labels)
            # One group per normalised name among the tickets without an AS number.
            name_group: dict[str, int] = {}
            label_group = np.full(len(labels) + 1, -1, dtype=np.int64)
            for index, label in enumerate(labels):
                key = network_name_key(label)
                if not key:
                    continue
                if key not in name_group:
                    name_group[key] = len(keys)
                    keys.append(f"name:{key}")
                    names.append(display_network(label) or str(label))
                    kinds.append("name")
                label_group[index] = name_group[key]
            by_name = label_group[frame.network.codes]
            codes = np.where(codes < 0, by_name, codes)
            network_rank = _ranks(labels)
            sorted_labels = sorted(labels, key=lambda v: (v is None, v or ""))
            modal = _mode(
                np.where(codes < 0, len(keys), codes),
                network_rank[frame.network.codes],
                len(keys) + 1,
                len(sorted_labels),
            )
            for index in range(len(keys)):  # the most common spelling names the row
                if modal[index] >= 0 and sorted_labels[modal[index]] is not None:
                    label = sorted_labels[modal[index]]
                    names[index] = str(label) if index < n_known else display_network(label)
        codes = np.where(codes < 0, len(keys), codes)
        keys.append("unknown")
        names.append("unknown")
        kinds.append("unknown")
        return Grouping(_narrow(codes, len(keys)), keys, names, kinds)


def network_name_key(label) -> str:
    """The grouping key of a network name: case, punctuation and legal form left out."""
    if label is None:
        return ""
    from providers.names import name_key

    return name_key(str(label))


def display_network(label) -> str:
    """A network name as shown (cleaned of control and bidi characters)."""
    from providers.names import clean_text

    return clean_text(str(label)).strip()


def _statistics(curves: survival.Curves, hours: list[float]) -> dict[str, np.ndarray]:
    median, median_low, median_high = survival.quantile(curves, 0.5)
    stats = {
        "median": median,
        "median_low": median_low,
        "median_high": median_high,
        "p90": survival.quantile(curves, 0.1)[0],
        "subjects": curves.subjects,
        "removals": curves.removals,
    }
    for t in hours:
        stats[f"within:{t}"] = np.stack(survival.removed_within(curves, t))
    return stats


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _interval(low, high) -> list[float | None]:
    return [_number(low), _number(high)]


class _PeriodFigures:
    """Kaplan-Meier figures of one period's tickets, for any grouping of them.

    The period's tickets are put in duration order once; every grouping reuses that order.
    """

    def __init__(self, frame: TicketFrame, period: Period, hours: list[float], bands: bool = True):
        self.bands = bands
        clock = frame.clock_start
        member = (clock >= to_us(period.start)) & (clock < to_us(period.end))
        self.members = np.flatnonzero(member)
        curve = np.flatnonzero(member & frame.in_curve)
        order = np.argsort(frame.duration_hours[curve])  # ties in any order: KM groups them
        self.curve = curve[order]
        self.durations = frame.duration_hours[self.curve]
        self.events = frame.event[self.curve]
        cdn = frame.cdn[self.members]
        self.kind = (
            frame.removed_before_notice[self.members].astype(np.int64)
            + 2 * (cdn >= 0)
            + 4 * (cdn == 1)
        )
        self.hours = hours

    def _binomial_counts(self, stats: dict, curve_codes: np.ndarray, n_groups: int) -> None:
        """Per hour t: removals by t and tickets whose status at t is known, and the share's
        interval from `survival.binomial_intervals` (never zero-width at small counts).

        The tickets are in duration order, so the tickets up to t are a prefix.
        """
        subjects = stats["subjects"]
        for t in self.hours:
            by_t = int(np.searchsorted(self.durations, t, side="right"))
            before_t = int(np.searchsorted(self.durations, t, side="left"))
            removed = np.bincount(
                curve_codes[:by_t][self.events[:by_t]].astype(np.int64), minlength=n_groups
            )
            censored = np.bincount(
                curve_codes[:before_t][~self.events[:before_t]].astype(np.int64),
                minlength=n_groups,
            )
            stats[f"removed_by:{t}"] = removed
            stats[f"known_at:{t}"] = subjects - censored
            if self.bands:
                within = stats[f"within:{t}"]
                stats[f"within:{t}"] = np.stack(
                    survival.binomial_intervals(tuple(within), removed, censored, subjects)
                )

    def by_group(self, codes: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
        """Figures per group of `codes` (a group number per ticket of the frame)."""
        curves = survival.kaplan_meier(
            self.durations,
            self.events,
            codes[self.curve],
            n_groups,
            sorted_by_duration=True,
            bands=self.bands,
        )
        stats = _statistics(curves, self.hours)
        self._binomial_counts(stats, codes[self.curve], n_groups)
        # One pass counts notices by kind: bit 0 removed before notice, 1 CDN known, 2 CDN.
        counts = np.bincount(
            codes[self.members].astype(np.int64) * 8 + self.kind, minlength=8 * n_groups
        ).reshape(n_groups, 8)
        stats["notices"] = counts.sum(axis=1)
        stats["before_notice"] = counts[:, 1::2].sum(axis=1)
        stats["cdn_known"] = counts[:, [2, 3, 6, 7]].sum(axis=1)
        stats["cdn_yes"] = counts[:, [6, 7]].sum(axis=1)
        return stats


MEDIAN_CI_MIN_TICKETS = 6


def median_ci_estimable(tickets: int, ci: list[float | None]) -> bool:
    """False when the median's 95 % CI cannot be stated: fewer than 6 tickets in the curve
    (even without censoring, no distribution-free 95 % interval for a median exists below
    6: all of 5 on one side has probability 1/16), or bands that cross 0.5 at one time
    (a zero-width interval would claim certainty)."""
    if tickets < MEDIAN_CI_MIN_TICKETS:
        return False
    low, high = ci
    return not (low is not None and high is not None and high <= low)


def _row(stats: dict, i: int, config: StatisticsConfig, previous: dict | None) -> dict:
    notices = int(stats["notices"][i])
    within = {name: stats[f"within:{hours}"][:, i] for name, hours in WITHIN}
    median_ci = _interval(stats["median_low"][i], stats["median_high"][i])
    estimable = median_ci_estimable(int(stats["subjects"][i]), median_ci)
    row = {
        "notices": notices,
        "removed": int(stats["removals"][i]),
        "open": int(stats["subjects"][i] - stats["removals"][i]),
        "removed_before_notice": int(stats["before_notice"][i]),
        "median_hours": _number(stats["median"][i]),
        "median_hours_ci": median_ci if estimable else [None, None],
        "median_hours_ci_estimable": estimable,
        "p90_hours": _number(stats["p90"][i]),
    }
    for name, _hours in WITHIN:
        row[name] = _number(within[name][0])
        row[f"{name}_ci"] = _interval(within[name][1], within[name][2])
    row["counts"] = {
        name: {
            "removed": int(stats[f"removed_by:{hours}"][i]),
            "known": int(stats[f"known_at:{hours}"][i]),
        }
        for name, hours in WITHIN
    }
    row["norms"] = {
        norm.key: {
            "share": _number(stats[f"within:{norm.hours}"][0, i]),
            "ci": _interval(
                stats[f"within:{norm.hours}"][1, i], stats[f"within:{norm.hours}"][2, i]
            ),
            "removed": int(stats[f"removed_by:{norm.hours}"][i]),
            "known": int(stats[f"known_at:{norm.hours}"][i]),
        }
        for norm in config.norms
    }
    known = int(stats["cdn_known"][i])
    row["cdn_share"] = float(stats["cdn_yes"][i] / known) if known else None
    row["low_volume"] = bool(stats["subjects"][i] < config.min_notices)
    row["rank"] = None
    row["previous"] = None
    if previous is not None and previous["notices"][i] > 0:
        row["previous"] = {
            "notices": int(previous["notices"][i]),
            "median_hours": _number(previous["median"][i]),
            "within_24h": _number(previous["within:24.0"][0, i]),
        }
    return row


NETWORK_NAME_SOURCE = "AS name, no AS number (embedded network data)"
CDN_MAJORITY = 0.5


def _network_id(grouping: Grouping, i: int) -> str:
    """What a network row is keyed on: `AS60781`, or the name and where it came from."""
    kind = grouping.kinds[i] if grouping.kinds else "asn"
    if kind == "asn":
        return grouping.keys[i]
    if kind == "name":
        return NETWORK_NAME_SOURCE
    return "unknown"


def row_category(by: str, row: dict) -> str:
    """`provider` for a row that is a hosting provider (network, country); `unknown` for
    tickets whose group is unknown; `cdn` for a CDN/proxy that fronts sites it does not host.

    Only `provider` rows are ranked: unknown and CDN-fronted notices are not one party's
    performance, so they are shown apart.
    """
    key = str(row["key"])
    if key == "unknown":
        return "unknown"
    if by == "provider" and key.startswith("unknown"):
        return "cdn"
    if by == "network" and row.get("cdn_share") is not None and row["cdn_share"] > CDN_MAJORITY:
        return "cdn"
    return "provider"


def _assign_ranks(rows: list[dict]) -> None:
    """Rank the provider rows that are not low volume; all other rows keep rank null."""
    ranked = [
        row
        for row in rows
        if not row["low_volume"] and row.get("category", "provider") == "provider"
    ]

    def order(row: dict):
        share, median = row["within_24h"], row["median_hours"]
        return (
            -(share if share is not None else -1.0),
            median if median is not None else float("inf"),
            row["key"],
        )

    for position, row in enumerate(sorted(ranked, key=order), start=1):
        row["rank"] = position


def _hours(config: StatisticsConfig) -> list[float]:
    return sorted({hours for _name, hours in WITHIN} | {norm.hours for norm in config.norms})


def period_totals(
    frame: TicketFrame, period: Period, config: StatisticsConfig | None = None
) -> dict:
    """The figures of a scorecard's `totals` row for one period of a loaded frame (notices,
    median, norms with the same intervals and counts), without the previous period: what a
    trend shows per quarter, so that it always agrees with the scorecard."""
    config = config or StatisticsConfig()
    figures = _PeriodFigures(frame, period, _hours(config))
    return _row(figures.by_group(np.zeros(len(frame), dtype=np.uint16), 1), 0, config, None)


def scorecards_from_frame(
    frame: TicketFrame,
    *,
    period: Period,
    groupings=GROUPINGS,
    config: StatisticsConfig | None = None,
) -> dict[str, dict]:
    """Scorecards of several groupings of one loaded frame (the curves' sort is shared)."""
    config = config or StatisticsConfig()
    hours = _hours(config)
    previous_period = period.previous()
    current = _PeriodFigures(frame, period, hours)
    # The previous period shows point figures only: no confidence bands needed.
    before = _PeriodFigures(frame, previous_period, hours, bands=False)
    attributes = _Attributes(frame)
    groupings = list(groupings)
    codes = {by: attributes.grouping(by) for by in groupings}
    tasks = [(TOTAL_KEY, np.zeros(len(frame), dtype=np.uint16), 1)]
    tasks += [(by, codes[by].codes, len(codes[by].keys)) for by in groupings]
    # numpy sorts and ufuncs release the GIL: two curves are computed side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            (name, when): pool.submit(figures.by_group, group_codes, n_groups)
            for name, group_codes, n_groups in tasks
            for when, figures in (("now", current), ("before", before))
        }
        stats = {key: future.result() for key, future in futures.items()}
    totals_now, totals_before = stats[TOTAL_KEY, "now"], stats[TOTAL_KEY, "before"]
    totals = {
        "name": TOTAL_KEY,
        "key": TOTAL_KEY,
        "asn": None,
        "country": None,
        "eu": None,
        "inhope": None,
    }
    totals.update(_row(totals_now, 0, config, totals_before))
    totals["category"] = "all"
    generated_at = iso(utcnow())
    results = {}
    members = current.members
    for by in groupings:
        grouping = codes[by]
        n_groups = len(grouping.keys)
        now, then = stats[by, "now"], stats[by, "before"]
        member_codes = grouping.codes[members]
        asn = _mode(
            member_codes, attributes.asn_codes[members], n_groups, len(attributes.asn_values)
        )
        country = _mode(
            member_codes,
            attributes.country_codes[members],
            n_groups,
            len(attributes.country_sorted),
        )
        eu = _mode(member_codes, frame.eu[members], n_groups, 2)
        inhope = _mode(member_codes, frame.inhope[members], n_groups, 2)
        rows = []
        for i in np.flatnonzero(now["notices"] > 0):
            row = {
                "name": grouping.names[i],
                "key": grouping.keys[i],
                "asn": int(attributes.asn_values[asn[i]])
                if asn[i] >= 0 and by != "country"
                else None,
                "country": attributes.country_sorted[country[i]] if country[i] >= 0 else None,
                "eu": bool(eu[i]) if eu[i] >= 0 else None,
                "inhope": bool(inhope[i]) if inhope[i] >= 0 else None,
            }
            row.update(_row(now, i, config, then))
            if by == "network":
                row["network_id"] = _network_id(grouping, i)
            row["category"] = row_category(by, row)
            rows.append(row)
        rows.sort(key=lambda row: (-row["notices"], row["name"], row["key"]))
        _assign_ranks(rows)
        results[by] = {
            "period": {**period.to_json(), **period.progress(frame.as_of)},
            "as_of": iso(frame.as_of),
            "known_at": iso(frame.known_at),
            "by": by,
            "generated_at": generated_at,
            "snapshot_id": None,
            "min_notices": config.min_notices,
            "norms": [norm.to_json() for norm in config.norms],
            "previous_period": previous_period.to_json(),
            "rows": rows,
            "totals": dict(totals),
        }
    return results


def compute_scorecards(
    engine: Engine,
    *,
    period: Period,
    as_of: datetime | None = None,
    groupings=GROUPINGS,
    known_at: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> dict[str, dict]:
    """Scorecards of `period` per grouping as at `as_of` (default: known_at, else now)."""
    unknown = set(groupings) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"unknown grouping(s) {sorted(unknown)}; use {', '.join(GROUPINGS)}")
    as_of = (
        as_utc(as_of)
        if as_of is not None
        else (as_utc(known_at) if known_at is not None else utcnow())
    )
    frame = load_frame(
        engine,
        as_of=as_of,
        known_at=known_at,
        start=period.previous().start,
        end=period.end,
        # url_hash (and the report and removal times with it): the re-appearance columns
        # match later reports on this frame instead of reading the tickets again; network:
        # the provider sizes go by the networks the tickets were hosted in.
        columns=("url_hash", "network"),
    )
    cards = scorecards_with_fair_columns(
        engine, frame, period=period, groupings=groupings, config=config
    )
    from monitor.statistics.data_versions import data_versions

    versions = data_versions(engine, at=as_of)
    for scorecard in cards.values():
        scorecard["data_versions"] = versions
    return cards


def scorecards_with_fair_columns(
    engine: Engine,
    frame: TicketFrame,
    *,
    period: Period,
    groupings=GROUPINGS,
    config: StatisticsConfig | None = None,
) -> dict[str, dict]:
    """`scorecards_from_frame` with the size and re-appearance columns, on a frame read
    with `url_hash` and `network` (as of its as_of and known_at). The sizes and
    re-appearances need no scorecard: they are computed in a second thread while the
    groupings are (numpy's sorts and the database release the interpreter lock), so on
    two cores the columns add little to the scorecard's wall time."""
    from monitor.statistics.fair_columns import add_fair_columns, fair_figures

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fair-columns") as pool:
        pending = pool.submit(fair_figures, engine, frame, period=period)
        cards = scorecards_from_frame(frame, period=period, groupings=groupings, config=config)
        return add_fair_columns(cards, pending.result())


def compute_scorecard(
    engine: Engine,
    *,
    period: Period,
    as_of: datetime | None = None,
    by: str = "provider",
    known_at: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> dict:
    """The scorecard JSON (INTERFACE.md section 3, with the extra keys) of one grouping."""
    return compute_scorecards(
        engine, period=period, as_of=as_of, groupings=(by,), known_at=known_at, config=config
    )[by]
