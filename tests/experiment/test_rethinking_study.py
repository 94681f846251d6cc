"""experiments/rethinking-countdown.yaml with a reduced grid on the tiny model: every report section appears."""

from pathlib import Path

import pytest
import yaml

from sftlab.experiment import load_spec, run_experiment
from sftlab.store import ResultsStore

from .conftest import require_stages

SPEC = Path(__file__).resolve().parents[2] / "experiments" / "rethinking-countdown.yaml"


def test_the_shipped_spec_lists_a_ladder_and_evaluates_every_grid_point():
    spec = load_spec(SPEC)
    assert {"tiny-random", "smollm2-135m"} <= set(spec.models) and len(spec.models) >= 4
    assert spec.train.settings("sft")["schedule"] == "log" and spec.eval.checkpoints == "all"
    assert {c.name for c in spec.conditions} == {"cot", "nocot", "lowq"}
    assert set(spec.eval.suites) == {"countdown-eval", "gp-eval", "crossdomain-eval", "safety-eval"}


@pytest.mark.slow
def test_reduced_grid_on_the_tiny_model_produces_every_report_section(tmp_path):
    require_stages()
    raw = yaml.safe_load(SPEC.read_text())
    raw["models"] = {"tiny-random": "tiny-random"}
    raw["data"]["n"] = 4
    raw["conditions"] = raw["conditions"][:2]  # cot and nocot
    raw["train"]["sft"].update(num_epochs=2, global_batch=2, per_device_batch=2, learning_rate=0.001)
    raw["eval"].update(episodes={"countdown-eval": 2, "gp-eval": 2, "crossdomain-eval": 1, "safety-eval": 2},
                       max_new_tokens=8)
    raw["eval"]["splits"]["crossdomain-eval"] = ["arithmetic", "algorithmic"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))

    summary = run_experiment(path, tmp_path / "exp")
    assert set(summary.outcome.values()) == {"done"}
    with ResultsStore(tmp_path / "exp" / "outputs" / "eval" / "results.sqlite") as store:
        steps = sorted({r.step for r in store.query(run="cot", suite="safety-eval")})
        assert steps == [1, 2, 3, 4]  # 4 steps on the log grid: 1/64 .. 1 of the run, rounded, base kept apart
        assert {r.split for r in store.query(run="base", suite="crossdomain-eval")} == {"arithmetic", "algorithmic"}
    report = (tmp_path / "exp" / "report.md").read_text()
    for heading in ("Results tables", "Curves over training", "Training logs", "Weights", "Sample transcripts",
                    "Reasoning-SFT study", "Dip and recovery", "Data arms", "Capability", "Procedure",
                    "Safety (offline probe)"):
        assert heading in report, heading
    assert "safety-eval" in report and "crossdomain-eval" in report
