"""GRPO on TRL with the tiny model: real built RL sets, real GRPOTrainer, real checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sftlab.errors import ConfigError, DataError
from sftlab.train.grpo import GrpoConfig, load_rl_rows, train_grpo
from sftlab.train.rewards import RewardError

# Small enough for CPU: 2 prompts x 2 generations per step, 8 new tokens.
TINY = {"batch_prompts": 2, "num_generations": 2, "max_completion_length": 8, "logging_steps": 1}


@pytest.fixture(scope="module")
def rl_data(tmp_path_factory) -> Path:
    """A real built diverse Sokoban RL set (2 puzzles -> one row per state on the optimal path)."""
    from sftlab.data import build_preset

    return build_preset("sokoban-diverse-rl", tmp_path_factory.mktemp("rl") / "sok", n=2, progress=False)


def weights(path) -> dict:
    from safetensors.torch import load_file

    from sftlab.models import resolve

    folder = Path(resolve(str(path)))
    return load_file(folder / "model.safetensors")


def changed(a: dict, b: dict) -> bool:
    return any(not (a[k] == b[k]).all() for k in a)


# --- config and data validation (no training) -------------------------------------------------------------------


def test_paper_defaults():
    c = GrpoConfig(model="tiny-random", data="d", out="o")
    assert (c.num_generations, c.completions_per_step) == (8, 2048)
    assert (c.temperature, c.top_p, c.learning_rate, c.lr_scheduler) == (1.0, 1.0, 1e-6, "constant")
    assert (c.weight_decay, c.epsilon, c.beta, c.entropy_coef, c.loss_type) == (0.01, 0.2, 0.0, 0.0, "dapo")
    gpu = c.resolved(gpu=True, tasks=["sokoban"])
    assert (gpu.batch_prompts, gpu.max_completion_length) == (256, 1024)
    assert c.resolved(gpu=True, tasks=["general_points"]).max_completion_length == 4096
    # on CPU, unset sizes fall back to a batch a 2-core machine can step through; explicit values always win
    cpu = c.resolved(gpu=False, tasks=["sokoban"])
    assert (cpu.batch_prompts, cpu.max_completion_length) == (2, 64)
    explicit = GrpoConfig(model="m", data="d", out="o", batch_prompts=256, max_completion_length=1024)
    assert explicit.resolved(gpu=False, tasks=["sokoban"]) == explicit


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"global_batch": 100}, "num_generations 8 does not divide the global batch of 100"),
        ({"num_generations": 1}, "at least 2"),
        ({"loss_type": "token-mean"}, "unknown loss_type"),
        ({"epsilon": 0}, "epsilon"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"vllm_mode": "remote"}, "unknown vllm_mode"),
        ({"vllm_server_url": "http://x:8000"}, "only used with vllm_mode server"),
        ({"schedule": "weekly"}, "unknown schedule"),
        ({"countdown_format_score": 1.5}, "countdown_format_score"),
    ],
)
def test_bad_config_is_a_clear_error(fields, message):
    with pytest.raises(ConfigError, match=message):
        GrpoConfig(model="tiny-random", data="d", out="o", **fields)


def test_global_batch_alternative_and_unknown_yaml_key():
    c = GrpoConfig(model="m", data="d", out="o", global_batch=64)
    assert (c.batch_prompts, c.completions_per_step) == (None, 64)
    with pytest.raises(ConfigError, match="unknown GRPO config key 'lr'"):
        GrpoConfig.from_dict({"model": "m", "data": "d", "out": "o", "lr": 1e-6})


def test_sft_set_is_rejected(tmp_path):
    from sftlab.data import build_preset

    sft = build_preset("sokoban-answer-only", tmp_path / "sft", n=1, progress=False)
    with pytest.raises(DataError, match="SFT .*GRPO needs an RL set"):
        load_rl_rows(str(sft))


def test_bf16_on_a_cpu_without_bf16_and_vllm_on_cpu_are_config_errors(rl_data, tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    monkeypatch.setattr("sftlab.train.config.cpu_has_bf16", lambda: False)  # as on a CPU without bf16 instructions
    with pytest.raises(ConfigError, match="bf16 needs a GPU or a CPU"):
        train_grpo(GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / "r"), bf16=True))
    with pytest.raises(ConfigError, match="use_vllm needs a GPU"):
        train_grpo(GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / "r"), use_vllm=True))


# --- training --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_step_run_writes_checkpoints_logs_and_is_readable(rl_data, tmp_path):
    from sftlab.train.runs import list_checkpoints, read_log_history, read_run

    out = tmp_path / "g"
    config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(out), max_steps=2, weight_decay=0.0,
                        **TINY)
    assert train_grpo(config, progress=False) == out
    info = read_run(out)
    assert (info["kind"], info["status"], info["base_model"]) == ("grpo", "complete", "tiny-random")
    assert info["plan"]["completions_per_step"] == 4 and info["plan"]["task"] == "sokoban"
    steps = [step for step, _ in list_checkpoints(out)]
    assert steps[0] == 0 and steps[-1] == 2
    for step in steps[1:]:
        assert (out / "checkpoints" / f"checkpoint-{step}" / "COMPLETE").is_file()
    log = [r for r in read_log_history(out) if "reward" in r]
    assert [r["step"] for r in log] == [1, 2]
    for key in ("reward", "reward/group_std", "reward/frac_all_equal_groups", "frac_reward_zero_std",
                "completions/mean_length", "step_time"):
        assert key in log[0], key
    # A random model never writes the format: zero reward everywhere, every group all-equal, so no gradient
    # (with weight decay off) and the weights stay exactly the base weights.
    assert all(r["reward"] == 0.0 and r["reward/frac_all_equal_groups"] == 1.0 for r in log)
    assert not changed(weights("tiny-random"), weights(out / "checkpoints" / "checkpoint-2"))
    # the checkpoint loads with sftlab's loader, like any eval checkpoint
    from sftlab.models import load

    model, tokenizer = load(str(out / "checkpoints" / "checkpoint-2"))
    assert tokenizer.chat_template
    # same command again: already complete, nothing retrained
    assert train_grpo(config, progress=False) == out
    assert read_run(out)["final_step"] == 2


def length_reward(completions, **kwargs):
    """Varies within groups: longer completions (in characters) earn more."""
    from sftlab.train.rewards import completion_text

    return [len(completion_text(c)) / 100.0 for c in completions]


@pytest.mark.slow
def test_reward_that_varies_within_groups_changes_the_weights(rl_data, tmp_path):
    from sftlab.train.runs import read_log_history

    out = tmp_path / "len"
    config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(out), max_steps=1, weight_decay=0.0,
                        **TINY)
    train_grpo(config, progress=False, reward_funcs=[length_reward])
    log = [r for r in read_log_history(out) if "reward" in r]
    assert log[0]["reward/group_std"] > 0 and log[0]["grad_norm"] > 0
    assert changed(weights("tiny-random"), weights(out / "checkpoints" / "checkpoint-1"))


def test_nan_reward_stops_training_with_a_clear_error(rl_data, tmp_path):
    def nan_reward(completions, **kwargs):
        return [float("nan")] * len(completions)

    out = tmp_path / "nan"
    config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(out), max_steps=1, **TINY)
    with pytest.raises(RewardError, match="nan_reward returned nan"):
        train_grpo(config, progress=False, reward_funcs=[nan_reward])
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and "nan" in info["error"]


@pytest.mark.slow
def test_killed_grpo_run_resumes_to_the_same_final_step(rl_data, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from sftlab.train.runs import list_checkpoints, read_log_history, read_run

    run = tmp_path / "run"
    command = [sys.executable, "-m", "sftlab", "train", "grpo", "--model", "tiny-random", "--data", str(rl_data),
               "--out", str(run), "--max-steps", "2", "--schedule", "1,2", "--batch-prompts", "2",
               "--num-generations", "2", "--max-completion-length", "8", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = run / "checkpoints" / "checkpoint-1" / "COMPLETE"
    deadline = time.monotonic() + 400
    while not marker.is_file():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 400 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_run(run)
    assert before["status"] == "running" and before["kind"] == "grpo"  # really killed mid-run

    # the same command again, in this process (the kill above is what needs a process of its own)
    from sftlab.cli import main

    assert main(command[3:]) == 0
    after = read_run(run)
    assert after["status"] == "complete" and after["final_step"] == 2
    assert after["config"] == before["config"]
    assert [s for s, _ in list_checkpoints(run)] == [0, 1, 2]
    assert [e["step"] for e in read_log_history(run) if "reward" in e] == [1, 2]


# --- General Points arithmetic: the original's float eval as an option of the reward ------------------------------

GP_FLOAT_FRAGILE = '{"cards": ["3", "3", "8", "8"], "number": [3, 3, 8, 8], "formula": "8/(3-8/3)"}'


def test_gp_arithmetic_option_reaches_the_reward_a_run_trains_on():
    from sftlab.train.grpo import task_reward

    # 8/(3-8/3) is exactly 24 (+5); the original's float eval makes it 23.999999999999996 (-1, wrong value)
    batch = {"completions": [GP_FLOAT_FRAGILE, '{"formula": "8*3+8-3-5"}'],
             "answer": [{"numbers": [3, 3, 8, 8], "target": 24}] * 2, "task": ["general_points"] * 2}
    exact = task_reward(GrpoConfig(model="m", data="d", out="o"))
    floats = task_reward(GrpoConfig(model="m", data="d", out="o", gp_arithmetic="float"))
    assert exact(**batch) == [5.0, -2.0]
    assert floats(**batch) == [-1.0, -2.0]
    with pytest.raises(ConfigError, match="unknown gp_arithmetic 'decimal'"):
        GrpoConfig(model="m", data="d", out="o", gp_arithmetic="decimal")


def test_a_reward_option_reaches_its_task_by_flag_and_option_and_is_refused_for_other_tasks_data(rl_data, tmp_path,
                                                                                                 capsys):
    from sftlab.cli import main
    from sftlab.train.grpo import train_grpo

    assert GrpoConfig(model="m", data="d", out="o").reward_options == {}  # the shared config holds no task's option
    flags = GrpoConfig.from_dict({"model": "m", "data": "d", "out": "o", "sokoban_reward": "strict",
                                  "gp_rescale": True})
    assert flags.reward_options == {"sokoban_reward": "strict", "gp_rescale": True}
    assert flags.sokoban_reward == "strict" and flags.countdown_format_score == 0.0  # read by name, or the default
    with pytest.raises(ConfigError, match="gp_rescale is a reward option of general_points, not of sokoban"):
        train_grpo(GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / "r"), gp_rescale=True))
    base = ["train", "grpo", "--model", "tiny-random", "--data", str(rl_data), "--out", str(tmp_path / "r2")]
    assert main([*base, "--gp-rescale"]) == 2
    assert "gp_rescale is a reward option of general_points, not of sokoban" in capsys.readouterr().err
    assert main([*base, "--option", "sokoban_rewad=strict"]) == 2
    assert "unknown reward option 'sokoban_rewad' (did you mean sokoban_reward?)" in capsys.readouterr().err
    assert main([*base, "--option", "countdown_format_score=lots"]) == 2
    assert "option countdown_format_score must be a number, got 'lots'" in capsys.readouterr().err
    assert main(["train", "sft", "--model", "m", "--data", "d", "--out", "o", "--sokoban-reward", "strict"]) == 2


def test_gp_arithmetic_is_a_training_field_only_when_not_the_default():
    # runs recorded before the option existed trained with exact arithmetic: they resume; a float run differs
    exact = GrpoConfig(model="m", data="d", out="o").training_fields()
    assert "gp_arithmetic" not in exact
    assert GrpoConfig(model="m", data="d", out="o", gp_arithmetic="float").training_fields() == {
        **exact, "gp_arithmetic": "float"}


def test_the_trl_trainer_gets_verls_settings_no_is_correction_and_verls_optimizer(rl_data, tmp_path):
    """TRL corrects vLLM's sampling log-probs by default (sequence mask, cap 3); verl, the original's trainer,
    does not: off unless asked. The original's optimizer rules (decay on every parameter) are the default."""
    from sftlab.train.grpo import _build_trainer

    rows, _ = load_rl_rows(str(rl_data))

    def build(name, **fields):
        config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / name), **{**TINY, **fields})
        return _build_trainer(config, tmp_path / name, rows, [lambda completions, **kw: [0.0] * len(completions)],
                              2, 1, False, False, 8, False)

    paper, trl_default = build("p"), build("t", vllm_importance_sampling_correction=True,
                                          optimizer_rules="transformers")
    assert paper.vllm_importance_sampling_correction is False and trl_default.vllm_importance_sampling_correction
    assert (paper.optimizer_rules, trl_default.optimizer_rules) == ("verl", "transformers")
    decayed = {id(p) for g in paper.create_optimizer().param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(p) for p in paper.model.parameters() if p.requires_grad}
    fields = GrpoConfig(model="m", data="d", out="o").training_fields()
    assert fields["vllm_importance_sampling_correction"] is False and fields["optimizer_rules"] == "verl"


