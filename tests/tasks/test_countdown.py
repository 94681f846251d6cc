"""Countdown: generator (always solvable, deterministic, knobs), solver, answer extraction and verifier."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftlab.errors import ConfigError
from sftlab.tasks import get_task
from sftlab.tasks.countdown import (
    PRESETS,
    VARIANTS,
    CountdownConfig,
    Problem,
    config_for,
    extract_answer,
    feedback_turn,
    generate,
    show,
    solve,
    verify,
)
from sftlab.tasks.expr import evaluate, numbers_used


def _uses_at_most(expression: str, numbers) -> bool:
    used, have = Counter(numbers_used(expression, max_len=10_000)), Counter(numbers)
    return all(used[n] <= have[n] for n in used)


@pytest.mark.parametrize("variant", list(PRESETS))
def test_generated_problems_are_solvable_and_in_range(variant):
    config = PRESETS[variant]
    for seed in range(25):
        p = generate(seed, config)
        assert isinstance(p, Problem) and p.seed == seed
        assert len(p.numbers) == config.num_numbers
        assert all(config.min_value <= n <= config.max_value for n in p.numbers)
        assert config.min_target <= p.target <= config.max_target
        assert evaluate(p.solution, max_len=1000) == p.target
        # the construction uses every number
        assert sorted(numbers_used(p.solution, max_len=1000)) == sorted(p.numbers)
        assert verify(p.solution, p.numbers, p.target).reward == 1


def test_generate_is_deterministic_and_seed_dependent():
    assert generate(7) == generate(7)
    assert len({generate(s).numbers for s in range(20)}) == 20


def test_config_validation():
    for kwargs in (
        {"num_numbers": 1},
        {"num_numbers": 7},
        {"min_value": 0},
        {"min_value": 50, "max_value": 10},
        {"min_target": 500, "max_target": 100},
        {"num_numbers": 2, "max_value": 10, "min_target": 101, "max_target": 200},  # out of reach
    ):
        with pytest.raises(ConfigError):
            CountdownConfig(**kwargs)
    with pytest.raises(ConfigError, match="seed"):
        generate(-1)
    with pytest.raises(ConfigError, match="unknown Countdown variant"):
        config_for("huge")


def test_solver_finds_known_answers_and_reports_none():
    assert solve([25, 50, 75, 100, 3, 6], 952) is not None  # the famous Countdown game
    expr = solve([25, 50, 75, 100, 3, 6], 952)
    assert evaluate(expr, max_len=1000) == 952 and _uses_at_most(expr, [25, 50, 75, 100, 3, 6])
    assert solve([1, 2], 100) is None
    assert solve([7, 3], 7) == "7"  # fewest numbers first: a single number can be the answer
    assert solve([2, 3, 5, 12], 44) == "(2+5/3)*12"  # no integer-only way: needs a fractional intermediate


def test_solver_and_verifier_agree_on_random_problems():
    rng = random.Random(5)
    for _ in range(40):
        numbers = [rng.randint(1, 25) for _ in range(4)]
        target = rng.randint(1, 200)
        expr = solve(numbers, target)
        if expr is None:
            continue
        assert evaluate(expr, max_len=1000) == target and _uses_at_most(expr, numbers)
        assert verify(f"... so \\boxed{{{expr}}}", numbers, target).reward == 1


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("so \\boxed{1+2} then \\boxed{(3+4)*5}", "(3+4)*5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # braces inside are balanced
        ("\\boxed{1+2} and a broken \\boxed{3+", "1+2"),  # the last *balanced* box
        ("<answer> (1 + 2) / 3 </answer>", "(1 + 2) / 3"),
        ("<answer>1</answer> x <answer>2</answer>", "2"),
        ("\\boxed {42}", "42"),
        ("no answer here", None),
        ("", None),
    ],
)
def test_extract_answer(response, answer):
    assert extract_answer(response) == answer


@pytest.mark.parametrize(
    ("response", "reward", "reason"),
    [
        ("\\boxed{(100-4)*3}", 1, "your expression evaluates to 288."),
        ("\\boxed{(100 - 4) \\times 3 = 288}", 1, "your expression evaluates to 288."),
        ("<answer>(100-4)×3</answer>", 1, "your expression evaluates to 288."),
        ("(100-4)*3", 1, "your expression evaluates to 288."),  # a bare expression
        ("\\boxed{100*3-4}", 0, "your expression evaluates to 296, not 288."),
        ("\\boxed{(100-4)*3*1}", 0, "you used numbers that were not given: [1]."),
        ("\\boxed{(100-4)*3+3-3}", 0, "you used numbers more times than they were given: [3]."),
        ("\\boxed{100/(4-4)}", 0, "you used numbers more times than they were given: [4]."),
        ("\\boxed{2**8}", 0, None),
        ("\\boxed{}", 0, "no answer was found in your response."),
        ("I think it is 288", 0, None),
    ],
)
def test_verify(response, reward, reason):
    verdict = verify(response, [100, 4, 3, 7], 288)
    assert verdict.reward == reward
    if reason is not None:
        assert verdict.reason == reason
    assert verdict.correct == (reward == 1)
    if reward == 0:
        assert feedback_turn(verdict).startswith("You failed this trial because ")


def test_verify_division_by_zero_and_subsets():
    assert verify("\\boxed{7/(4-4)}", [7, 4, 4], 7).reason == "your expression divides by zero."
    assert verify("\\boxed{7}", [7, 4, 4], 7).reward == 1  # at most once: unused numbers are fine


HOSTILE = [
    "",
    "9" * 1_000_000,
    "\\boxed{" * 50_000,
    "{" * 100_000 + "\\boxed{1}",
    "\\boxed{" + "(" * 10_000 + "288" + ")" * 10_000 + "}",
    "\\boxed{__import__('os')}",
    "\\boxed{9**9**9}",
    "\\boxed{2^1000000}",
    "\\boxed{２８８}",
    "\\boxed{NaN}",
    "<answer>" * 10_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_score_zero(text):
    verdict = verify(text, [100, 4, 3, 7], 288)
    assert verdict.reward == 0 and verdict.reason


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_never_raises(text):
    assert verify(text, [1, 2, 3], 6).reward in (0, 1)
    extract_answer(text)


def test_variants_and_show():
    assert set(VARIANTS) == set(PRESETS) >= {"3num", "4num", "5num", "large"}
    text = get_task("countdown").show(seed=3)
    assert "Numbers:" in text and "Target:" in text
    p = generate(3, config_for("large"))
    assert f"Target: {p.target}" in show(3, "large")


def test_prompt():
    from sftlab.prompts.countdown import user_prompt

    text = user_prompt((19, 36, 55, 7), 65)
    assert text == (
        "Using the numbers [19, 36, 55, 7], create an equation that equals 65. You can use basic arithmetic "
        "operations (+, -, *, /) and parentheses, and each number can be used at most once.\n"
        "Please reason step by step, and put your final answer within \\boxed{}."
    )
