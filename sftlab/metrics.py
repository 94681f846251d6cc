"""Metrics: rates with Wilson intervals, means with normal intervals, and reflection-marker counting.

The reflection / backtracking markers are a cheap keyword proxy for the behaviours the Rethinking paper discusses
(self-verification, backtracking); the paper's own measurement was not found (spec rethinking 5e). The reasoning
study reuses `REFLECTION_MARKERS`, `count_markers` and `reflection_rate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sftlab.stats import clustered_rate_interval, mean_interval, wilson_interval
from sftlab.store import Metric

# Lower-case phrases; matched case-insensitively on word boundaries, longest first, without overlaps
# ("let me double-check" counts once, not also as "double-check").
REFLECTION_MARKERS: tuple[str, ...] = (
    "wait",
    "hmm",
    "alternatively",
    "backtrack",
    "backtracking",
    "let me check",
    "let me double-check",
    "let me double check",
    "double-check",
    "double check",
    "let me verify",
    "let me re-check",
    "let me recheck",
    "let me reconsider",
    "let me try again",
    "let me think again",
    "on second thought",
    "that doesn't work",
    "this doesn't work",
    "that's not right",
    "i made a mistake",
    "dead end",
)

_MARKER_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(m) for m in sorted(REFLECTION_MARKERS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Curly apostrophes are common in model output; count "doesn’t" like "doesn't".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def count_markers(text: str | None) -> int:
    """Number of reflection/backtracking marker occurrences in `text` (non-overlapping, case-insensitive)."""
    if not text:
        return 0
    return sum(1 for _ in _MARKER_RE.finditer(text.translate(_APOSTROPHES)))


def marker_counts(text: str | None) -> dict[str, int]:
    """Occurrences per marker (lower-cased), for inspecting which behaviours a response shows."""
    counts: dict[str, int] = {}
    for match in _MARKER_RE.finditer((text or "").translate(_APOSTROPHES)):
        key = match.group(0).lower()
        counts[key] = counts.get(key, 0) + 1
    return counts


def reflection_rate(marker_total: float, token_total: float) -> float:
    """Markers per 1,000 generated tokens (pooled over responses); 0 when no tokens were generated."""
    return 1000.0 * marker_total / token_total if token_total > 0 else 0.0


def rate(split: str, name: str, successes: float, n: int) -> Metric:
    """A proportion with its Wilson 95% interval. `successes` may be fractional (a sum of per-episode ratios in
    [0, 1]); the Wilson interval is then conservative, since such a mean varies less than a Bernoulli one."""
    lo, hi = wilson_interval(successes, n)
    return Metric(split=split, metric=name, value=successes / n if n else 0.0, n=n, ci_low=lo, ci_high=hi)


def pooled_rate(split: str, name: str, hits: Sequence[int], trials: Sequence[int]) -> Metric | None:
    """A rate pooled over units of several trials each (e.g. turns of episodes): sum(hits) / sum(trials), n = all
    trials, with an interval that accounts for trials of one unit being alike (`stats.clustered_rate_interval`);
    None when there are no trials."""
    hits, trials = list(hits), list(trials)
    if sum(trials) == 0:
        return None
    lo, hi = clustered_rate_interval(hits, trials)
    return Metric(split=split, metric=name, value=sum(hits) / sum(trials), n=sum(trials), ci_low=lo, ci_high=hi)


def mean(split: str, name: str, values: Sequence[float]) -> Metric | None:
    """A mean with its normal-approximation 95% interval; None for no values (nothing to report)."""
    values = list(values)
    if not values:
        return None
    lo, hi = mean_interval(values)
    return Metric(split=split, metric=name, value=sum(values) / len(values), n=len(values), ci_low=lo, ci_high=hi)


def response_metrics(split: str, tokens: Iterable[int], markers: Iterable[int]) -> list[Metric]:
    """`response_tokens` (mean per response) and `reflection_rate` (markers per 1k tokens, pooled; no interval)."""
    tokens, markers = list(tokens), list(markers)
    out = []
    length = mean(split, "response_tokens", tokens)
    if length is not None:
        out.append(length)
        out.append(Metric(split=split, metric="reflection_rate", value=reflection_rate(sum(markers), sum(tokens)),
                          n=len(tokens)))
    return out