def test_sokoban_rl_prompts_end_with_the_originals_think_prefill_which_the_reward_counts(rl_data, tmp_path):
    from sftlab.backends.hf import render_chat
    from sftlab.train.grpo import _build_trainer, task_reward

    rows, _ = load_rl_rows(str(rl_data))

    def build(name, **fields):
        config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / name), **{**TINY, **fields})
        return _build_trainer(config, tmp_path / name, rows, [task_reward(config)], 2, 1, False, False, 8, False)

    paper, own = build("p"), build("o", prompt_prefill=False)
    tok = paper.processing_class
    prompt = paper.train_dataset[0]["prompt"]
    assert prompt == render_chat(tok, rows[0]["prompt"]) + "<think>"  # `...<|im_start|>assistant\n<think>`
    assert own.train_dataset[0]["prompt"] == rows[0]["prompt"]  # messages: the model opens <think> itself
    label = rows[0]["metadata"]["labels"][("Up", "Down", "Left", "Right").index(rows[0]["answer"])]
    completion = f" Push it. </think> <answer> {label} </answer>"
    reward = task_reward(GrpoConfig(model="m", data="d", out="o"))
    batch = {"completions": [completion], "answer": [rows[0]["answer"]], "metadata": [rows[0]["metadata"]],
             "task": ["sokoban"]}
    assert reward(prompts=[prompt], **batch) == [1.0]
    assert reward(prompts=[own.train_dataset[0]["prompt"]], **batch) == [0.0]  # no <think> anywhere
    assert "prompt_prefill" not in GrpoConfig(model="m", data="d", out="o", prompt_prefill=False).training_fields()


