"""DPO and the method registry: preference pairs from each task's verifier, TRL's DPOTrainer on the tiny model, a
spec that trains sft, grpo and dpo side by side, and a plugin method loaded from a file, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sftlab.cli import main
from sftlab.data import build_preset, load_rows
from sftlab.errors import ConfigError, DataError
from sftlab.experiment import load_spec, run_experiment
from sftlab.experiment.plan import expand
from sftlab.experiment.spec import SpecError, parse_spec
from sftlab.store import ResultsStore
from sftlab.task_adapters import get_task
from sftlab.train.dpo import DpoConfig, train_dpo
from sftlab.train.methods import ENV_VAR, get_method, method_names, unload_method_module
from sftlab.train.runs import list_checkpoints, read_log_history, read_run

PLUGIN = Path(__file__).with_name("plugin_method.py")
FAST = {"model": "tiny-random", "global_batch": 4, "per_device_batch": 2, "learning_rate": 1e-3, "max_length": 512}


@pytest.fixture
def pairs(tmp_path):
    return build_preset("sokoban-answer-only-pairs", tmp_path / "pairs", n=2, progress=False)


@pytest.mark.parametrize("preset", ["sokoban-diverse-cot-pairs", "gp-answer-only-pairs", "countdown-cot-pairs",
                                    "rg-maze-answer-only-pairs"])
def test_pairs_are_a_verified_demonstration_beside_a_response_the_verifier_fails(preset, tmp_path):
    folder = build_preset(preset, tmp_path / "a", n=3, progress=False)
    rows = load_rows(folder)
    task = get_task(rows[0]["task"])
    assert rows and all("completion" not in r for r in rows)
    for row in rows:
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        assert task.verify_row({**row, "completion": row["chosen"]})
        scores = [task.reward(text, row["answer"], row["metadata"]).reward for text in (chosen, rejected)]
        assert scores[1] < scores[0], (chosen, rejected)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["kind"] == "pairs" and manifest["counts"]["pairs"] == len(rows)
    again = build_preset(preset, tmp_path / "b", n=3, progress=False)  # same seed, same bytes
    assert (again / "train.jsonl").read_bytes() == (folder / "train.jsonl").read_bytes()


def test_sokoban_rejects_the_demonstration_with_a_wrong_action(pairs):
    for row in load_rows(pairs):
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        assert chosen.split("<answer>")[0] == rejected.split("<answer>")[0]  # same text up to the action
        assert chosen != rejected


def test_sftlab_train_dpo_moves_the_policy_towards_the_chosen_responses(tmp_path, capsys):
    pairs = build_preset("countdown-nocot-pairs", tmp_path / "pairs", n=2, progress=False)  # short rows: fast
    run = tmp_path / "run"
    args = ["train", "dpo", "--model", "tiny-random", "--data", str(pairs), "--out", str(run), "--max-steps", "2",
            "--schedule", "1,2", "--global-batch", "2", "--lr", "0.001", "--lr-scheduler", "constant",
            "--warmup-ratio", "0", "--max-length", "256", "--beta", "0.2", "--quiet"]
    assert main(args) == 0, capsys.readouterr().err
    info = read_run(run)
    assert info["kind"] == "dpo" and info["status"] == "complete" and info["config"]["beta"] == 0.2
    assert info["plan"]["rows"] == 2 and info["plan"]["effective_batch"] == 2  # every pair in every step
    assert [step for step, _ in list_checkpoints(run)] == [0, 1, 2]
    first, second = [entry for entry in read_log_history(run) if "loss" in entry]
    # step 1 compares the policy with itself (margin 0, loss log 2); after one update it prefers the chosen side
    assert first["rewards/margins"] == 0 and second["rewards/margins"] > 0 and second["loss"] < first["loss"]
    logged = read_log_history(run)
    assert main(args) == 0 and read_log_history(run) == logged  # the same config again: complete, nothing trains
    with pytest.raises(DataError, match="different config"):
        train_dpo(DpoConfig(data=str(pairs), out=str(run), max_steps=2, beta=0.5, **FAST), progress=False)


def test_dpo_refuses_demonstration_sets_and_bad_settings(tmp_path, pairs):
    sft = build_preset("sokoban-answer-only", tmp_path / "sft", n=1, progress=False)
    with pytest.raises(DataError, match="no chosen/rejected pair"):
        train_dpo(DpoConfig(data=str(sft), out=str(tmp_path / "run"), **FAST), progress=False)
    with pytest.raises(DataError, match="max_length 64 leaves no response token"):
        train_dpo(DpoConfig(data=str(pairs), out=str(tmp_path / "run"), **{**FAST, "max_length": 64}),
                  progress=False)
    with pytest.raises(ConfigError, match="unknown loss_type"):
        DpoConfig(model="m", data="d", out="o", loss_type="kto")
    with pytest.raises(ConfigError, match="lora_r given without lora"):
        DpoConfig(model="m", data="d", out="o", lora_r=8)


def test_sftlab_train_dpo_refuses_an_unknown_loss_in_one_line(pairs, tmp_path, capsys):
    assert main(["train", "dpo", "--model", "tiny-random", "--data", str(pairs), "--out", str(tmp_path / "run"),
                 "--loss-type", "nope"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: unknown loss_type 'nope'; choose one of: sigmoid")


def _grid(tmp_path, **extra) -> dict:
    return {
        "name": "grid", "task": "sokoban", "models": ["tiny-random"], "seeds": [1], "data": {"n": 2, "seed": 0},
        "conditions": [{"name": "sft", "demo": "answer-only"}, {"name": "grpo", "method": "grpo"},
                       {"name": "dpo", "method": "dpo", "demo": "answer-only", "prompts": "diverse"}],
        "train": {"dpo": {"max_steps": 2, "beta": 0.2}, "grpo": {"max_steps": 1}},
        "eval": {"suites": ["sokoban-eval"], "splits": ["SimpleSokoban"], "episodes": 2, "max_new_tokens": 6,
                 "max_turns": 2, "baselines": []},
        **extra,
    }


def test_a_spec_plans_sft_grpo_and_dpo_side_by_side(tmp_path):
    spec = parse_spec(_grid(tmp_path))
    assert [c.preset for c in spec.conditions] == ["sokoban-answer-only", "sokoban-rl",
                                                   "sokoban-diverse-answer-only-pairs"]
    steps = {s.id: s for s in expand(spec).steps}
    assert [steps[f"train/{m}"].kind for m in ("sft", "grpo", "dpo")] == ["sft", "grpo", "dpo"]
    assert steps["train/dpo"].config["settings"] == {"max_steps": 2, "beta": 0.2}
    bad = _grid(tmp_path)
    bad["conditions"][2]["method"] = "dop"
    with pytest.raises(SpecError, match=r"conditions\[2\]\.method: unknown method 'dop' \(did you mean dpo\?\)"):
        parse_spec(bad)
    bad = _grid(tmp_path, train={"dop": {}})
    with pytest.raises(SpecError, match=r"train\.dop: unknown method 'dop' \(did you mean dpo\?\); choose one of: "
                                        r"sft, grpo, dpo \(or resources\)"):
        parse_spec(bad)
    bad = _grid(tmp_path)
    bad["conditions"][2]["preset"] = "sokoban-answer-only"
    del bad["conditions"][2]["demo"], bad["conditions"][2]["prompts"]
    with pytest.raises(SpecError, match=r"dpo needs a preference-pair set \(\*-pairs\)"):
        parse_spec(bad)
    with pytest.raises(ConfigError, match=r"unknown method 'rlhf'; choose one of: sft, grpo, dpo"):
        get_method("rlhf")


@pytest.fixture
def plugin(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    yield PLUGIN
    unload_method_module(PLUGIN)


def test_a_plugin_method_trains_from_the_cli(plugin, pairs, tmp_path, capsys):
    data = build_preset("sokoban-answer-only", tmp_path / "sft", n=1, progress=False)
    assert "plain_sft" not in method_names()
    out = tmp_path / "run"
    assert main(["--method-module", str(plugin), "train", "plain_sft", "--model", "tiny-random", "--data",
                 str(data), "--out", str(out), "--max-steps", "1", "--quiet"]) == 0
    assert read_run(out)["kind"] == "plain_sft" and [s for s, _ in list_checkpoints(out)] == [0, 1]


@pytest.mark.slow
def test_dpo_and_a_plugin_method_run_end_to_end_through_sftlab_run(plugin, tmp_path):
    # build -> train (dpo on pairs, the plugin on demonstrations) -> eval -> report, from one spec that names the
    # plugin file; the steps find the plugin method in their own registry lookups
    raw = _grid(tmp_path, method_module=str(plugin))
    raw["conditions"] = [raw["conditions"][2], {"name": "plain", "method": "plain_sft", "demo": "answer-only"}]
    raw["train"] = {"dpo": {**FAST, "max_steps": 2, "global_batch": 2}, "plain_sft": {"max_steps": 1}}
    del raw["train"]["dpo"]["model"]
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(raw))
    exp = tmp_path / "exp"
    summary = run_experiment(load_spec(path), exp)
    assert set(summary.outcome.values()) == {"done"}
    assert read_run(exp / "outputs" / "runs" / "dpo")["kind"] == "dpo"
    assert read_run(exp / "outputs" / "runs" / "plain")["kind"] == "plain_sft"
    with ResultsStore(exp / "outputs" / "eval" / "results.sqlite") as store:
        runs = {r.run for r in store.query(split="SimpleSokoban")}
    assert runs == {"dpo", "plain"}
    report = (exp / "report.md").read_text()
    assert "dpo" in report and "plain" in report
