"""The original's GRPO data choice: a diverse Sokoban RL build with named action spaces mixed per row
(`--option action_spaces=base+cardinal`, the original's create_mixed_dataset.py) instead of random words."""

from __future__ import annotations

import collections

import pytest

from sftlab.data import build_preset
from sftlab.data.presets import BuildConfig
from sftlab.errors import ConfigError
from sftlab.io import read_jsonl, read_manifest
from sftlab.task_adapters.sokoban_teacher import original_reward, prompt_label_ids

SPACES = {"base": ["Up", "Down", "Left", "Right"], "cardinal": ["North", "South", "West", "East"],
          "numerical": ["1", "2", "3", "4"]}


@pytest.mark.parametrize("value", ["base+cardinal", "base+cardinal+numerical"])
def test_named_action_spaces_split_the_rows_as_the_original_and_label_them_consistently(tmp_path, value):
    folder = build_preset("sokoban-diverse-rl", tmp_path / "rl", n=6, progress=False,
                          options={"action_spaces": value})
    rows = read_jsonl(folder / "train.jsonl")
    names = value.split("+")
    counts = collections.Counter(row["metadata"]["action_space"] for row in rows)
    share = len(rows) // len(names)  # each later space len // k rows, the first the rest
    assert [counts[n] for n in names] == [len(rows) - share * (len(names) - 1)] + [share] * (len(names) - 1)
    assert read_manifest(folder)["counts"]["action_spaces"] == dict(counts)
    for row in rows:
        labels = SPACES[row["metadata"]["action_space"]]
        text = row["prompt"][0]["content"]
        assert row["metadata"]["labels"] == labels and prompt_label_ids(text) == {w: i + 1 for i, w in
                                                                                  enumerate(labels)}
        assert ("where 1 is Up" in text) == (labels[0] == "1")  # only numerical/alphabetical say "where"
        right = labels[("Up", "Down", "Left", "Right").index(row["answer"])]
        solution = "<|im_start|>user\n" + text + "<|im_start|>assistant\n<think> ok </think> <answer> {} </answer>"
        assert original_reward(solution.format(right), [("Up", "Down", "Left", "Right").index(row["answer"]) + 1])


def test_the_option_is_checked_and_only_applies_to_diverse_rl_presets():
    assert BuildConfig("sokoban-diverse-rl").options == {}  # random words: sftlab's diverse set
    with pytest.raises(ConfigError, match="option action_spaces must be random-words or 2"):
        BuildConfig("sokoban-diverse-rl", options={"action_spaces": "base+klingon"})
    with pytest.raises(ConfigError, match="does not apply to sokoban-diverse-answer-only"):
        BuildConfig("sokoban-diverse-answer-only", options={"action_spaces": "base+cardinal"})
