"""Task rewards on hand-written completions: the Sokoban label reward, the 24-game reward, Countdown, guards."""

from __future__ import annotations

import json
import math

import pytest

from sftlab.errors import DataError, SftlabError
from sftlab.train.rewards import (
    CheckedReward,
    RewardError,
    TaskReward,
    countdown_score,
    general_points_score,
    group_stats,
    prompt_prefill,
    sokoban_reward,
    sokoban_score,
)

DIVERSE = ("tree", "fix", "jade", "freedom")  # Up, Down, Left, Right in a diverse prompt's own words
BASE = ("Up", "Down", "Left", "Right")


def sok(answer_text: str, think: str = "<think> the box is above me </think> ") -> str:
    return f"{think}<answer> {answer_text} </answer>"


# --- Sokoban ---------------------------------------------------------------------------------------------------


def test_sokoban_right_label_in_diverse_words_is_one():
    assert sokoban_score(sok("tree"), "Up", DIVERSE).reward == 1.0
    assert sokoban_score(sok("FREEDOM"), "Right", DIVERSE).reward == 1.0  # case-insensitive, like the env


def test_sokoban_right_direction_in_the_wrong_label_set_is_zero():
    result = sokoban_score(sok("Up"), "Up", DIVERSE)
    assert (result.reward, result.reason) == (0.0, "invalid label")
    # ... and a diverse word is wrong for a base-word prompt
    assert sokoban_score(sok("tree"), "Up", BASE).reward == 0.0
    assert sokoban_score(sok("Up"), "Up", BASE).reward == 1.0


def test_sokoban_wrong_action_is_zero():
    result = sokoban_score(sok("fix"), "Up", DIVERSE)
    assert (result.reward, result.reason) == (0.0, "wrong action")


@pytest.mark.parametrize(
    "response",
    [
        "<answer> tree </answer>",  # no think block
        "<think> a </think> <think> b </think> <answer> tree </answer>",  # two think blocks
        "<think> a </think> <answer> tree </answer> <answer> tree </answer>",  # two answers
        "<answer> tree </answer> <think> a </think>",  # wrong order
        "<think> a <answer> tree </answer> </think>",  # answer inside think
        "<think> a </think> tree",  # no answer tags
        "<think> a </think> <answer> tree",  # unclosed answer
        "",
    ],
)
def test_sokoban_broken_format_is_zero(response):
    result = sokoban_score(response, "Up", DIVERSE)
    assert (result.reward, result.reason) == (0.0, "format")


def test_sokoban_prompt_prefill_think_counts_like_the_paper():
    # The original prompt ends with "<think>", so its responses start inside the think block.
    completion = " the box is above me </think> <answer> tree </answer>"
    assert sokoban_score(completion, "Up", DIVERSE).reward == 0.0
    assert sokoban_score(completion, "Up", DIVERSE, prefill="<think>").reward == 1.0
    # a second <think> after the prefilled one breaks the format, as in the paper
    assert sokoban_score(sok("tree"), "Up", DIVERSE, prefill="<think>").reward == 0.0
    assert prompt_prefill("<|im_start|>assistant\n<think>") == "<think>"
    assert prompt_prefill([{"role": "user", "content": "Always output: <think> [..] </think>"}]) == ""
    assert prompt_prefill([{"role": "user", "content": "x"}, {"role": "assistant", "content": "<think>"}]) == (
        "<think>"
    )


def test_sokoban_huge_and_odd_completions_score_zero_without_raising():
    huge = "<think>" + "a" * 1_000_000 + "</think><answer> tree </answer>"
    assert sokoban_score(huge, "Up", DIVERSE).reward == 0.0
    assert sokoban_score(None, "Up", DIVERSE).reward == 0.0
    assert sokoban_score(sok("\x00\u202e"), "Up", DIVERSE).reward == 0.0


def test_sokoban_bad_row_is_a_data_error():
    with pytest.raises(DataError):
        sokoban_score(sok("tree"), "North", DIVERSE)
    with pytest.raises(DataError):
        sokoban_score(sok("tree"), "Up", ("tree", "fix"))


def test_trl_contract_conversational_and_string_completions():
    metadata = [json.dumps({"labels": list(DIVERSE)}), {"labels": list(DIVERSE)}, {"labels": list(BASE)}]
    completions = [
        [{"role": "assistant", "content": sok("tree")}],  # conversational
        sok("jade"),  # plain string, answer Left
        [{"role": "assistant", "content": sok("Down")}],
    ]
    prompts = [[{"role": "user", "content": "solve"}]] * 3
    rewards = sokoban_reward(completions, answer=["Up", "Left", "Up"], metadata=metadata, prompts=prompts)
    assert rewards == [1.0, 1.0, 0.0]
    # the per-row dispatcher reads the `task` column
    dispatch = TaskReward()
    assert dispatch(completions, answer=["Up", "Left", "Up"], metadata=metadata, task=["sokoban"] * 3) == rewards


