"""Mistakes that used to pass `sftlab run --dry-run` and fail only when their step ran (after training) are
caught while the spec is read: unknown eval splits, unknown models, out-of-range seeds and eval settings."""

import copy
from pathlib import Path

import pytest
import yaml

from sftlab.cli import main
from sftlab.data.presets import PRESETS, BuildConfig
from sftlab.errors import ConfigError
from sftlab.experiment import parse_spec
from sftlab.experiment.spec import SpecError
from sftlab.task_adapters import get_task

ROOT = Path(__file__).resolve().parents[2]
QUICK = yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text())


def dry_run_error(tmp_path, capsys, mutate) -> str:
    raw = copy.deepcopy(QUICK)
    mutate(raw)
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--dry-run", "--out", str(tmp_path / "exp")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: ") and len(err.splitlines()) == 1
    assert not (tmp_path / "exp").exists()
    return err


def test_unknown_eval_split_fails_the_dry_run(tmp_path, capsys):
    err = dry_run_error(tmp_path, capsys, lambda raw: raw["eval"].update(splits=["SimpleSokoban", "SimpleSokobn"]))
    assert "sokoban-eval has no split(s) ['SimpleSokobn']" in err and "SimpleSokobanNumerical" in err


def test_unknown_split_of_one_suite_in_a_per_suite_mapping(tmp_path, capsys):
    def mutate(raw):
        raw["eval"].update(suites=["sokoban-eval", "safety-eval"], splits={"safety-eval": ["harmfull"]})

    assert "safety-eval has no split(s) ['harmfull']; choose from: harmful, harmless" in dry_run_error(
        tmp_path, capsys, mutate)


@pytest.mark.parametrize("model,match", [
    ("smollm2-136m", "unknown model 'smollm2-136m'"),
    ("./no/such/folder", "no such model folder"),
])
def test_unknown_model_fails_the_dry_run(tmp_path, capsys, model, match):
    err = dry_run_error(tmp_path, capsys, lambda raw: raw.update(models=[model]))
    assert "models[0]: " in err and match in err


def test_model_folder_that_is_not_a_model_fails_the_dry_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = dry_run_error(tmp_path, capsys, lambda raw: raw.update(models={"m": str(tmp_path / "empty")}))
    assert "models.m: " in err and "is not a model folder" in err


def test_hub_ids_and_known_names_still_pass():
    raw = copy.deepcopy(QUICK)
    raw["models"] = {"small": "smollm2-135m", "qwen": "Qwen/Qwen2.5-0.5B-Instruct"}
    assert parse_spec(raw).models["qwen"] == "Qwen/Qwen2.5-0.5B-Instruct"


def test_out_of_range_data_seed_fails_the_dry_run(tmp_path, capsys):
    limit = get_task("sokoban").seed_limit(PRESETS["sokoban-answer-only"].kind, 40) - 1
    err = dry_run_error(tmp_path, capsys, lambda raw: raw["data"].update(seed=limit + 1))
    assert f"seed must be a non-negative integer up to {limit}" in err and f"got {limit + 1}" in err
    raw = copy.deepcopy(QUICK)
    raw["data"]["seed"] = limit
    parse_spec(raw)


def test_sokoban_seed_limit_matches_the_generator():
    """The largest allowed seed builds; the next is refused up front instead of failing inside numpy."""
    from sftlab.data.suites import suite_rows

    preset = PRESETS["sokoban-eval"]
    top = get_task("sokoban").seed_limit(preset.kind, 2) - 1
    rows = suite_rows("sokoban-eval", n=2, seed=top)
    assert max(r["seed"] for r in rows) <= 2**32 - 1
    with pytest.raises(ConfigError, match="numpy"):
        BuildConfig("sokoban-eval", seed=top + 1, n=2)
    with pytest.raises(ConfigError, match="up to 4292"):
        BuildConfig("sokoban-rl", seed=5000)
    BuildConfig("gp-answer-only", seed=5000)  # other tasks seed through SeedSequence: no such limit


def test_eval_settings_beyond_the_evaluator_limits_fail_now():
    raw = copy.deepcopy(QUICK)
    raw["eval"]["episodes"] = 1_000_000  # within the old per-tag cap, but 5,000,000 episodes for its 5 tags
    with pytest.raises(SpecError, match="plans 5000000 units in all; the limit is 1000000 units per evaluation"):
        parse_spec(raw, source="x.yaml")
