"""Kaplan-Meier time-to-removal curves for many groups at once: the monitor's one implementation.

Every figure the monitor publishes about removal speed (scorecards, provider history,
drift, briefings) comes from here. Definitions (INTERFACE.md section 3):

- Each ticket has a duration in hours and an event flag: removed (event) or still online
  at the end of its follow-up (censored).
- Kaplan-Meier: at each distinct event time t of a group, with n tickets at risk (duration
  >= t, so censorings at t are still at risk: events before censorings) and d removals,
  S(t) = prod (1 - d/n). Computed as exp(cumsum(log(n - d) - log(n))), like lifelines.
- Greenwood variance of log S: sum d / (n (n - d)); the step where everyone left is removed
  (d == n) adds nothing, so the band at S = 0 is [0, 0] (lifelines' convention).
- 95 % confidence band by the log(-log) transform: exp(-exp(log(-log S) -/+ z sqrt(V) / log S)),
  [1, 1] while S = 1.
- Quantile q (median q = 0.5, p90 q = 0.1): the smallest event time with S(t) <= q, NaN
  when the curve never gets there. Its CI: the first times the lower / upper band reach q.
- S(t) at a query time is the value at the last event time <= t. Beyond a group's last
  observation, when that observation is censored and S > 0, S is unknown: NaN.

Everything is vectorised across groups: one sort by (group, duration), then per-group
cumulative sums done as one global (exact, fixed-point) cumulative sum minus each group's
starting offset. No Python loop runs per group or per ticket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# Survival values equal to a quantile level in exact arithmetic (2 of 4 removed is exactly
# 0.5) can land a rounding error above it; they count as reaching the level.
QUANTILE_TOLERANCE = 1e-12
FIXED_POINT = 2.0**56


@dataclass(frozen=True)
class Curves:
    """Kaplan-Meier curves of `n_groups` groups, stored flat at event times, group after group.

    Steps of group g are `slice(bounds[g], bounds[g + 1])` of the step arrays, in time order.
    """

    n_groups: int
    subjects: np.ndarray  # (G,) tickets per group
    removals: np.ndarray  # (G,) events per group
    last_time: np.ndarray  # (G,) largest duration observed (event or censoring); NaN if empty
    bounds: np.ndarray  # (G + 1,) start of each group's steps
    time: np.ndarray  # (S,) distinct event times
    at_risk: np.ndarray  # (S,) n
    events: np.ndarray  # (S,) d
    survival: np.ndarray  # (S,) S(t)
    variance: np.ndarray  # (S,) Greenwood sum up to t
    lower: np.ndarray  # (S,) lower band
    upper: np.ndarray  # (S,) upper band

    @property
    def step_group(self) -> np.ndarray:
        """The group of each step."""
        return np.repeat(np.arange(self.n_groups), np.diff(self.bounds))


def _segment_cumsum(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group's first step, independent of the other groups.

    The sums run in 2**-56 fixed point: one integer cumulative sum over all groups minus
    each group's starting offset is exact (integer wrap-around cancels in the difference),
    so a group's figures do not change with the groups computed alongside it. The values
    summed here (log S >= -log n, Greenwood <= 1) stay far inside the int64 range.
    """
    fixed = np.multiply(values, FIXED_POINT)
    fixed = np.rint(fixed, out=fixed).astype(np.int64)
    with np.errstate(over="ignore"):
        total = np.cumsum(fixed, out=fixed)
        base = np.concatenate((np.zeros(1, np.int64), total))[bounds[:-1]]
        total -= np.repeat(base, np.diff(bounds))
    return np.multiply(total, 1.0 / FIXED_POINT)


