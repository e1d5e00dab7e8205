"""The significance tests behind drift flags, on plain counts and numpy arrays.

No scipy: normal and chi-square(1) tails come from `math.erfc`. The log-rank test
is not here: it lives with the other survival statistics in `monitor.statistics.survival`.
"""

from __future__ import annotations

import math

import numpy as np


def normal_upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def one_sided_from_chi2(statistic: float, worse: bool) -> float:
    """One-sided p-value from a 1-degree-of-freedom chi-square statistic.

    A chi-square(1) statistic is the square of a normal one, so its two-sided tail
    `erfc(sqrt(x/2))` halves when the effect points the way we test, and is
    `1 - half` when it points the other way.
    """
    two_sided = math.erfc(math.sqrt(max(statistic, 0.0) / 2.0))
    return two_sided / 2.0 if worse else 1.0 - two_sided / 2.0


def two_proportion_test(
    hits_before: int, n_before: int, hits_after: int, n_after: int
) -> tuple[float, float]:
    """Pooled two-proportion z-test that the share `hits/n` rose from before to after.

    Returns (z, one-sided p-value). z**2 equals Pearson's chi-square of the 2x2 table
    without continuity correction. When the pooled share is 0 or 1 nothing varies:
    z is 0 and p is 1.
    """
    if n_before <= 0 or n_after <= 0:
        raise ValueError("both windows need at least one observation")
    pooled = (hits_before + hits_after) / (n_before + n_after)
    variance = pooled * (1.0 - pooled) * (1.0 / n_before + 1.0 / n_after)
    if variance <= 0.0:
        return 0.0, 1.0
    z = (hits_after / n_after - hits_before / n_before) / math.sqrt(variance)
    return z, normal_upper_tail(z)


def adjust_pvalues(p_values, method: str) -> np.ndarray:
    """Multiple-testing adjusted p-values; a test is significant when adjusted <= alpha.

    - `bh`: Benjamini-Hochberg step-up (false discovery rate; when no effect exists
      anywhere it also bounds the chance of any flag at alpha).
    - `holm`: Holm step-down (family-wise error, any dependence between tests).
    - `bonferroni`: m x p.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    rank = np.arange(1, m + 1)
    if method == "bh":
        adjusted = np.minimum.accumulate((ranked * m / rank)[::-1])[::-1]
    elif method == "holm":
        adjusted = np.maximum.accumulate(ranked * (m - rank + 1))
    else:
        raise ValueError(f"unknown multiple-testing correction {method!r}")
    result = np.empty(m)
    result[order] = np.minimum(1.0, adjusted)
    return result
