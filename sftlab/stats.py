"""Honest statistics: binomial intervals for rates measured on a finite number of episodes."""

from __future__ import annotations

import math


def wilson_interval(successes: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a proportion (95% by default); (0, 1) when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 and n successes.
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: list[float], z: float = 1.959963984540054) -> tuple[float, float]:
    """Normal-approximation interval of a mean (for scores that are not 0/1); (mean, mean) for n < 2."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    if n < 2:
        return mean, mean
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = z * math.sqrt(var / n)
    return mean - half, mean + half


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exact (integer arithmetic; 1 for k <= 0, 0 for k > n)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def mcnemar_exact(only_a: int, only_b: int) -> tuple[float, float]:
    """The exact McNemar test of paired 0/1 outcomes: (p that A is better, p that B is better), one-sided.

    `only_a` counts the pairs where A succeeded and B failed, `only_b` the reverse; the pairs where both agree carry
    no information. Under "no difference" each discordant pair is A's with probability 1/2, so the one-sided p of
    "A is better" is P(X >= only_a), X ~ Binomial(only_a + only_b, 1/2). The two-sided p is twice the smaller one
    (capped at 1). No discordant pairs give (1, 1).
    """
    n = only_a + only_b
    return binomial_tail(only_a, n), binomial_tail(only_b, n)


def difference_interval(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float]:
    """95% interval of the difference of two independent proportions, from each one's (value, low, high)
    Wilson interval: Newcombe's hybrid score method (Newcombe 1998, method 10).

    For runs that played the same episodes it ignores the (usually positive) correlation, so it is conservative.
    """
    (p1, lo1, hi1), (p2, lo2, hi2) = a, b
    d = p1 - p2
    return d - math.hypot(p1 - lo1, hi2 - p2), d + math.hypot(hi1 - p1, p2 - lo2)


def clustered_rate_interval(hits: list[int], trials: list[int],
                            z: float = 1.959963984540054) -> tuple[float, float]:
    """95% interval of a rate pooled over clusters (hits[i] of trials[i] in cluster i, e.g. turns of an episode).

    Observations within a cluster are not independent, so the Wilson interval over all trials is too narrow when
    clusters differ. The interval returned spans both the Wilson interval of the pooled counts and the normal
    interval of the ratio estimator with its between-cluster variance (Cochran 1977, 6.3); with fewer than two
    clusters it is the Wilson interval.
    """
    total, n = sum(hits), sum(trials)
    lo, hi = wilson_interval(total, n)
    m = len(trials)
    if m < 2 or n == 0:
        return lo, hi
    p = total / n
    mean_trials = n / m
    var = sum((y - p * t) ** 2 for y, t in zip(hits, trials, strict=True)) / (m * (m - 1) * mean_trials**2)
    half = z * math.sqrt(var)
    return max(0.0, min(lo, p - half)), min(1.0, max(hi, p + half))


Z_ONE_SIDED_5 = 1.6448536269514722  # one-sided 5%
Z_POWER_80 = 0.8416212335729143     # 80% power


def episodes_to_separate(p1: float, p2: float, margin: float = 0.0) -> int | None:
    """Episodes per cell that would show `p1 > p2 - margin` (one-sided 5%, 80% power) if the true rates were
    `p1` and `p2`, for two independent proportions (Fleiss 1981, without continuity correction; paired runs need
    fewer). `margin` 0 is "higher", > 0 is "no loss" (non-inferiority). None when the rates give the opposite
    direction (no number of episodes would show it) or the difference is zero variance."""
    gap = p1 - p2 + margin
    spread = p1 * (1 - p1) + p2 * (1 - p2)
    if gap <= 0 or spread == 0:
        return None
    if margin:
        root = (Z_ONE_SIDED_5 + Z_POWER_80) * math.sqrt(spread)
    else:
        pooled = (p1 + p2) / 2
        root = Z_ONE_SIDED_5 * math.sqrt(2 * pooled * (1 - pooled)) + Z_POWER_80 * math.sqrt(spread)
    return math.ceil((root / gap) ** 2)
