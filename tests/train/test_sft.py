"""SFT on the real tiny model, real TRL and real Sokoban rows."""

from __future__ import annotations

import json
import math

import pytest

from sftlab.cli import main
from sftlab.errors import ConfigError, DataError, ModelError
from sftlab.io import write_jsonl, write_manifest
from sftlab.train.common import batch_plan
from sftlab.train.runs import list_checkpoints, read_log_history, read_run
from sftlab.train.sft import SftConfig, train_sft

from .conftest import sokoban_rows, write_data_folder

FAST = {"model": "tiny-random", "global_batch": 4, "learning_rate": 1e-3, "max_length": 512}


def test_only_completion_tokens_carry_loss(sokoban_data, tmp_path):
    from sftlab.train.sft import _build_trainer, load_sft_rows

    rows, _ = load_sft_rows(str(sokoban_data))
    config = SftConfig(data=str(sokoban_data), out=str(tmp_path / "run"), **FAST)
    trainer = _build_trainer(config, tmp_path / "run", rows[:4], 2, 2, gpu=False, progress=False)
    tok = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    for i, row in enumerate(rows[:2]):
        labels = batch["labels"][i]
        ids = batch["input_ids"][i]
        trained = ids[labels != -100]
        assert tok.decode(trained) == row["completion"][0]["content"] + "<|im_end|>\n"  # EOS included
        first = int((labels != -100).nonzero()[0])
        prompt_text = tok.decode(ids[:first])
        assert row["prompt"][0]["content"] in prompt_text and prompt_text.endswith("<|im_start|>assistant\n")


