"""The Sokoban GRPO reward against the original's: 1,200 responses on 10 original RL prompts, each with the reward
`compute_score_with_action_sequence_and_diverse_prompt` gave it (tests/fixtures/original/README.md)."""

from __future__ import annotations

import pytest

from sftlab.integrations.verl import compute_score
from sftlab.train.grpo import GrpoConfig, task_reward
from sftlab.train.rewards import TaskReward, sokoban_score

from .conftest import load


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    rows = load("sokoban_rl_rewards.jsonl")
    assert len(rows) == 1200 and sum(r["reward"] == 1.0 for r in rows) == 131
    return rows


def _trl_batch(rows: list[dict]) -> dict:
    """The rows as TRL hands them to a reward: the original's templated prompt (it ends with the `<think>`
    prefill), the completion, the row's answer and its labels."""
    return {"completions": [r["response"] for r in rows], "prompts": [r["prompt"] for r in rows],
            "answer": [r["label"] for r in rows], "metadata": [{"labels": r["words"]} for r in rows],
            "task": ["sokoban"] * len(rows)}


def test_every_response_gets_the_originals_reward_from_the_grpo_reward(rows):
    reward = task_reward(GrpoConfig(model="m", data="d", out="o"))  # the reward a default (paper) run trains on
    assert reward(**_trl_batch(rows)) == [r["reward"] for r in rows]
    # the same completions in a chat prompt whose last message is the assistant's `<think>` prefill
    chat = [[{"role": "user", "content": "..."}, {"role": "assistant", "content": "<think>"}] for _ in rows]
    assert reward(**{**_trl_batch(rows), "prompts": chat}) == [r["reward"] for r in rows]


def test_every_response_gets_the_originals_reward_through_verl_compute_score(rows):
    # the original's `complete` reward manager: solution_str = decoded prompt + response, ground truth the ids;
    # the labels are read from the prompt as the original does, or given in extra_info as sftlab's export does
    for row in rows:
        solution = row["prompt"] + row["response"]
        assert compute_score(row["data_source"], solution, row["ground_truth"], {}) == row["reward"], row
        given = {"labels": row["words"], "prefill": "<think>"}
        assert compute_score(row["data_source"], row["response"], row["label"], given) == row["reward"], row


def test_the_strict_reward_is_a_setting_and_differs_on_74_responses(rows):
    batch = _trl_batch(rows)
    strict = task_reward(GrpoConfig(model="m", data="d", out="o", sokoban_reward="strict"))(**batch)
    assert strict == TaskReward("sokoban", sokoban_reward="strict")(**batch)
    differ = [r for r, s in zip(rows, strict, strict=True) if s != r["reward"]]
    # every difference is a response the original rewards and the eval's one-label rule does not accept
    assert len(differ) == 74 and all(r["reward"] == 1.0 for r in differ)
    assert {"4", "4(Right)", "Up;Up"} & {r["response"].split("<answer>")[-1].split("</answer>")[0].strip()
                                         for r in differ}
    assert all(sokoban_score(r["response"], r["label"], r["words"], prefill="<think>").reward == 0.0 for r in differ)
    given = {"labels": differ[0]["words"], "prefill": "<think>"}
    assert compute_score("sokoban", differ[0]["response"], differ[0]["label"], given) == 1.0
    assert compute_score("sokoban", differ[0]["response"], differ[0]["label"], given, sokoban_reward="strict") == 0.0


def test_the_original_reward_is_a_training_field_and_older_strict_runs_resume():
    default = GrpoConfig(model="m", data="d", out="o")
    assert default.sokoban_reward == "original" and default.training_fields()["sokoban_reward"] == "original"
    assert "sokoban_reward" not in GrpoConfig(model="m", data="d", out="o", sokoban_reward="strict").training_fields()


def test_a_rewarded_response_padded_past_the_length_limit_scores_zero(rows):
    row = next(r for r in rows if r["reward"] == 1.0 and "</think>" in r["response"])
    padded = row["response"].replace("</think>", " x" * 40_000 + "</think>", 1)
    reward = TaskReward("sokoban")
    batch = {"prompts": [row["prompt"]], "answer": [row["label"]], "metadata": [{"labels": row["words"]}]}
    assert reward(completions=[row["response"]], **batch) == [1.0]
    assert reward(completions=[padded], **batch) == [0.0]  # unread, as every Sokoban reward over 65,536 characters
