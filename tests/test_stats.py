"""Statistics against known values: the exact binomial tail, the exact McNemar test, Newcombe's interval of a
difference, and the clustered interval of a per-turn rate."""

import math

import pytest

from sftlab.stats import (
    binomial_tail,
    clustered_rate_interval,
    difference_interval,
    episodes_to_separate,
    mcnemar_exact,
    wilson_interval,
)


def test_binomial_tail_is_exact():
    assert binomial_tail(0, 5) == 1.0 and binomial_tail(6, 5) == 0.0
    assert binomial_tail(5, 5) == 1 / 32
    assert binomial_tail(3, 5) == 16 / 32  # (10 + 5 + 1) / 32
    assert binomial_tail(60, 100) == pytest.approx(0.028443966820490395, rel=1e-12)  # scipy.stats.binom.sf(59, 100, .5)


def test_mcnemar_exact_on_known_tables():
    # 10 vs 2 discordant pairs: one-sided p = P(X >= 10 | 12, 1/2) = 79/4096; the two-sided p 0.0386 is the
    # textbook exact McNemar value (scipy.stats.binomtest(10, 12).pvalue = 0.03857421875).
    p_a, p_b = mcnemar_exact(10, 2)
    assert p_a == 79 / 4096 and 2 * p_a == pytest.approx(0.03857421875)
    assert p_b == 1 - (1 + 12) / 4096  # P(X >= 2 | 12)
    assert mcnemar_exact(8, 0) == (1 / 256, 1.0)
    assert mcnemar_exact(0, 0) == (1.0, 1.0)  # nothing discordant: no evidence either way


def test_newcombe_difference_interval_matches_the_paper():
    # Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    lo, hi = difference_interval((56 / 70, *wilson_interval(56, 70)), (48 / 80, *wilson_interval(48, 80)))
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_clustered_interval_widens_when_episodes_differ():
    alike = clustered_rate_interval([2, 2, 2, 2], [4, 4, 4, 4])
    assert alike == wilson_interval(8, 16)  # no between-episode spread: the Wilson interval
    split = clustered_rate_interval([4, 4, 0, 0], [4, 4, 4, 4])  # same pooled rate, all-or-nothing episodes
    assert split[0] < alike[0] and split[1] > alike[1]
    assert split == pytest.approx((max(0.0, 0.5 - 1.959963984540054 * math.sqrt(1 / 12)),
                                   min(1.0, 0.5 + 1.959963984540054 * math.sqrt(1 / 12))))
    assert clustered_rate_interval([3], [5]) == wilson_interval(3, 5)  # one episode: Wilson


def test_episodes_to_separate_matches_the_sample_size_tables():
    # Fleiss (no continuity correction), one-sided 5%, 80% power: 30% vs 50% needs 74 per group.
    assert episodes_to_separate(0.5, 0.3) == 74
    # Non-inferiority at 80% vs 80% with a 10-point margin: (z_.95 + z_.8)^2 * 0.32 / 0.01 = 197.9 -> 198.
    assert episodes_to_separate(0.8, 0.8, margin=0.1) == 198
    assert episodes_to_separate(0.3, 0.5) is None            # the rates point the other way
    assert episodes_to_separate(0.0, 0.0, margin=0.1) is None  # no variance: nothing to power
    assert episodes_to_separate(0.6, 0.3) < episodes_to_separate(0.5, 0.3)  # a larger gap needs fewer
