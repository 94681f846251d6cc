"""Metrics: reflection markers, rates with Wilson intervals, means."""

from __future__ import annotations

import pytest

from sftlab.metrics import (
    count_markers,
    marker_counts,
    mean,
    rate,
    reflection_rate,
    response_metrics,
)


def test_markers_count_each_phrase_once():
    text = ("Hmm, 3+4=7. Wait, that's not right. Let me double-check: alternatively 7*3... "
            "this doesn’t work, backtrack. WAIT.")
    assert marker_counts(text) == {"hmm": 1, "wait": 2, "that's not right": 1, "let me double-check": 1,
                                   "alternatively": 1, "this doesn't work": 1, "backtrack": 1}
    assert count_markers(text) == 8


def test_markers_respect_word_boundaries():
    assert count_markers("awaiting the waitress; hmmm") == 0
    assert count_markers("") == count_markers(None) == 0
    assert count_markers("wait " * 20_000) == 20_000


def test_reflection_rate_is_per_thousand_tokens():
    assert reflection_rate(3, 1500) == 2.0
    assert reflection_rate(3, 0) == 0.0
    metrics = {m.metric: m for m in response_metrics("s", [100, 300], [1, 3])}
    assert metrics["response_tokens"].value == 200 and metrics["response_tokens"].n == 2
    assert metrics["reflection_rate"].value == 10.0


def test_rate_uses_wilson_intervals():
    m = rate("s", "success", 0, 5)
    assert m.value == 0 and m.ci_low == 0 and m.ci_high == pytest.approx(0.4345, abs=1e-4)
    m = rate("s", "success", 5, 5)
    assert m.ci_low == pytest.approx(0.5655, abs=1e-4) and m.ci_high == 1
    m = rate("s", "success", 50, 100)
    assert (m.ci_low, m.ci_high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))


def test_mean_of_nothing_is_absent():
    assert mean("s", "efficiency", []) is None
    m = mean("s", "score", [5, -1])
    assert (m.value, m.n) == (2.0, 2) and m.ci_low < 2 < m.ci_high