def test_a_run_recorded_before_the_new_defaults_resumes_with_the_old_values_and_not_with_the_new():
    legacy = {"optimizer_rules": "transformers", "vllm_importance_sampling_correction": True,
              "prompt_prefill": False, "sokoban_reward": "strict"}
    recorded = GrpoConfig(model="m", data="d", out="o", **legacy).training_fields()
    assert not set(legacy) & set(recorded)  # what run.json held before the fields existed
    new = GrpoConfig(model="m", data="d", out="o").training_fields()
    assert {k for k in set(new) | set(recorded) if new.get(k) != recorded.get(k)} == set(legacy)


def test_trls_is_correction_drops_a_masked_completions_gradient_and_sftlabs_default_keeps_it(rl_data, tmp_path):
    """What `vllm_importance_sampling_correction` does to the loss, on CPU: TRL multiplies each completion's token
    losses by the importance-sampling weight vLLM's log-probs give it; `sequence_mask` sets it to 0 for a completion
    whose ratio passes the cap. The weights need vLLM on a GPU (benchmarks/fidelity_check.py measures them), so the
    trainer is told it generated with vLLM and handed the weights a masked and a kept completion get."""
    import torch

    from sftlab.train.grpo import _build_trainer

    rows, _ = load_rl_rows(str(rl_data))

    def loss(correction: bool, advantages: list[float]) -> float:
        config = GrpoConfig(model="tiny-random", data=str(rl_data), out=str(tmp_path / str(correction)),
                            vllm_importance_sampling_correction=correction, **TINY)
        trainer = _build_trainer(config, tmp_path / str(correction), rows,
                                 [lambda completions, **kw: [0.0] * len(completions)], 2, 1, False, False, 8, False)
        trainer.use_vllm = True  # the loss reads this flag; the generation never ran
        trainer.model.eval()  # the loss of one batch, outside a training step (no accumulation)
        inputs = {"prompt_ids": torch.tensor([[5, 6, 7], [5, 6, 7]]), "prompt_mask": torch.ones(2, 3, dtype=torch.long),
                  "completion_ids": torch.tensor([[8, 9, 10], [11, 12, 13]]),
                  "completion_mask": torch.ones(2, 3, dtype=torch.long),
                  "advantages": torch.tensor(advantages), "num_items_in_batch": torch.tensor(6.0),
                  "importance_sampling_ratio": torch.tensor([[0.0], [1.0]])}  # completion 0 masked by TRL
        with torch.no_grad():
            return float(trainer._compute_loss(trainer.model, inputs))

    trl, sftlab = loss(True, [1.0, -1.0]), loss(False, [1.0, -1.0])
    assert trl == pytest.approx(loss(False, [0.0, -1.0]))  # TRL's: as if completion 0 had no advantage
    assert sftlab != pytest.approx(trl)  # sftlab's default (verl's): completion 0 counts