def kaplan_meier(
    durations,
    events,
    groups=None,
    n_groups: int | None = None,
    *,
    duration_order: np.ndarray | None = None,
    sorted_by_duration: bool = False,
    bands: bool = True,
    alpha: float = 0.05,
) -> Curves:
    """Kaplan-Meier curves, Greenwood variance and log(-log) bands of every group at once.

    `groups` holds a group number 0..n_groups-1 per ticket (None: one group). A caller that
    builds several groupings of the same tickets can pass `duration_order`
    (`np.argsort(durations)`; the order among equal durations does not matter: tied times
    are one step) to sort the durations only once, or pass the
    tickets already in that order with `sorted_by_duration=True`. `bands=False` skips the
    variance and confidence bands (NaN) when only point figures are needed.
    """
    durations = np.asarray(durations, dtype=np.float64)
    events = np.asarray(events, dtype=bool)
    if durations.shape != events.shape:
        raise ValueError("durations and events differ in length")
    if np.isnan(durations).any():
        raise ValueError(
            "a duration is NaN: exclude tickets removed before notice before computing curves"
        )
    if (durations < 0).any():
        raise ValueError("a duration is negative")
    if groups is None:
        groups = np.zeros(len(durations), dtype=np.int64)
        n_groups = 1 if n_groups is None else n_groups
    groups = np.asarray(groups)
    if n_groups is None:
        n_groups = int(groups.max()) + 1 if len(groups) else 0
    if len(groups) and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError("group numbers must lie in 0..n_groups-1")

    narrow_type = np.uint16 if n_groups <= 65536 else np.int64
    if sorted_by_duration:
        narrow = groups.astype(narrow_type, copy=False)
        order = np.argsort(narrow, kind="stable")
    else:
        by_duration = (
            np.argsort(durations, kind="stable") if duration_order is None else duration_order
        )
        narrow = groups[by_duration].astype(narrow_type)
        # A stable sort by group keeps the duration order inside each group (a radix sort
        # for 16-bit group numbers).
        order = by_duration[np.argsort(narrow, kind="stable")]
    t, e = durations[order], events[order]
    del order
    subjects = np.bincount(narrow, minlength=n_groups)
    g = np.repeat(np.arange(n_groups, dtype=narrow_type), subjects)
    group_start = np.concatenate(([0], np.cumsum(subjects)))
    last_time = np.full(n_groups, np.nan)
    nonempty = subjects > 0
    last_time[nonempty] = t[group_start[1:][nonempty] - 1]

    # One step per distinct (group, time); keep those with at least one removal.
    new_step = np.ones(len(t), dtype=bool)
    if len(t) > 1:
        new_step[1:] = (g[1:] != g[:-1]) | (t[1:] != t[:-1])
    starts = np.flatnonzero(new_step)
    step_events = (
        np.add.reduceat(e, starts, dtype=np.int64) if len(starts) else np.zeros(0, np.int64)
    )
    has_event = step_events > 0
    event_starts = starts[has_event]
    step_group = g[event_starts]
    time = t[event_starts]
    d = step_events[has_event].astype(np.float64)
    # At risk: the group's tickets not yet passed at this step (censorings at t included).
    n = (subjects[step_group] - (event_starts - group_start[step_group])).astype(np.float64)
    removals = np.bincount(step_group, weights=d, minlength=n_groups).astype(np.int64)
    bounds = np.searchsorted(step_group, np.arange(n_groups + 1), side="left")

    with np.errstate(divide="ignore", invalid="ignore"):
        log_factor = np.log(n - d) - np.log(n)
        everyone_left = d == n  # only ever a group's last step
        log_survival = _segment_cumsum(np.where(everyone_left, 0.0, log_factor), bounds)
        survival = np.where(everyone_left, 0.0, np.exp(log_survival))
        if bands:
            variance = _segment_cumsum(np.where(everyone_left, 0.0, d / (n * (n - d))), bounds)
            lower, upper = _loglog_bands(survival, variance, alpha)
        else:
            variance = lower = upper = np.full(len(survival), np.nan)
    return Curves(
        n_groups=n_groups,
        subjects=subjects,
        removals=removals,
        last_time=last_time,
        bounds=bounds,
        time=time,
        at_risk=n,
        events=d,
        survival=survival,
        variance=variance,
        lower=lower,
        upper=upper,
    )