def test_sokoban_reward_on_real_built_prompt():
    from sftlab.prompts.sokoban import user_prompt
    from sftlab.tasks.sokoban import generate

    puzzle = generate(dim=(6, 6), num_boxes=1, seed=3)
    prompt = [{"role": "user", "content": user_prompt(puzzle.rows, labels=DIVERSE)}]
    assert "where tree is Up" in prompt[0]["content"]
    label = dict(zip(BASE, DIVERSE, strict=True))[puzzle.solution[0]]
    wrong = next(w for w in DIVERSE if w != label)
    rewards = sokoban_reward(
        [sok(label), sok(wrong), sok(puzzle.solution[0])],
        answer=[puzzle.solution[0]] * 3,
        metadata=[{"labels": list(DIVERSE)}] * 3,
        prompts=[prompt] * 3,
    )
    assert rewards == [1.0, 0.0, 0.0]


# --- General Points --------------------------------------------------------------------------------------------


def gp(formula: str) -> str:
    return json.dumps({"cards": ["K", "2", "7", "5"], "number": [10, 2, 7, 5], "formula": formula})


GP_ANSWER = {"numbers": [10, 2, 7, 5], "target": 24}


@pytest.mark.parametrize(
    ("response", "raw", "reason"),
    [
        (gp("10+2+7+5"), 5, "correct"),
        (gp("10*2+7-5"), -1, "wrong value"),  # legal, right numbers, 22
        (gp("10+2+7+7"), -2, "wrong numbers"),  # 7 used twice, 5 unused
        (gp("10+2+7"), -2, "wrong numbers"),  # a card unused
        (gp("10+2+7+5+)"), -3, "illegal formula"),  # grammar
        (gp("10 + 2 + 7 + 5 ** 1"), -3, "illegal formula"),  # not a token of the grammar
        ("I think the answer is 24", -3, "illegal formula"),  # no formula
        ("", -3, "illegal formula"),
        ("x" * 2_000_000, -3, "illegal formula"),
    ],
)
def test_general_points_reward_for_each_failure_class(response, raw, reason):
    result = general_points_score(response, GP_ANSWER)
    assert (result.reward, result.reason) == (float(raw), reason)
    rescaled = general_points_score(response, json.dumps(GP_ANSWER), rescale=True)
    assert rescaled.reward == pytest.approx((raw + 3) / 8)
    assert 0.0 <= rescaled.reward <= 1.0


def test_general_points_trl_function_with_rescale_flag():
    reward = TaskReward("general_points", gp_rescale=True)
    out = reward([[{"role": "assistant", "content": gp("10+2+7+5")}], gp("1")], answer=[GP_ANSWER] * 2)
    assert out == [1.0, 0.125]


# --- Countdown -------------------------------------------------------------------------------------------------


CD_ANSWER = {"numbers": [25, 4, 3, 7], "target": 107}


def test_countdown_reward_and_format_term():
    right = "<think> 25*4 = 100, +7 = 107 </think> \\boxed{25*4+7}"
    wrong = "<think> hmm </think> \\boxed{25*4+3}"
    assert countdown_score(right, CD_ANSWER).reward == 1.0
    assert countdown_score(wrong, CD_ANSWER).reward == 0.0
    assert countdown_score(wrong, CD_ANSWER, format_score=0.1).reward == pytest.approx(0.1)
    assert countdown_score("no idea", CD_ANSWER, format_score=0.1).reward == 0.0  # nothing extractable
    assert countdown_score("\\boxed{25*4*4+7}", CD_ANSWER).reward == 0.0  # 4 used twice
    assert countdown_score("", CD_ANSWER).reward == 0.0
    assert countdown_score("\\boxed{" + "(" * 100_000 + "}", CD_ANSWER).reward == 0.0


def test_countdown_format_score_must_stay_below_a_correct_answer():
    with pytest.raises(SftlabError):
        TaskReward("countdown", countdown_format_score=1.0)


# --- Guards and statistics -------------------------------------------------------------------------------------


def test_checked_reward_turns_nan_into_a_clear_error():
    def nan_reward(completions, **kwargs):
        return [float("nan")] * len(completions)

    with pytest.raises(RewardError, match="nan_reward returned nan"):
        CheckedReward(nan_reward)(completions=["a", "b"])
    with pytest.raises(RewardError, match="returned 1 values for 2"):
        CheckedReward(lambda completions, **kw: [1.0])(completions=["a", "b"])
    with pytest.raises(RewardError, match="not a number"):
        CheckedReward(lambda completions, **kw: [None, 1.0])(completions=["a", "b"])


def test_checked_reward_logs_group_statistics():
    logged = {}
    reward = CheckedReward(lambda completions, **kw: [float(len(c)) for c in completions])
    out = reward(
        completions=["a", "bbb", "cc", "cc"],
        id=["p1", "p1", "p2", "p2"],
        log_metric=lambda name, value: logged.__setitem__(name, value),
    )
    assert out == [1.0, 3.0, 2.0, 2.0]
    assert logged["reward/group_std"] == pytest.approx((1.0 + 0.0) / 2)
    assert logged["reward/frac_all_equal_groups"] == 0.5


def test_group_stats_ignores_singletons():
    assert group_stats([1.0, 2.0], ["a", "b"]) is None
    std, frac = group_stats([0.0, 0.0, 0.0, 1.0], ["a", "a", "b", "b"])
    assert math.isclose(std, 0.25) and frac == 0.5


def test_unknown_task_is_a_config_error():
    with pytest.raises(SftlabError, match="choose one of"):
        TaskReward("chess")
