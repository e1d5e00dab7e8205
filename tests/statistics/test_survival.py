"""monitor.statistics.survival against lifelines' KaplanMeierFitter (an independent implementation).

Every statistic the scorecard shows is compared to 1e-9, for many groups at once, on
generated data with ties and censoring, and on hypothesis-generated cases. Where a curve
lands exactly on a quantile level (S = 0.5 after 2 of 4 removals) lifelines' float
rounding decides either way; there the exact rational Kaplan-Meier (fractions) decides.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.statistics import survival
from tests.survival_data import exact_quantile

lifelines = pytest.importorskip("lifelines")
from lifelines import KaplanMeierFitter  # noqa: E402
from lifelines.statistics import logrank_test as lifelines_logrank  # noqa: E402
from lifelines.utils import median_survival_times  # noqa: E402

TOL = 1e-9
QUERY_HOURS = (24.0, 72.0, 168.0)


def reference(durations, events) -> dict:
    """lifelines' figures for one group, in the shape the checks compare."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(np.asarray(durations, float), np.asarray(events, bool))
        bands = kmf.confidence_interval_survival_function_
        median_ci = median_survival_times(bands)
        out = {
            "median": kmf.median_survival_time_,
            "median_low": median_ci.iloc[0, 0],
            "median_high": median_ci.iloc[0, 1],
            "p90": kmf.percentile(0.1),
            "survival": kmf.survival_function_.iloc[:, 0],
        }
        for t in QUERY_HOURS:
            out[t] = (kmf.predict(t), bands.iloc[:, 0].asof(t), bands.iloc[:, 1].asof(t))
    near = lambda q: bool(np.any(np.abs(out["survival"].to_numpy() - q) < 1e-9))  # noqa: E731
    if near(0.5):
        out["median"] = exact_quantile(durations, events, 0.5)
    if near(0.1):
        out["p90"] = exact_quantile(durations, events, 0.1)
    return out


def assert_close(mine: float, theirs: float, what: str) -> None:
    """NaN (ours) stands for inf/undefined (lifelines)."""
    if math.isinf(theirs) or math.isnan(theirs):
        assert math.isnan(mine), f"{what}: expected undefined, got {mine}"
    else:
        assert mine == pytest.approx(theirs, abs=TOL, rel=TOL), f"{what}: {mine} != {theirs}"


def check_against_lifelines(durations, events, groups, n_groups) -> None:
    durations, events, groups = (
        np.asarray(durations, float),
        np.asarray(events, bool),
        np.asarray(groups),
    )
    curves = survival.kaplan_meier(durations, events, groups, n_groups)
    median, median_low, median_high = survival.quantile(curves, 0.5)
    p90 = survival.quantile(curves, 0.1)[0]
    at = {t: survival.survival_at(curves, t) for t in QUERY_HOURS}
    for g in range(n_groups):
        member = groups == g
        if not member.any():
            assert curves.subjects[g] == 0 and math.isnan(median[g]) and math.isnan(at[24.0][0][g])
            continue
        d, e = durations[member], events[member]
        ref = reference(d, e)
        assert curves.subjects[g] == member.sum() and curves.removals[g] == e.sum()
        assert_close(median[g], ref["median"], f"group {g} median")
        assert_close(median_low[g], ref["median_low"], f"group {g} median CI low")
        assert_close(median_high[g], ref["median_high"], f"group {g} median CI high")
        assert_close(p90[g], ref["p90"], f"group {g} p90")
        for t in QUERY_HOURS:
            s, low, high = (values[g] for values in at[t])
            beyond_follow_up = t > d.max() and ref[t][0] > 0
            if beyond_follow_up:
                # Past the last (censored) observation S(t) is unknown: we say so, lifelines
                # carries the last value forward.
                assert math.isnan(s) and math.isnan(low) and math.isnan(high)
                continue
            for mine, theirs, what in zip(
                (s, low, high), ref[t], ("S", "lower", "upper"), strict=True
            ):
                assert_close(mine, theirs, f"group {g} {what}({t})")


def generated(rng, n: int, n_groups: int, *, tie_step: float | None = 1.0):
    durations = rng.exponential(rng.uniform(5, 120, n_groups)[rng.integers(0, n_groups, n)])
    groups = rng.integers(0, n_groups, n)
    if tie_step:
        durations = np.round(durations / tie_step) * tie_step
    events = rng.random(n) < rng.uniform(0.3, 0.95)
    return durations, events, groups


