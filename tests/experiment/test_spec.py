"""Spec validation: every mistake fails before any compute, naming the file and the offending key."""

import copy
from pathlib import Path

import pytest
import yaml

from sftlab.cli import main
from sftlab.errors import ConfigError
from sftlab.experiment import load_spec, parse_spec
from sftlab.experiment.spec import SpecError, derive_preset

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "experiments").glob("*.yaml"))
QUICK = yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text())


def _bad(mutate, match):
    raw = copy.deepcopy(QUICK)
    mutate(raw)
    with pytest.raises(SpecError, match=match):
        parse_spec(raw, source="experiments/x.yaml")


def test_shipped_specs_parse_and_state_hardware_and_time():
    assert {p.name for p in SPECS} >= {"quickstart.yaml", "paper-sokoban.yaml", "paper-gp.yaml",
                                       "rethinking-countdown.yaml"}
    for path in SPECS:
        spec = load_spec(path)
        assert spec.hardware.strip() and spec.measured.strip(), path


def test_packaged_quickstart_spec_is_the_shipped_one():
    packaged = ROOT / "sftlab" / "experiment" / "quickstart.yaml"
    assert packaged.read_text() == (ROOT / "experiments" / "quickstart.yaml").read_text()


def test_typo_in_a_condition_names_its_path():
    def typo(raw):
        raw["conditions"][1]["demo"] = "cott"

    _bad(typo, r"^experiments/x.yaml: conditions\[1\]\.demo: unknown value 'cott'; choose one of: answer-only, cot$")


@pytest.mark.parametrize("mutate, match", [
    (lambda r: r.update(tasks="sokoban"),
     r"^experiments/x.yaml: tasks: unknown key \(did you mean task\?\); choose one of: name,"),
    (lambda r: r["eval"].update(episodez=3), r"eval\.episodez: unknown key"),
    (lambda r: r["eval"].update(suites=["sokoban-evl"]), r"eval\.suites\[0\]: unknown value 'sokoban-evl'"),
    (lambda r: r["eval"].update(episodes=0), r"eval\.episodes: must be >= 1"),
    (lambda r: r["eval"].update(baselines=["orcale"]), r"eval\.baselines\[0\]: unknown value 'orcale'"),
    (lambda r: r["conditions"][0].update(method="ppo"),
     r"conditions\[0\]\.method: unknown method 'ppo' \(did you mean dpo\?\); choose one of: sft, grpo, dpo"),
    (lambda r: r["conditions"][0].update(preset="sokoban-answer-onyl"), r"conditions\[0\]\.preset: unknown value"),
    (lambda r: r["conditions"].append({"name": "g", "method": "grpo", "demo": "cot"}),
     r"conditions\[2\]\.demo: grpo learns from rewards"),
    (lambda r: r["conditions"].append({"name": "g", "method": "sft", "preset": "sokoban-rl"}),
     r"conditions\[2\]\.preset: sft needs a demonstration set"),
    (lambda r: r["conditions"].append({"name": "fixed-answer-only", "demo": "cot"}),
     r"conditions\[2\]\.name: 'fixed-answer-only' is used twice"),
    (lambda r: r["conditions"].append({"name": "oracle", "demo": "cot"}), r"reserved for a baseline"),
    (lambda r: r["train"]["sft"].update(out="x"), r"train\.sft\.out: is set by the plan"),
    (lambda r: r.update(seeds=[1, 1]), r"seeds: lists the same seed twice"),
    (lambda r: r.update(seeds=["a"]), r"seeds\[0\]: expected an integer"),
    (lambda r: r.update(models=[]), r"models: expected a list"),
    (lambda r: r.pop("task"), r"task: is required"),
    (lambda r: r["data"].update(n=-1), r"data\.n: must be >= 1"),
    (lambda r: r.update(task="countdown", conditions=[{"name": "c", "prompts": "diverse", "demo": "cot"}],
                        eval={"suites": ["countdown-eval"]}),
     r"conditions\[0\]\.prompts: countdown has no diverse-prompt sets"),
    (lambda r: r.update(task="countdown", conditions=[{"name": "c", "demo": "teacher"}],
                        eval={"suites": ["countdown-eval"]}), r"conditions\[0\]\.demo: 'teacher' needs"),
])
def test_bad_input_names_the_key(mutate, match):
    _bad(mutate, match)


