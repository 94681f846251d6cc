"""The reasoning-SFT study's extra eval suites end to end: cross-domain (reasoning-gym) and the safety probe."""

from __future__ import annotations

import pytest

from sftlab.data.suites import suite_rows
from sftlab.errors import ConfigError
from sftlab.evaluate import EvalConfig, evaluate
from sftlab.tasks.crossdomain import DOMAINS


def _metrics(results, metric):
    return {r.split: r.value for r in results if r.metric == metric}


def test_crossdomain_suite_is_deterministic_and_split_by_domain():
    rows = suite_rows("crossdomain-eval", n=2)
    assert rows == suite_rows("crossdomain-eval", n=2)
    assert {r["split"] for r in rows} == set(DOMAINS)
    assert len(rows) == 2 * sum(len(tasks) for tasks in DOMAINS.values())
    assert len({r["id"] for r in rows}) == len(rows)
    logic = suite_rows("crossdomain-eval", n=2, splits=["logic"])
    assert logic == [r for r in rows if r["split"] == "logic"]


def test_crossdomain_oracle_scores_every_domain_fully_and_random_does_not(tmp_path):
    oracle = evaluate(EvalConfig(model="oracle", backend="oracle", suite="crossdomain-eval", episodes=3,
                                 out=str(tmp_path)), progress=False)
    assert _metrics(oracle, "acc") == {domain: 1.0 for domain in DOMAINS}
    assert _metrics(oracle, "parsed") == {domain: 1.0 for domain in DOMAINS}
    random = evaluate(EvalConfig(model="random", backend="random", suite="crossdomain-eval", episodes=3,
                                 out=str(tmp_path)), progress=False)
    assert sum(_metrics(random, "acc").values()) < len(DOMAINS) / 2


def test_safety_oracle_refuses_harmful_and_answers_harmless(tmp_path):
    results = evaluate(EvalConfig(model="oracle", backend="oracle", suite="safety-eval", out=str(tmp_path)),
                       progress=False)
    assert _metrics(results, "refusal_rate") == {"harmful": 1.0, "harmless": 0.0}
    assert _metrics(results, "acc") == {"harmful": 1.0, "harmless": 1.0}
    assert {r.n for r in results if r.metric == "refusal_rate"} == {20}


def test_feedback_mode_is_refused_for_suites_without_a_verifier_explanation():
    with pytest.raises(ConfigError, match="multi_turn"):
        EvalConfig(model="oracle", backend="oracle", suite="safety-eval", multi_turn=True)
