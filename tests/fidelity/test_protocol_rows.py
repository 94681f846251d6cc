"""docs/fidelity.md rows about the protocol: the answer-only converter (row 9), the retry rooms at the paper's 100
episodes per tag (row 2), and the Trainer's last partial batch."""

from __future__ import annotations

import pytest

from sftlab.data.builder import build, load_rows
from sftlab.data.presets import BuildConfig
from sftlab.errors import ConfigError


@pytest.mark.parametrize(("converter", "dataset"), [("778bcc4", "fixed_answer_only"),
                                                     ("077d4cf", "fixed_answer_only_HEAD_converter")])
def test_either_answer_only_converter_gives_the_originals_bytes(sokoban_prompts, tmp_path, converter, dataset):
    """Row 9: which converter made the published data is not recorded; both are offered, each byte for byte
    (`<think>`, the original's prefill, + the converter's response)."""
    config = BuildConfig("sokoban-answer-only", n=2, paper_seeds=True, allow_overlap=True,
                         options={"answer_only_converter": converter})
    build(config, tmp_path / "d", progress=False)  # the build re-verifies every completion
    rows = load_rows(tmp_path / "d")
    originals = [r for r in sokoban_prompts if r.get("dataset") == dataset]
    assert len(originals) == 5
    for r in originals:
        assert rows[r["row"]]["completion"][-1]["content"] == "<think>" + r["response"]
    with pytest.raises(ConfigError, match="unknown option answer_only_converter 'head'"):
        BuildConfig("sokoban-answer-only", options={"answer_only_converter": "head"})


def test_at_the_papers_100_episodes_per_tag_five_twoboxes_rooms_need_the_retry():
    """Row 2: the rooms whose first generation attempt raises, so the original's room came from its hash-salted
    retry: 1 in the fixture's 50 per tag, 5 TwoBoxesSokoban rooms at the paper's 100 (j = 29, 50, 51, 87, 98)."""
    from sftlab.task_adapters.sokoban_rows import eval_seed_list
    from sftlab.tasks.sokoban import EVAL_TAGS, generate, get_variant

    tag = "TwoBoxesSokoban"
    variant = get_variant(tag)
    seeds = eval_seed_list(EVAL_TAGS.index(tag), 100, 123)
    retried = [j for j, seed in enumerate(seeds)
               if generate(dim=variant.dim, num_boxes=variant.num_boxes, seed=seed, search_depth=30).attempt > 0]
    assert retried == [29, 50, 51, 87, 98]


def test_the_trainer_keeps_the_last_partial_batch(tmp_path):
    """SFT: verl drops the last partial batch (`drop_last=True`), the Trainer keeps it: 5 rows at batch 4 are 2
    steps per epoch here, 1 in the original."""
    from sftlab.train import common
    from sftlab.train.sft import SftConfig, _build_trainer

    rows = [{"prompt": [{"role": "user", "content": f"Row {i}"}],
             "completion": [{"role": "assistant", "content": f"n {i}"}]} for i in range(5)]
    config = SftConfig(model="tiny-random", data="unused", out=str(tmp_path / "r"), global_batch=4,
                       per_device_batch=4, max_length=128)
    trainer = _build_trainer(config, tmp_path / "r", rows, 4, 1, gpu=False, progress=False)
    assert common.steps_per_epoch(trainer) == 2