def test_unknown_train_setting_is_named_once_the_stage_is_installed():
    pytest.importorskip("sftlab.train.sft")
    _bad(lambda r: r["train"]["sft"].update(learnin_rate=1.0), r"train\.sft\.learnin_rate: unknown sft setting")


def test_derived_presets():
    assert derive_preset("sokoban", "sft", "diverse", "cot") == "sokoban-diverse-cot"
    assert derive_preset("sokoban", "sft", "fixed", "answer-only") == "sokoban-answer-only"
    assert derive_preset("gp", "grpo", "diverse", None) == "gp-diverse-rl"
    assert derive_preset("countdown", "sft", None, "nocot") == "countdown-nocot"


def test_cli_spec_error_is_one_line_exit_2(tmp_path, capsys):
    raw = copy.deepcopy(QUICK)
    raw["conditions"][1]["demo"] = "cott"
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {path}: conditions[1].demo: unknown value 'cott'; choose one of: answer-only, cot")
    path.write_text("name: [unclosed\n")
    assert main(["run", str(path), "--dry-run"]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.yaml"), "--dry-run"]) == 2
    assert "no such spec file" in capsys.readouterr().err


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_dry_run_every_shipped_spec(path, tmp_path, capsys):
    assert main(["run", str(path), "--out", str(tmp_path / "exp"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "report" in out and "pending" in out
    assert not (tmp_path / "exp").exists()  # a dry run writes nothing


def test_eval_prompt_protocol_and_gp_arithmetic_are_spec_settings():
    """Each is a task's own eval option: a spec sets both for its suites, each suite's task takes its own, and
    one no suite's task declares is refused at its key."""
    from sftlab.evaluate.config import EvalConfig

    raw = copy.deepcopy(QUICK)
    raw["eval"].update(suites=["sokoban-eval", "gp-eval"], splits=None, prompt_protocol="clean",
                       gp_arithmetic="float")
    spec = parse_spec(raw, source="experiments/x.yaml")
    assert spec.eval.options["prompt_protocol"] == "clean" and spec.eval.options["gp_arithmetic"] == "float"
    _bad(lambda r: r["eval"].update(prompt_protocol="raw"), r"eval\.prompt_protocol: unknown value 'raw'")
    _bad(lambda r: r["eval"].update(gp_arithmetic="float"),
         r"eval\.gp_arithmetic: gp_arithmetic is an eval option of general_points, not of sokoban$")
    _bad(lambda r: r["eval"].update(prompt_protocl="clean"), r"eval\.prompt_protocl: unknown key \(did you mean "
                                                             r"prompt_protocol\?\)")
    with pytest.raises(ConfigError, match="gp_arithmetic is an eval option of general_points, not of sokoban"):
        EvalConfig(model="", backend="oracle", suite="sokoban-eval", gp_arithmetic="float")


def test_cpu_debunk_spec_is_sized_for_intervals_that_can_separate():
    """experiments/cpu-debunk.yaml (issue 18): the 2x2 grid, curves with points, and at least 30 episodes on ID,
    the three instruction variants, Fake and two difficulty variants, with the base, oracle and random rows.
    (GRPO is measured apart: docs/results-cpu.md says why it is not in the grid.)"""
    from sftlab.analysis.debunk import DIFFICULTY_TAGS, FAKE, ID, INSTRUCTION_TAGS

    spec = load_spec(ROOT / "experiments" / "cpu-debunk.yaml")
    grid = {(c.prompts, c.demo, c.method) for c in spec.conditions}
    assert grid == {(p, d, "sft") for p in ("fixed", "diverse") for d in ("answer-only", "cot")}
    assert len(spec.train.settings("sft")["schedule"]) >= 2 and spec.eval.checkpoints == "all"
    splits = set(spec.eval.splits_for("sokoban-eval"))
    assert {ID, FAKE, *INSTRUCTION_TAGS} <= splits and len(splits & set(DIFFICULTY_TAGS)) >= 2
    assert spec.eval.options["episodes"] >= 30 and {"oracle", "random", "base"} <= set(spec.eval.baselines)
