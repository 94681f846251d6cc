"""General Points and Countdown: reference policies' exact numbers, hand-written responses, multi-turn feedback."""

from __future__ import annotations

import json

import pytest

from sftlab.backends import SamplingParams, get_backend
from sftlab.data.suites import suite_rows
from sftlab.evaluate import EvalConfig, evaluate, single_turn
from sftlab.tasks.general_points import SPLITS


@pytest.fixture(scope="module")
def gp_rows():
    return suite_rows("gp-eval", n=3)


def _by(metrics):
    return {(m.split, m.metric): m for m in metrics}


def test_gp_oracle_is_perfect_on_every_split(gp_rows):
    units = single_turn.run(get_backend("oracle"), gp_rows, SamplingParams())
    m = _by(single_turn.aggregate(units, list(SPLITS)))
    for split in SPLITS:
        assert (m[split, "acc"].value, m[split, "valid"].value, m[split, "score"].value) == (1, 1, 5)
        assert m[split, "acc"].n == 3


def test_gp_random_is_always_valid(gp_rows):
    units = single_turn.run(get_backend("random"), gp_rows, SamplingParams(seed=3), seed=3)
    m = _by(single_turn.aggregate(units, list(SPLITS)))
    assert all(m[split, "valid"].value == 1.0 for split in SPLITS)
    assert all(u["summary"]["reward"] in (5, -1) for u in units)


def test_countdown_oracle_and_random():
    rows = suite_rows("countdown-eval", n=2)
    splits = list(dict.fromkeys(r["split"] for r in rows))
    oracle = _by(single_turn.aggregate(single_turn.run(get_backend("oracle"), rows, SamplingParams()), splits))
    assert all(oracle[s, "acc"].value == 1.0 for s in splits)
    assert all((s, "valid") not in oracle for s in splits)  # Countdown reports acc only


@pytest.mark.parametrize("response, reward", [
    ('{"cards": ["2", "7", "Q", "2"], "number": [2, 7, 10, 2], "formula": "(10/2+7)*2"}', 5),
    ('"formula": "(10/2+7)*2 = 24"', 5),
    ('{"formula": "10+7+2+2"}', -1),
    ('{"formula": "10*7+2"}', -2),         # a number missing
    ('{"formula": "10+7+2+2+9"}', -2),     # a foreign number
    ('{"formula": "__import__(\'os\')"}', -3),
    ("", -3),
    ("x" * 100_000, -3),
])
def test_gp_scoring_of_hand_written_responses(response, reward):
    verdict = single_turn.judge("general_points", response, {"numbers": [2, 7, 10, 2], "target": 24})
    assert verdict.reward == reward
    assert single_turn.verdict_text(verdict).startswith(f"reward={reward}: ")


def test_gp_several_answers_are_scored_not_crashed():
    response = '{"formula": "10+7+2+2"} or maybe {"formula": "(10/2+7)*2"}'
    verdict = single_turn.judge("general_points", response, {"numbers": [2, 7, 10, 2], "target": 24})
    assert verdict.reward in (5, -1, -2, -3)


def test_multi_turn_feeds_back_the_verifier_reason(gp_rows):
    units = single_turn.run(get_backend("random"), gp_rows, SamplingParams(), max_attempts=5)
    for unit in units:
        records, summary = unit["records"], unit["summary"]
        assert [r["turn"] for r in records] == list(range(summary["attempts"]))
        assert summary["attempts"] == 5 or summary["correct"]
        assert records[0]["prompt"].startswith("\n[Task Description]")
        for record in records[1:]:
            assert record["prompt"].startswith("You failed this trial because ")
    assert any(u["summary"]["attempts"] == 5 for u in units)
    formulas = {r["parsed"] for r in units[0]["records"]}
    assert len(formulas) > 1  # each attempt is sampled with its own seed


def test_tiny_model_multi_turn_gp_end_to_end(tmp_path):
    out = tmp_path / "eval"
    results = evaluate(EvalConfig(model="tiny-random", suite="gp-eval", episodes=1, max_new_tokens=3,
                                  multi_turn=True, max_attempts=2, out=str(out)), progress=False)
    m = {(r.split, r.metric): r for r in results}
    for split in SPLITS:
        assert m[split, "acc"].value == 0.0 and m[split, "attempts"].value == 2.0
        assert m[split, "score"].value == -3.0  # random tokens are never a legal formula
    lines = (out / "samples" / "tiny-random" / "base" / "gp-eval.jsonl").read_text().splitlines()
    assert len(lines) == 9 * 2 and all(json.loads(x)["verdict"].startswith("reward=-3") for x in lines)
    assert results[0].settings["max_attempts"] == 2


def test_parsed_counts_only_answers_in_the_task_format():
    from sftlab.evaluate.single_turn import has_answer, judge

    answer = {"numbers": [2, 3, 4], "target": 14}
    for response, parsed in [("To solve this, add them.", False), ("2*3+8", False),
                             ("so \\boxed{2*(3+4)}", True), ("<answer> 2*3 </answer>", True)]:
        verdict = judge("countdown", response, answer)
        assert has_answer("countdown", response, verdict) is parsed, response
    crossdomain = {"task": "basic_arithmetic", "seed": 0, "index": 0, "answer": "1"}
    assert has_answer("crossdomain", "no box", judge("crossdomain", "no box", crossdomain)) is False


def test_gp_float_arithmetic_scores_as_the_originals_eval(tmp_path):
    """--gp-arithmetic float: the original's float eval (8/(3-8/3) is -1 there), through the real scorer loop, and
    part of the evaluation key."""
    from sftlab.backends.policies import ScriptedBackend
    from sftlab.errors import ConfigError
    from sftlab.evaluate import EvalConfig
    from sftlab.evaluate.runner import eval_settings
    from sftlab.task_adapters.general_points import GeneralPointsEvalOptions

    row = {"id": "g0", "task": "general_points", "split": "id", "prompt": [{"role": "user", "content": "24?"}],
           "answer": {"numbers": [3, 3, 8, 8], "target": 24}, "metadata": {"cards": ["3", "3", "8", "8"]}}
    text = '{"cards": ["3", "3", "8", "8"], "number": [3, 3, 8, 8], "formula": "8/(3-8/3)"}'
    rewards = {}
    for arithmetic in ("exact", "float"):
        options = GeneralPointsEvalOptions(gp_arithmetic=arithmetic)  # the task's eval options, as EvalConfig's
        units = single_turn.run(ScriptedBackend({"g0": [text]}), [row], SamplingParams(), options=options)
        rewards[arithmetic] = units[0]["summary"]["reward"]
    assert rewards == {"exact": 5, "float": -1}
    base = dict(model="", backend="oracle", suite="gp-eval")
    assert eval_settings(EvalConfig(**base, gp_arithmetic="float"), 8, 1)["arithmetic"] == "float"
    assert eval_settings(EvalConfig(**base), 8, 1)["arithmetic"] == "exact"
    with pytest.raises(ConfigError, match="gp_arithmetic is an eval option of general_points, not of sokoban"):
        EvalConfig(**{**base, "suite": "sokoban-eval"}, gp_arithmetic="float")  # a task's own option
    from sftlab.cli import main

    assert main(["eval", "--backend", "oracle", "--suite", "sokoban-eval", "--gp-arithmetic", "float"]) == 2
    with pytest.raises(ConfigError, match="unknown gp_arithmetic 'decimal'"):
        EvalConfig(**base, gp_arithmetic="decimal")