def _loglog_bands(
    survival: np.ndarray, variance: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    z = NormalDist().inv_cdf(1 - alpha / 2)
    v = np.log(survival)
    spread = np.sqrt(variance)
    spread *= z
    spread /= v
    center = np.log(np.negative(v, out=v), out=v)
    lower, upper = center - spread, center + spread
    for band in (lower, upper):
        np.exp(band, out=band)
        np.negative(band, out=band)
        np.exp(band, out=band)
        # S = 1 gives 0/0: the band is [1, 1] there.
        band[np.isnan(band)] = 1.0
    return lower, upper


def _last_step_at_or_before(curves: Curves, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Per group: index of the last step with time <= t, and whether there is one."""
    counts = np.concatenate(([0], np.cumsum(curves.time <= t)))
    within = counts[curves.bounds[1:]] - counts[curves.bounds[:-1]]
    return curves.bounds[:-1] + within - 1, within > 0


def _observable(curves: Curves, t: float) -> np.ndarray:
    """Per group: S(t) is known (t within follow-up, or the curve already reached 0)."""
    reached_zero = np.zeros(curves.n_groups, dtype=bool)
    has_steps = np.diff(curves.bounds) > 0
    reached_zero[has_steps] = curves.survival[curves.bounds[1:][has_steps] - 1] == 0.0
    return (curves.subjects > 0) & ((t <= curves.last_time) | reached_zero)


def survival_at(curves: Curves, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: S(t) and its lower and upper band; NaN where S(t) cannot be known."""
    index, found = _last_step_at_or_before(curves, t)
    safe = np.where(found, index, 0)
    if len(curves.time):
        values = [
            np.where(found, arr[safe], 1.0) for arr in (curves.survival, curves.lower, curves.upper)
        ]
    else:
        values = [np.ones(curves.n_groups) for _ in range(3)]
    known = _observable(curves, t)
    return tuple(np.where(known, v, np.nan) for v in values)  # type: ignore[return-value]


def removed_within(curves: Curves, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: share removed within t hours, 1 - S(t), with its CI (low, high)."""
    s, lower, upper = survival_at(curves, t)
    return 1.0 - s, 1.0 - upper, 1.0 - lower


def wilson_interval(successes, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, per entry; NaN where `trials` is 0.

    Never zero-width for 1 or more trials: 0 of 4 gives [0, 0.49], 4 of 4 [0.51, 1]. It keeps
    close to its nominal coverage at small counts, where the Greenwood band of a
    Kaplan-Meier curve at 0 or 1 collapses to a point.
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denominator = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        low = np.where(x <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
        high = np.where(x >= n, 1.0, np.clip(center + half, 0.0, 1.0))
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def binomial_intervals(
    within: tuple[np.ndarray, np.ndarray, np.ndarray],
    removed: np.ndarray,
    censored_before: np.ndarray,
    subjects: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The share removed within t with an interval that does not overclaim at small counts.

    `within` is `removed_within(curves, t)`; `removed` the removals by t, `censored_before`
    the tickets censored before t, `subjects` the tickets, per group. Where nothing was
    censored before t, 1 - S(t) is exactly the binomial share removed / known, and where
    the curve is at 0 or 1 the Greenwood band has zero width: there the interval is the
    Wilson score interval of removed of known (tickets censored before t left out).
    Elsewhere the Greenwood log(-log) band stands (INTERFACE.md section 3).
    """
    share, low, high = within
    known = subjects - censored_before
    binomial = (
        ~np.isnan(share) & ((censored_before == 0) | (share <= 0.0) | (share >= 1.0)) & (known > 0)
    )
    if binomial.any():
        w_low, w_high = wilson_interval(removed, np.maximum(known, 1))
        low = np.where(binomial, w_low, low)
        high = np.where(binomial, w_high, high)
    return share, low, high


def status_counts(
    durations: np.ndarray, events: np.ndarray, groups: np.ndarray, n_groups: int, t: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per group: removals by t, and tickets censored before t (still online, followed < t)."""
    durations, events = np.asarray(durations), np.asarray(events, dtype=bool)
    groups = np.asarray(groups, dtype=np.int64)
    removed = np.bincount(groups[events & (durations <= t)], minlength=n_groups)
    censored = np.bincount(groups[~events & (durations < t)], minlength=n_groups)
    return removed, censored


def _first_reaching(values: np.ndarray, curves: Curves, q: float) -> np.ndarray:
    """Per group: the first step time where `values` <= q (NaN if never)."""
    hit = values <= q + QUANTILE_TOLERANCE
    position = np.where(hit, np.arange(len(values)), len(values))
    result = np.full(curves.n_groups, np.nan)
    has_steps = np.diff(curves.bounds) > 0
    if not has_steps.any():
        return result
    first = np.minimum.reduceat(position, curves.bounds[:-1][has_steps])
    found = first < curves.bounds[1:][has_steps]
    times = np.full(first.shape, np.nan)
    times[found] = curves.time[first[found]]
    result[has_steps] = times
    return result


def quantile(curves: Curves, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: the smallest t with S(t) <= q, and its CI from the bands; NaN when not reached."""
    return (
        _first_reaching(curves.survival, curves, q),
        _first_reaching(curves.lower, curves, q),
        _first_reaching(curves.upper, curves, q),
    )


@dataclass(frozen=True)
class LogrankResult:
    """Two-sample log-rank test: chi-square statistic (1 degree of freedom) and p-value."""

    statistic: float
    p_value: float
    observed_a: float
    expected_a: float


def logrank_test(durations_a, events_a, durations_b, events_b) -> LogrankResult:
    """Log-rank test that two removal-time distributions are equal (Mantel-Haenszel form).

    At each distinct event time of the pooled sample: expected removals in A = d * n_a / n,
    hypergeometric variance d (n_a / n) (1 - n_a / n) (n - d) / (n - 1).
    """
    durations_a = np.asarray(durations_a, dtype=np.float64)
    durations_b = np.asarray(durations_b, dtype=np.float64)
    events_a = np.asarray(events_a, dtype=bool)
    events_b = np.asarray(events_b, dtype=bool)
    durations = np.concatenate([durations_a, durations_b])
    events = np.concatenate([events_a, events_b])
    in_a = np.concatenate([np.ones(len(durations_a), bool), np.zeros(len(durations_b), bool)])
    if not events.any():
        return LogrankResult(statistic=0.0, p_value=1.0, observed_a=0.0, expected_a=0.0)
    order = np.argsort(durations, kind="stable")
    t, e, a = durations[order], events[order], in_a[order]
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    d = np.add.reduceat(e.astype(np.float64), starts)
    d_a = np.add.reduceat((e & a).astype(np.float64), starts)
    leaving = np.diff(np.append(starts, len(t)))
    leaving_a = np.add.reduceat(a.astype(np.float64), starts)
    n = len(t) - (np.cumsum(leaving) - leaving)
    n_a = a.sum() - (np.cumsum(leaving_a) - leaving_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = d * n_a / n
        var = np.where(n > 1, d * (n_a / n) * (1 - n_a / n) * (n - d) / (n - 1), 0.0)
    observed_a, expected_a, variance = float(d_a.sum()), float(expected.sum()), float(var.sum())
    if variance <= 0:
        return LogrankResult(
            statistic=0.0, p_value=1.0, observed_a=observed_a, expected_a=expected_a
        )
    statistic = (observed_a - expected_a) ** 2 / variance
    # Chi-square with one degree of freedom: P(X > s) = erfc(sqrt(s / 2)).
    return LogrankResult(
        statistic=statistic,
        p_value=math.erfc(math.sqrt(statistic / 2)),
        observed_a=observed_a,
        expected_a=expected_a,
    )
