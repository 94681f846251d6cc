"""The paper recipes: the values each original script used, that they reach the real TRL trainer, that no-shuffle
keeps the data order, and the Rethinking original's raw EOS after the completion."""

from __future__ import annotations

import json

import pytest

from sftlab.cli import main
from sftlab.errors import ConfigError
from sftlab.train.recipes import SFT_RECIPES
from sftlab.train.sft import SftConfig, _build_trainer

from .conftest import sokoban_rows, write_data_folder

CPU = {"model": "tiny-random", "data": "unused", "global_batch": 4, "per_device_batch": 2, "max_length": 256}


def _rows(n: int) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": f"Row {i}: say the number."}],
             "completion": [{"role": "assistant", "content": f"number {i}"}]} for i in range(n)]


def test_recipes_carry_the_original_scripts_values():
    rethinking = SFT_RECIPES["rethinking"]
    assert (rethinking["adam_beta1"], rethinking["adam_beta2"]) == (0.9, 0.999)
    assert rethinking["shuffle"] is False and rethinking["max_length"] == 20000
    assert rethinking["completion_end"] == "eos" and rethinking["loss_normalization"] == "microbatch_mean_sum"
    assert (rethinking["learning_rate"], rethinking["num_epochs"], rethinking["global_batch"],
            rethinking["per_device_batch"], rethinking["lr_scheduler"]) == (5e-5, 8, 256, 4, "cosine")
    debunk = SFT_RECIPES["debunk"]
    assert (debunk["adam_beta1"], debunk["adam_beta2"], debunk["learning_rate"]) == (0.9, 0.95, 1e-5)
    assert (debunk["global_batch"], debunk["num_epochs"], debunk["max_length"]) == (128, 5, 5000)
    assert debunk["loss_normalization"] == "sequence_mean_sum" and debunk["shuffle"] is True
    assert SFT_RECIPES["default"]["loss_normalization"] == "batch_token_mean"  # TRL's, as before recipes existed


def test_a_recipe_fills_only_the_fields_left_unset(tmp_path):
    config = SftConfig(model="m", data="d", out=str(tmp_path), recipe="rethinking")
    assert (config.adam_beta2, config.shuffle, config.max_length, config.schedule) == (0.999, False, 20000, "log")
    mine = SftConfig(model="m", data="d", out=str(tmp_path), recipe="rethinking", adam_beta2=0.95,
                     loss_normalization="batch_token_mean")
    assert mine.adam_beta2 == 0.95 and mine.loss_normalization == "batch_token_mean" and mine.max_length == 20000
    fields = mine.training_fields()
    assert fields["recipe"] == "rethinking" and fields["completion_end"] == "eos"  # recorded in run.json
    plain = SftConfig(model="m", data="d", out=str(tmp_path))
    assert (plain.recipe, plain.adam_beta2, plain.loss_normalization, plain.max_length) == (
        "default", 0.95, "batch_token_mean", 2048)
    with pytest.raises(ConfigError, match="unknown recipe 'verl'"):
        SftConfig(model="m", data="d", out=str(tmp_path), recipe="verl")
    with pytest.raises(ConfigError, match="unknown loss_normalization 'token_mean'"):
        SftConfig(model="m", data="d", out=str(tmp_path), loss_normalization="token_mean")


def test_the_trainer_gets_the_recipe_and_no_shuffle_keeps_the_data_order(tmp_path):
    rows = _rows(8)
    config = SftConfig(out=str(tmp_path / "r"), recipe="rethinking", **CPU)
    trainer = _build_trainer(config, tmp_path / "r", rows, 2, 2, gpu=False, progress=False)
    args = trainer.args
    assert (args.adam_beta1, args.adam_beta2, args.weight_decay, args.max_grad_norm) == (0.9, 0.999, 0.01, 1.0)
    assert args.train_sampling_strategy == "sequential" and trainer.loss_normalization == "microbatch_mean_sum"
    tok = trainer.processing_class

    def order(t):
        seen = []
        for batch in t.get_train_dataloader():
            for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
                seen.append(tok.decode(ids[labels != -100]))
        return seen

    assert order(trainer) == [f"number {i}<|im_end|>" for i in range(8)]  # the dataset's order, batch by batch
    shuffled = _build_trainer(SftConfig(out=str(tmp_path / "s"), **CPU), tmp_path / "s", rows, 2, 2, gpu=False,
                              progress=False)
    assert sorted(order(shuffled)) == sorted(f"number {i}<|im_end|>\n" for i in range(8))
    assert order(shuffled) != sorted(order(shuffled))  # the default recipe shuffles