def test_training_lowers_loss_and_writes_the_log_schedule(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(1)[:4])  # 4 rows = one repeated batch of 4
    run = train_sft(SftConfig(data=str(data), out=str(tmp_path / "run"), max_steps=8, schedule="log", **FAST),
                    progress=False)
    checkpoints = list_checkpoints(run)
    assert [step for step, _ in checkpoints] == [0, 1, 2, 4, 6, 8]  # the log grid scaled to 8 steps
    assert checkpoints[0][1] == "tiny-random"
    assert all((run / "checkpoints" / f"checkpoint-{s}" / "COMPLETE").is_file() for s in (1, 2, 4, 6, 8))
    steps = [entry for entry in read_log_history(run) if "loss" in entry]
    losses = [entry["loss"] for entry in steps]
    assert len(losses) == 8 and losses[-1] < losses[0] - 0.2
    # TRL's per-step metrics over the completion tokens stay in the log (scored on those tokens only, even on CPU)
    assert all(0 < entry["entropy"] < 11 and 0 <= entry["mean_token_accuracy"] <= 1 for entry in steps)
    info = read_run(run)
    assert info["status"] == "complete" and info["plan"]["effective_batch"] == 4
    assert info["config"]["max_steps"] == 8 and (run / "data_manifest.json").is_file()
    # resume state only in the newest checkpoint; every checkpoint loads as a model
    assert (run / "checkpoints/checkpoint-8/optimizer.pt").is_file()
    assert not (run / "checkpoints/checkpoint-4/optimizer.pt").exists()
    from sftlab.models import load

    model, _ = load(checkpoints[3][1], device="cpu")
    assert model.config.num_hidden_layers == 2

    # the same command again: already complete, nothing retrained; a changed config needs --force
    stamp = (run / "checkpoints/checkpoint-8/model.safetensors").stat().st_mtime_ns
    assert train_sft(SftConfig(data=str(data), out=str(run), max_steps=8, schedule="log", **FAST), False) == run
    assert (run / "checkpoints/checkpoint-8/model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="different config"):
        train_sft(SftConfig(data=str(data), out=str(run), max_steps=3, **FAST), progress=False)
    train_sft(SftConfig(data=str(data), out=str(run), max_steps=2, schedule=[2], force=True, **FAST), False)
    assert [s for s, _ in list_checkpoints(run)] == [0, 2]  # started over: the old checkpoints are gone


def test_padding_free_and_packing_give_the_padded_loss(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(2)[:4])
    first_loss = {}
    for name, flags in {"padded": {}, "padding_free": {"padding_free": True}, "packing": {"packing": True}}.items():
        run = train_sft(SftConfig(data=str(data), out=str(tmp_path / name), max_steps=1, **FAST, **flags),
                        progress=False)
        first_loss[name] = read_log_history(run)[0]["loss"]
    # same rows, same single batch: a correct block-diagonal mask gives the same token-mean loss
    assert math.isclose(first_loss["padding_free"], first_loss["padded"], rel_tol=1e-4)
    assert math.isclose(first_loss["packing"], first_loss["padded"], rel_tol=1e-4)


def test_lora_run_saves_adapters_that_merge(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(1)[:4])
    run = train_sft(SftConfig(data=str(data), out=str(tmp_path / "run"), max_steps=2, lora=True, lora_r=4,
                              **FAST), progress=False)
    step, adapter = list_checkpoints(run)[-1]
    assert step == 2 and (tmp_path / "run/checkpoints/checkpoint-2/adapter_config.json").is_file()
    assert not (tmp_path / "run/checkpoints/checkpoint-2/model.safetensors").exists()
    assert read_run(run)["config"]["lora_alpha"] == 16  # the default filled in
    adapter_config = json.loads((tmp_path / "run/checkpoints/checkpoint-2/adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == "tiny-random"  # portable: not this machine's cache path
    assert main(["models", "merge", adapter, "--out", str(tmp_path / "merged")]) == 0
    import torch

    from sftlab.models import load

    merged, tok = load(str(tmp_path / "merged"), device="cpu")
    with_adapter, _ = load(adapter, device="cpu")  # loads base + adapter, merged for inference
    ids = tok("<|im_start|>user\nhi", return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(merged(**ids).logits, with_adapter(**ids).logits, atol=1e-5)


def test_bad_inputs_are_clear_errors(tmp_path, sokoban_data, monkeypatch):
    out = str(tmp_path / "run")
    with pytest.raises(ConfigError, match="does not divide the global batch 128"):
        batch_plan(128, 3, 1)
    assert batch_plan(128, None, 2) == (8, 8)
    with pytest.raises(ConfigError, match="lora_r given without lora"):
        SftConfig(model="tiny-random", data="d", out=out, lora_r=8)
    monkeypatch.setattr("sftlab.train.config.cpu_has_bf16", lambda: False)  # as on a CPU without bf16 instructions
    with pytest.raises(ConfigError, match="bf16 needs a GPU or a CPU with bf16 instructions"):
        train_sft(SftConfig(model="tiny-random", data=str(sokoban_data), out=out, bf16=True))
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="unknown SFT config key 'learning_rte'"):
        SftConfig.from_dict({"model": "m", "data": "d", "out": out, "learning_rte": 1e-4})
    with pytest.raises(ConfigError, match="unknown report_to"):
        SftConfig(model="tiny-random", data="d", out=out, report_to="mlflow")
    no_manifest = tmp_path / "bare"
    no_manifest.mkdir()
    write_jsonl(no_manifest / "train.jsonl", sokoban_rows(1))
    with pytest.raises(DataError, match="manifest"):
        train_sft(SftConfig(model="tiny-random", data=str(no_manifest), out=out))
    rl = tmp_path / "rl"
    rl.mkdir()
    write_jsonl(rl / "train.jsonl", [{k: v for k, v in r.items() if k != "completion"} for r in sokoban_rows(1)])
    write_manifest(rl, {"preset": "rl"})
    with pytest.raises(DataError, match="no completion"):
        train_sft(SftConfig(model="tiny-random", data=str(rl), out=out))
    with pytest.raises(ModelError, match="unknown model 'tiny'"):
        train_sft(SftConfig(model="tiny", data=str(sokoban_data), out=out))
    assert not (tmp_path / "run").exists()  # nothing was written for rejected configs
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not a run folder"):
        train_sft(SftConfig(model="tiny-random", data=str(sokoban_data), out=str(tmp_path / "other")))


def test_cli_errors_and_yaml(tmp_path, capsys, sokoban_data):
    assert main(["train", "sft", "--model", "tiny-random", "--data", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "error: " in capsys.readouterr().err
    assert main(["train", "sft", "--model", "tiny-random", "--data", str(sokoban_data), "--out",
                 str(tmp_path / "r"), "--lora-alpha", "8"]) == 2
    assert "lora_alpha given without lora" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: tiny-random\nlearning_rte: 0.1\n")
    assert main(["train", "sft", "--config", str(bad), "--data", "d", "--out", "o"]) == 2
    assert "learning_rte" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text(f"model: tiny-random\ndata: {sokoban_data}\nepochs: 1\nlr: 0.001\nglobal_batch: 2\n"
                    "max_length: 512\nschedule: log\n")
    out = tmp_path / "yaml-run"
    assert main(["train", "sft", "--config", str(good), "--out", str(out), "--max-steps", "2", "--quiet"]) == 0
    config = json.loads((out / "run.json").read_text())["config"]
    assert config["learning_rate"] == 0.001 and config["max_steps"] == 2 and config["schedule"] == "log"


@pytest.mark.slow
def test_smollm2_import_trains_one_step_into_a_loadable_checkpoint(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(1)[:2])
    run = train_sft(SftConfig(model="smollm2-135m", data=str(data), out=str(tmp_path / "run"), max_steps=1,
                              global_batch=2, per_device_batch=1, max_length=512), progress=False)
    (step, path), = list_checkpoints(run)[1:]
    assert step == 1 and math.isfinite(read_log_history(run)[0]["loss"])
    from sftlab.models import load

    model, tok = load(path, device="cpu")
    assert model.num_parameters() > 100_000_000 and tok.chat_template


def _needs_bf16_cpu():
    import torch

    from sftlab.train.config import cpu_has_bf16

    return torch.cuda.is_available() or not cpu_has_bf16()


@pytest.mark.skipif(_needs_bf16_cpu(), reason="needs a CPU with bf16 instructions and no GPU")
def test_bf16_on_a_cpu_with_bf16_instructions_is_autocast_over_fp32_weights(tmp_path, sokoban_data):
    import torch
    from safetensors.torch import load_file

    runs = {bf16: train_sft(SftConfig(model="tiny-random", data=str(sokoban_data), out=str(tmp_path / str(bf16)),
                                      bf16=bf16, max_steps=1, global_batch=2), progress=False)
            for bf16 in (False, True)}
    loss = {bf16: read_log_history(run)[0]["loss"] for bf16, run in runs.items()}
    # the same seed and rows: only bf16 rounding in the forward pass separates the two losses
    assert loss[True] != loss[False] and math.isclose(loss[True], loss[False], rel_tol=0.01)
    weights = load_file(runs[True] / "checkpoints" / "checkpoint-1" / "model.safetensors")
    assert {w.dtype for w in weights.values()} == {torch.float32}
