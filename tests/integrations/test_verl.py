"""verl's compute_score on rows exported by `sftlab data export verl` agrees with the TRL rewards on the same rows."""

from __future__ import annotations

import json

import pytest

from sftlab.errors import DataError
from sftlab.integrations.verl import compute_score, task_for
from sftlab.tasks.expr import evaluate
from sftlab.tasks.sokoban import DIRECTIONS
from sftlab.train.rewards import TaskReward


def exported(preset: str, tmp_path, n: int):
    """(original rows, verl rows as verl reads them: pandas with numpy arrays inside)."""
    import pandas as pd

    from sftlab.data import build_preset, load_rows
    from sftlab.data.export import export

    src = build_preset(preset, tmp_path / preset, n=n, progress=False)
    out = export("verl", src, tmp_path / f"{preset}-verl")
    frame = pd.read_parquet(out / "train.parquet")
    return load_rows(src), [frame.iloc[i] for i in range(len(frame))]


def sokoban_answers(row) -> tuple[str, str, str]:
    """Oracle, wrong-action and wrong-label-set responses for a Sokoban row."""
    labels = row["metadata"]["labels"]
    index = DIRECTIONS.index(row["answer"])
    oracle = f"<think> the plan says {row['answer']} </think> <answer> {labels[index]} </answer>"
    wrong = f"<think> guess </think> <answer> {labels[(index + 1) % 4]} </answer>"
    base_word = f"<think> guess </think> <answer> {row['answer']} </answer>"
    return oracle, wrong, base_word


def gp_answers(row) -> tuple[str, str, str]:
    numbers = row["answer"]["numbers"]
    oracle = json.dumps({"cards": row["metadata"]["cards"], "number": numbers,
                         "formula": row["metadata"]["solutions"][0]})
    candidates = [op.join(str(n) for n in numbers) for op in "+*-"]
    wrong = next(f for f in candidates if evaluate(f) != row["answer"]["target"])  # legal, right cards, not 24
    wrong_value = json.dumps({"formula": wrong})
    wrong_numbers = json.dumps({"formula": "1+1"})
    return oracle, wrong_value, wrong_numbers


def countdown_answers(row) -> tuple[str, str, str]:
    numbers = row["answer"]["numbers"]
    oracle = f"<think> found it </think> \\boxed{{{row['metadata']['solution']}}}"
    wrong = f"<think> hmm </think> \\boxed{{{numbers[0]}}}"
    return oracle, wrong, "no answer at all"


@pytest.mark.parametrize(
    ("preset", "answers", "oracle_reward"),
    [("sokoban-diverse-rl", sokoban_answers, 1.0), ("sokoban-rl", sokoban_answers, 1.0),
     ("gp-diverse-rl", gp_answers, 5.0), ("countdown-rl", countdown_answers, 1.0)],
)
def test_compute_score_agrees_with_trl_rewards_on_exported_rows(preset, answers, oracle_reward, tmp_path):
    rows, verl_rows = exported(preset, tmp_path, n=2)
    assert len(rows) == len(verl_rows) > 0
    trl_reward = TaskReward()
    for row, vrow in zip(rows, verl_rows, strict=True):
        responses = answers(row)
        trl = trl_reward([[{"role": "assistant", "content": r}] for r in responses],
                         answer=[row["answer"]] * 3, metadata=[row["metadata"]] * 3, task=[row["task"]] * 3,
                         prompts=[row["prompt"]] * 3)
        verl = [compute_score(vrow["data_source"], r, vrow["reward_model"]["ground_truth"], vrow["extra_info"])
                for r in responses]
        assert verl == trl, (row["id"], responses)
        assert verl[0] == oracle_reward  # the oracle answer earns the full reward
        wrong = verl[1:] if row["metadata"].get("labels") != list(DIRECTIONS) else verl[1:2]
        assert max(wrong) < oracle_reward  # the wrong ones don't (a base word is right in a base-word prompt)
    if preset == "sokoban-diverse-rl":  # a base direction word is not in a diverse prompt's label set
        assert all(compute_score(v["data_source"], sokoban_answers(r)[2], v["reward_model"]["ground_truth"],
                                 v["extra_info"]) == 0.0 for r, v in zip(rows, verl_rows, strict=True))


def test_reward_kwargs_and_data_sources():
    gt = {"numbers": [10, 2, 7, 5], "target": 24}
    right = json.dumps({"formula": "10+2+7+5"})
    assert compute_score("gp-l-all_10", right, gt) == 5.0
    assert compute_score("gp_l_all_5", "nonsense", gt, gp_rescale=True) == 0.0
    assert compute_score("gp_l_all_5", right, gt, gp_rescale=True) == 1.0
    fragile = json.dumps({"formula": "8/(3-8/3)"})  # exactly 24; 23.999999999999996 under the original's float eval
    assert compute_score("gp-l-all_10", fragile, {"numbers": [3, 3, 8, 8], "target": 24}) == 5.0
    assert compute_score("gp-l-all_10", fragile, {"numbers": [3, 3, 8, 8], "target": 24}, gp_arithmetic="float") == -1
    assert task_for("sokoban_6x6_1horizon_random") == "sokoban"
    assert task_for("whatever", {"task": "countdown"}) == "countdown"
    with pytest.raises(DataError, match="cannot tell the task"):
        compute_score("math", "x", gt)
    with pytest.raises(DataError, match="labels"):
        compute_score("sokoban_6x6_1horizon", "<think></think><answer> Up </answer>", ["Up"], {})
    # verl may hand a non-string (e.g. None) for an empty decode: a scored failure, not a crash
    assert compute_score("sokoban_x", None, ["Up"], {"labels": list(DIRECTIONS)}) == 0.0