def test_eos_completion_end_is_the_response_then_the_raw_eos_token(tmp_path):
    rows = _rows(2)
    eos = _build_trainer(SftConfig(out=str(tmp_path / "e"), completion_end="eos", **CPU), tmp_path / "e", rows, 2,
                         1, gpu=False, progress=False)
    chat = _build_trainer(SftConfig(out=str(tmp_path / "c"), **CPU), tmp_path / "c", rows, 2, 1, gpu=False,
                          progress=False)
    tok = eos.processing_class
    ids, labels = eos.train_dataset[0]["input_ids"], eos.train_dataset[0]["labels"]
    assert ids[-1] == tok.eos_token_id and labels[-1] == tok.eos_token_id  # the EOS is trained
    trained = [t for t, label in zip(ids, labels, strict=True) if label != -100]
    assert trained == tok("number 0", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    prompt = tok.apply_chat_template(rows[0]["prompt"], tokenize=False, add_generation_prompt=True)
    assert tok.decode(ids[: len(ids) - len(trained)]) == prompt
    # the chat template instead ends the assistant turn its own way (for SmolLM2: <|im_end|> and a newline)
    chat_ids, chat_labels = chat.train_dataset[0]["input_ids"], chat.train_dataset[0]["labels"]
    assert tok.decode([t for t, label in zip(chat_ids, chat_labels, strict=True) if label != -100]) == (
        "number 0<|im_end|>\n")


def test_cli_recipe_and_loss_flags_reach_run_json(tmp_path, capsys):
    data = write_data_folder(tmp_path / "data", sokoban_rows(1)[:2])
    out = tmp_path / "run"
    assert main(["train", "sft", "--model", "tiny-random", "--data", str(data), "--out", str(out), "--recipe",
                 "rethinking", "--loss-normalization", "sequence_mean_sum", "--global-batch", "2",
                 "--per-device-batch", "1", "--max-length", "512", "--max-steps", "1", "--quiet"]) == 0
    config = json.loads((out / "run.json").read_text())["config"]
    assert config["recipe"] == "rethinking" and config["loss_normalization"] == "sequence_mean_sum"
    assert (config["adam_beta2"], config["shuffle"], config["completion_end"]) == (0.999, False, "eos")
    assert main(["train", "sft", "--model", "tiny-random", "--data", str(data), "--out", str(tmp_path / "x"),
                 "--loss-normalization", "per_token"]) == 2
    assert "unknown loss_normalization 'per_token'" in capsys.readouterr().err


def test_paper_specs_select_the_recipes_and_the_original_grpo_length(tmp_path):
    from pathlib import Path

    from sftlab.data import build_preset, load_rows
    from sftlab.data.presets import PRESETS
    from sftlab.experiment import load_spec
    from sftlab.train.grpo import GrpoConfig

    root = Path(__file__).resolve().parents[2] / "experiments"
    sokoban, gp = load_spec(root / "paper-sokoban.yaml"), load_spec(root / "paper-gp.yaml")
    for spec in (sokoban, gp):
        sft = SftConfig(model="m", data="d", out="o", **spec.train.settings("sft"))
        assert sft.loss_normalization == "sequence_mean_sum"
        GrpoConfig(model="m", data="d", out="o", **spec.train.settings("grpo"))  # valid settings
    rethinking = load_spec(root / "paper-rethinking-countdown.yaml")
    config = SftConfig(model="m", data="d", out="o", **rethinking.train.settings("sft"))
    assert (config.recipe, config.loss_normalization, config.adam_beta2) == ("rethinking", "microbatch_mean_sum", 0.999)
    assert rethinking.conditions[0].data.n == 20480  # 80 steps per epoch x 8 epochs = 640, the paper's grid
    # verl: len(dataloader with drop_last) x total_epochs, 256 prompts per step (sokoban_grpo.sh, gp_l_grpo.sh)
    (rl,) = [c for c in sokoban.conditions if c.method == "grpo"]
    assert rl.preset == "sokoban-diverse-rl" and rl.data.n is None  # the preset's default 200 puzzles
    sokoban_rows_ = load_rows(build_preset(rl.preset, tmp_path / "rl", seed=rl.data.seed, progress=False))
    assert sokoban.train.settings("grpo")["max_steps"] == len(sokoban_rows_) // 256 * 500 == 1500
    assert sokoban.train.settings("grpo")["save_every"] == 500
    (rl,) = [c for c in gp.conditions if c.method == "grpo"]
    assert rl.preset == "gp-rl" and rl.data.n is None
    assert gp.train.settings("grpo")["max_steps"] == PRESETS["gp-rl"].default_n // 256 * 2000 == 78000


def test_both_paper_recipes_end_completions_with_the_raw_eos_as_the_originals(tmp_path):
    # Debunk: the verl fork's SFTDataset appends `tokenizer.eos_token` to the response; Rethinking: OurSFTDataset
    # appends `eos_token_id`. Neither ends with the chat template's end of turn (and its newline).
    for recipe in ("debunk", "rethinking"):
        assert SFT_RECIPES[recipe]["completion_end"] == "eos"
        trainer = _build_trainer(SftConfig(out=str(tmp_path / recipe), recipe=recipe, **CPU), tmp_path / recipe,
                                 _rows(2), 2, 1, gpu=False, progress=False)
        ids, labels = trainer.train_dataset[0]["input_ids"], trainer.train_dataset[0]["labels"]
        tok = trainer.processing_class
        assert [t for t, label in zip(ids, labels, strict=True) if label != -100] == tok(
            "number 0", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert SFT_RECIPES["default"]["completion_end"] == "chat_template"