@pytest.mark.parametrize("seed", range(6))
def test_many_groups_match_lifelines(seed):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(1, 40))
    durations, events, groups = generated(
        rng, int(rng.integers(20, 1500)), n_groups, tie_step=[None, 1.0, 0.25][seed % 3]
    )
    check_against_lifelines(durations, events, groups, n_groups)


def test_empty_groups_have_no_figures():
    durations, events, groups = [1.0, 2.0, 3.0], [True, True, False], [0, 0, 2]
    check_against_lifelines(durations, events, groups, 4)
    curves = survival.kaplan_meier(durations, events, groups, 4)
    assert curves.subjects.tolist() == [2, 0, 1, 0]


def test_all_censored_has_no_median_and_nothing_removed():
    curves = survival.kaplan_meier([5.0, 30.0, 200.0], [False, False, False])
    median, low, high = (v[0] for v in survival.quantile(curves, 0.5))
    assert math.isnan(median) and math.isnan(low) and math.isnan(high)
    share, share_low, share_high = (v[0] for v in survival.removed_within(curves, 24.0))
    assert (share, share_low, share_high) == (0.0, 0.0, 0.0)
    check_against_lifelines([5.0, 30.0, 200.0], [False] * 3, [0, 0, 0], 1)


def test_all_removed_at_time_zero():
    curves = survival.kaplan_meier([0.0, 0.0, 0.0], [True, True, True])
    assert survival.quantile(curves, 0.5)[0][0] == 0.0
    assert survival.quantile(curves, 0.1)[0][0] == 0.0
    assert [v[0] for v in survival.removed_within(curves, 24.0)] == [1.0, 1.0, 1.0]
    check_against_lifelines([0.0] * 3, [True] * 3, [0] * 3, 1)


def test_one_ticket():
    check_against_lifelines([7.5], [True], [0], 1)
    check_against_lifelines([7.5], [False], [0], 1)
    removed = survival.kaplan_meier([7.5], [True])
    assert survival.quantile(removed, 0.5)[0][0] == 7.5
    assert math.isnan(survival.removed_within(survival.kaplan_meier([7.5], [False]), 24.0)[0][0])


def test_curve_that_never_reaches_half():
    # 10 notices, 4 removed quickly, 6 still online for weeks: no median, no p90.
    durations = [1, 2, 3, 4] + [500] * 6
    events = [True] * 4 + [False] * 6
    curves = survival.kaplan_meier(durations, events)
    assert math.isnan(survival.quantile(curves, 0.5)[0][0])
    assert math.isnan(survival.quantile(curves, 0.1)[0][0])
    assert survival.removed_within(curves, 24.0)[0][0] == pytest.approx(0.4)
    check_against_lifelines(durations, events, [0] * 10, 1)


def test_censored_ticket_never_counts_as_removed():
    # Censored at 1 h (still online when last seen) must not make the group "fast".
    fast = survival.kaplan_meier([1.0, 1.0, 50.0], [True, False, True])
    removed_24 = survival.removed_within(fast, 24.0)[0][0]
    assert removed_24 == pytest.approx(1 / 3)  # not 2/3
    assert fast.removals[0] == 2 and fast.subjects[0] == 3


def test_half_still_online():
    # More than half still online: no median, although every removal was fast.
    more = survival.kaplan_meier(
        [1, 2, 3, 4, 100, 100, 100, 100, 100, 100], [True] * 4 + [False] * 6
    )
    assert math.isnan(survival.quantile(more, 0.5)[0][0])
    # Exactly half still online: S reaches 0.5 at the 5th removal (contract: S(t) <= 0.5),
    # so the median is that time and means "half were removed within 5 h".
    half = survival.kaplan_meier([1, 2, 3, 4, 5] + [100] * 5, [True] * 5 + [False] * 5)
    assert survival.quantile(half, 0.5)[0][0] == 5.0
    assert survival.removed_within(half, 24.0)[0][0] == pytest.approx(0.5)


def test_removal_at_exactly_24h_counts_within_24h():
    curves = survival.kaplan_meier([24.0, 48.0], [True, True])
    assert survival.removed_within(curves, 24.0)[0][0] == pytest.approx(0.5)


