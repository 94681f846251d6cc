"""reasoning-gym datasets as training tasks: soundness check, build, train (tiny-random), eval, verl export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("reasoning_gym")

from sftlab.cli import main  # noqa: E402
from sftlab.errors import ConfigError  # noqa: E402
from sftlab.store import ResultsStore  # noqa: E402
from sftlab.task_adapters import get_task, unload_task_module  # noqa: E402
from sftlab.task_adapters.reasoning_gym import ReasoningGymTask, perturbations  # noqa: E402

SHIPPED = ("rg_maze", "rg_mini_sudoku", "rg_shortest_path")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_tasks_have_sound_scorers_and_a_harder_split(name):
    task = get_task(name)
    task.check_sound()
    rows = task.suite_rows(task.suite_name, 2, 0, False, None, None)
    assert [r["split"] for r in rows] == ["id", "id", "hard", "hard"]
    assert json.loads(rows[0]["answer"]["config"]) == task.id_config
    assert json.loads(rows[2]["answer"]["config"]) == task.hard_config
    for row in rows:  # the reference scores 1, a wrong answer does not
        assert task.judge(task.oracle_answer(row, None), row["answer"]).correct
        assert not task.judge("\\boxed{no idea}", row["answer"]).correct


def test_an_unsound_scorer_is_refused_with_a_one_line_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"puzzle24 is refused, its scorer is unsound: another item's answer"):
        ReasoningGymTask("puzzle24").check_sound()
    module = tmp_path / "p24.py"
    module.write_text("from sftlab.task_adapters.reasoning_gym import ReasoningGymTask\n"
                      "TASK = ReasoningGymTask('puzzle24')\n")
    try:
        code = main(["--task-module", str(module), "data", "build", "rg-puzzle24-answer-only", "--n", "4",
                     "--out", str(tmp_path / "d"), "--quiet"])
        err = capsys.readouterr().err.strip()
    finally:
        unload_task_module(module)
    assert code == 2 and err.startswith("error: reasoning-gym task puzzle24 is refused") and "\n" not in err
    assert not (tmp_path / "d").exists()


def test_perturbations_are_wrong_answers():
    made = dict((what, wrong) for wrong, what in perturbations("up up right", "left"))
    assert made["the last token dropped"] == "up up" and made["another item's answer"] == "left"
    assert dict((what, w) for w, what in perturbations("8", "8")).keys() == {
        "an empty answer", "an unrelated answer", "one digit changed"}  # a coinciding answer is not a perturbation


@pytest.mark.slow
def test_build_train_evaluate_and_export_three_reasoning_gym_tasks(tmp_path):
    built = {}
    for name in SHIPPED:
        preset = f"{get_task(name).prefix}-answer-only"
        out = tmp_path / preset
        assert main(["data", "build", preset, "--n", "8", "--out", str(out), "--quiet"]) == 0
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["verification"] == {"checked": 8, "correct": 8, "correct_fraction": 1.0}
        assert manifest["leakage"]["overlap"] == 0
        built[name] = out
        ev = tmp_path / "eval"
        suite = get_task(name).suite_name
        assert main(["eval", "--backend", "oracle", "--suite", suite, "--episodes", "3", "--out", str(ev),
                     "--quiet"]) == 0
        with ResultsStore(ev) as store:
            assert {r.split: r.value for r in store.query(run="oracle", suite=suite, metric="acc")} == {
                "id": 1.0, "hard": 1.0}
        verl = tmp_path / f"verl-{name}"
        assert main(["data", "export", "verl", str(out), "--out", str(verl)]) == 0
        import pyarrow.parquet as pq

        from sftlab.integrations.verl import compute_score

        row = pq.read_table(verl / "train.parquet").to_pylist()[0]
        assert row["data_source"] == f"{name}_train"
        truth = row["reward_model"]["ground_truth"]
        assert compute_score(row["data_source"], row["extra_info"]["answer"], truth) == 1.0
        assert compute_score(row["data_source"], "\\boxed{no idea}", truth) == 0.0
    # RL rows and the TRL reward GRPO uses
    rl = tmp_path / "rl"
    assert main(["data", "build", "rg-maze-rl", "--n", "4", "--out", str(rl), "--quiet"]) == 0
    from sftlab.data import load_rows
    from sftlab.train.rewards import TaskReward

    rows = load_rows(rl)
    oracle = [get_task("rg_maze").oracle_answer(r, None) for r in rows]
    assert TaskReward()(oracle, answer=[r["answer"] for r in rows], task=[r["task"] for r in rows]) == [1.0] * 4
    # train on mazes, evaluate on mini sudoku (another task's suite)
    run = tmp_path / "run"
    assert main(["train", "sft", "--model", "tiny-random", "--data", str(built["rg_maze"]), "--out", str(run),
                 "--max-steps", "2", "--global-batch", "2", "--per-device-batch", "1", "--max-length", "256",
                 "--schedule", "2", "--quiet"]) == 0
    ev = tmp_path / "eval"
    assert main(["eval", "--model", str(run), "--suite", "rg-mini-sudoku-eval", "--episodes", "2", "--checkpoints",
                 "last", "--max-new-tokens", "4", "--device", "cpu", "--out", str(ev), "--quiet"]) == 0
    with ResultsStore(ev) as store:
        results = store.query(run="run", suite="rg-mini-sudoku-eval", metric="acc")
    assert {(r.checkpoint, r.split) for r in results} == {(c, s) for c in ("base", "checkpoint-2")
                                                           for s in ("id", "hard")}


def test_the_transfer_spec_trains_on_one_task_and_evaluates_on_the_others():
    from sftlab.experiment.spec import load_spec

    spec = load_spec(ROOT / "experiments" / "reasoning-gym-transfer.yaml")
    assert spec.task == "rg_maze"
    assert [c.preset for c in spec.conditions] == ["rg-maze-answer-only", "rg-maze-rl"]
    assert tuple(spec.eval.suites) == ("rg-maze-eval", "rg-mini-sudoku-eval", "rg-shortest-path-eval")
