"""The drift tests' statistics against independent references (scipy, lifelines)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines.statistics import logrank_test as lifelines_logrank
from scipy import stats

from monitor.drift.stats import adjust_pvalues, one_sided_from_chi2, two_proportion_test
from monitor.statistics.survival import logrank_test


@given(
    n_before=st.integers(1, 400),
    n_after=st.integers(1, 400),
    share_before=st.floats(0, 1),
    share_after=st.floats(0, 1),
)
@settings(max_examples=200, deadline=None)
def test_two_proportion_test_equals_pearson_chi_square(
    n_before, n_after, share_before, share_after
):
    hits_before, hits_after = round(n_before * share_before), round(n_after * share_after)
    z, p = two_proportion_test(hits_before, n_before, hits_after, n_after)
    table = np.array([[hits_before, n_before - hits_before], [hits_after, n_after - hits_after]])
    if 0 in table.sum(axis=0):  # nothing varies: no evidence either way
        assert (z, p) == (0.0, 1.0)
        return
    chi2, two_sided, _, _ = stats.chi2_contingency(table, correction=False)
    assert z**2 == pytest.approx(chi2, rel=1e-9, abs=1e-12)
    rose = hits_after / n_after > hits_before / n_before
    expected = two_sided / 2 if rose else 1 - two_sided / 2
    assert p == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert p == pytest.approx(stats.norm.sf(z), rel=1e-9, abs=1e-15)


def test_two_proportion_test_refuses_an_empty_window():
    with pytest.raises(ValueError, match="both windows need at least one observation"):
        two_proportion_test(0, 0, 3, 10)


@pytest.mark.parametrize("statistic", [0.0, 0.3, 2.7, 3.84, 10.0, 60.0])
def test_one_sided_p_from_chi_square_matches_the_normal_tail(statistic):
    z = math.sqrt(statistic)
    assert one_sided_from_chi2(statistic, worse=True) == pytest.approx(stats.norm.sf(z), rel=1e-9)
    assert one_sided_from_chi2(statistic, worse=False) == pytest.approx(stats.norm.cdf(z), rel=1e-9)


def _holm_by_definition(p: np.ndarray) -> np.ndarray:
    """Holm (1979): reject H_(1..k) while p_(j) <= alpha / (m - j + 1); adjusted p as its dual."""
    m = p.size
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order, start=1):
        running = max(running, min(1.0, (m - rank + 1) * p[index]))
        adjusted[index] = running
    return adjusted


@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None)
def test_multiple_testing_adjustments_match_their_references(values):
    p = np.array(values)
    assert adjust_pvalues(p, "bh") == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert adjust_pvalues(p, "holm") == pytest.approx(_holm_by_definition(p))
    assert adjust_pvalues(p, "bonferroni") == pytest.approx(np.minimum(1, p * p.size))


def test_adjustment_of_nothing_is_nothing_and_unknown_methods_are_refused():
    assert adjust_pvalues([], "bh").size == 0
    with pytest.raises(ValueError, match="unknown multiple-testing correction 'fdr'"):
        adjust_pvalues([0.1], "fdr")


def _survival_sample(rng, n, scale, censor_share=0.3):
    duration = np.round(rng.exponential(scale, n), 0)  # rounding makes ties
    event = rng.random(n) > censor_share
    return duration, event


@pytest.mark.parametrize("seed", range(12))
def test_one_sided_logrank_p_points_at_the_slower_recent_window(seed):
    # The slowdown test reads the project's log-rank (baseline = group A) one-sidedly:
    # half of lifelines' two-sided p when recent removals are slower, else the rest.
    rng = np.random.default_rng(seed)
    d0, e0 = _survival_sample(rng, rng.integers(5, 80), 20)
    d1, e1 = _survival_sample(rng, rng.integers(5, 80), 20 * rng.uniform(0.5, 3))
    result = logrank_test(d0, e0, d1, e1)
    reference = lifelines_logrank(d0, d1, event_observed_A=e0, event_observed_B=e1)
    slower_now = result.observed_a > result.expected_a
    one_sided = one_sided_from_chi2(result.statistic, worse=slower_now)
    expected = reference.p_value / 2 if slower_now else 1 - reference.p_value / 2
    assert one_sided == pytest.approx(expected, rel=1e-9)


def test_recent_removals_taking_longer_read_as_slower():
    fast, slow = np.arange(1.0, 21.0), np.arange(50.0, 70.0)
    events = np.ones(20, bool)
    result = logrank_test(fast, events, slow, events)
    assert result.observed_a > result.expected_a
    assert one_sided_from_chi2(result.statistic, worse=True) < 1e-6
    reverse = logrank_test(slow, events, fast, events)
    assert reverse.observed_a < reverse.expected_a