def test_ties_events_before_censorings():
    # At t=10: 2 removals and 1 censoring among 4 at risk -> S = 1 - 2/4.
    curves = survival.kaplan_meier([10, 10, 10, 20], [True, True, False, True])
    assert curves.at_risk.tolist() == [4.0, 1.0]
    assert curves.survival.tolist() == pytest.approx([0.5, 0.0])
    check_against_lifelines([10, 10, 10, 20], [True, True, False, True], [0] * 4, 1)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        survival.kaplan_meier([1.0, float("nan")], [True, True])
    with pytest.raises(ValueError, match="negative"):
        survival.kaplan_meier([-1.0], [True])
    with pytest.raises(ValueError, match="group numbers"):
        survival.kaplan_meier([1.0], [True], [3], 2)


def test_shared_duration_order_gives_the_same_curves():
    rng = np.random.default_rng(11)
    durations, events, groups = generated(rng, 500, 9)
    order = np.argsort(durations, kind="stable")
    a = survival.kaplan_meier(durations, events, groups, 9)
    b = survival.kaplan_meier(durations, events, groups, 9, duration_order=order)
    assert np.array_equal(a.survival, b.survival) and np.array_equal(a.bounds, b.bounds)


def test_presorted_input_and_point_only_curves_give_the_same_figures():
    rng = np.random.default_rng(13)
    durations, events, groups = generated(rng, 800, 7)
    reference_curves = survival.kaplan_meier(durations, events, groups, 7)
    order = np.argsort(durations)
    presorted = survival.kaplan_meier(
        durations[order], events[order], groups[order], 7, sorted_by_duration=True
    )
    points = survival.kaplan_meier(durations, events, groups, 7, bands=False)
    for name in ("time", "survival", "lower", "upper", "bounds"):
        assert np.array_equal(getattr(presorted, name), getattr(reference_curves, name)), name
    assert np.array_equal(points.survival, reference_curves.survival)
    assert np.isnan(points.lower).all() and np.isnan(points.upper).all()
    assert np.isnan(survival.quantile(points, 0.5)[1]).all()


def test_a_groups_figures_do_not_depend_on_the_other_groups():
    # Bit for bit: a provider's figures are the same alone and among 300 others.
    rng = np.random.default_rng(12)
    durations, events, groups = generated(rng, 20000, 300)
    together = survival.kaplan_meier(durations, events, groups, 300)
    mine = groups == 137
    alone = survival.kaplan_meier(durations[mine], events[mine])
    steps = slice(together.bounds[137], together.bounds[138])
    for name in ("time", "survival", "variance", "lower", "upper"):
        assert np.array_equal(getattr(together, name)[steps], getattr(alone, name)), name


group_data = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.one_of(
            st.sampled_from([0.0, 1.0, 12.0, 24.0, 72.0, 168.0, 200.0]),
            st.floats(0, 400, allow_nan=False),
        ),
        st.booleans(),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_data)
def test_hypothesis_cases_match_lifelines(data):
    groups, durations, events = zip(*data, strict=True)
    check_against_lifelines(durations, events, groups, 5)


def check_logrank(da, ea, db, eb) -> None:
    mine = survival.logrank_test(da, ea, db, eb)
    theirs = lifelines_logrank(
        np.asarray(da, float), np.asarray(db, float), np.asarray(ea, bool), np.asarray(eb, bool)
    )
    assert mine.statistic == pytest.approx(theirs.test_statistic, abs=TOL, rel=TOL)
    assert mine.p_value == pytest.approx(theirs.p_value, abs=TOL, rel=TOL)


@pytest.mark.parametrize("seed", range(5))
def test_logrank_matches_lifelines(seed):
    rng = np.random.default_rng(100 + seed)
    da, ea, _ = generated(rng, int(rng.integers(5, 400)), 1)
    db, eb, _ = generated(rng, int(rng.integers(5, 400)), 1)
    check_logrank(da, ea, db, eb)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1.0, 2.0, 5.0, 24.0, 30.0]), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.lists(
        st.tuples(st.sampled_from([1.0, 2.0, 5.0, 24.0, 30.0]), st.booleans()),
        min_size=1,
        max_size=40,
    ),
)
def test_hypothesis_logrank_matches_lifelines(a, b):
    da, ea = zip(*a, strict=True)
    db, eb = zip(*b, strict=True)
    if not any(ea) and not any(eb):
        assert survival.logrank_test(da, ea, db, eb).p_value == 1.0
        return
    check_logrank(da, ea, db, eb)


def test_logrank_of_identical_samples_is_not_significant():
    d = [1.0, 3.0, 5.0, 8.0, 13.0]
    result = survival.logrank_test(d, [True] * 5, d, [True] * 5)
    assert result.statistic == pytest.approx(0.0) and result.p_value == pytest.approx(1.0)
