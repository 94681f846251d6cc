"""A spec whose train step asks for `resources: {processes: 2}` trains through `accelerate launch` (two gloo CPU
processes here), from `sftlab run`, with the local executor and through Ray."""

import json
from pathlib import Path

import pytest

from sftlab.errors import SftlabError
from sftlab.experiment import run_experiment
from sftlab.experiment.plan import read_state
from sftlab.store import ResultsStore
from sftlab.train.runs import list_checkpoints, read_run

from .conftest import require_stages, tiny_spec

ROOT = Path(__file__).resolve().parents[2]


def two_process_spec(**resources) -> dict:
    raw = tiny_spec(max_steps=2)
    raw["conditions"] = raw["conditions"][:1]
    raw["report"] = False
    # global batch 2 = 1 per device x 1 accumulation x 2 processes
    raw["train"]["sft"].update(global_batch=2, per_device_batch=1, schedule=[1, 2])
    raw["train"]["resources"] = {"cpus": 1, "processes": 2, **resources}
    raw["eval"].update(baselines=[], episodes=1, max_turns=1, splits=["SimpleSokoban"], checkpoints="last")
    return raw


def check_two_process_run(exp: Path) -> dict:
    state = read_state(exp, "train/fixed")
    assert state["status"] == "done"
    assert state["outputs"]["launcher"] == "accelerate" and state["outputs"]["processes"] == 2
    run = exp / "outputs" / "runs" / "fixed"
    info = read_run(run)
    assert info["status"] == "complete" and info["final_step"] == 2
    assert (info["plan"]["world_size"], info["plan"]["grad_accum"], info["plan"]["distributed"]) == (2, 1, "MULTI_CPU")
    assert [s for s, _ in list_checkpoints(run)] == [0, 1, 2]
    log = (exp / "logs" / "train__fixed.log").read_text()
    assert "accelerate.commands.launch --num_processes 2" in log
    assert log.count("sft tiny-random on ") == 1  # the launched processes' output is in the step's log, rank 0's
    return state


@pytest.mark.slow
def test_two_process_train_step_runs_end_to_end_locally(tmp_path, write_spec):
    require_stages()
    exp = tmp_path / "exp"
    summary = run_experiment(write_spec(two_process_spec()), exp)
    assert summary.outcome == {"data/sokoban-answer-only": "done", "train/fixed": "done",
                               "eval/fixed/sokoban-eval": "done"}
    check_two_process_run(exp)
    with ResultsStore(exp / "outputs" / "eval" / "results.sqlite") as store:
        assert {r.split for r in store.query(run="fixed")} == {"SimpleSokoban"}
    # rerunning finds everything done; nothing is launched again
    assert run_experiment(write_spec(two_process_spec()), exp).outcome == {}


@pytest.mark.slow
def test_two_process_train_step_through_ray(tmp_path, write_spec):
    require_stages()
    pytest.importorskip("ray")
    exp = tmp_path / "exp"
    summary = run_experiment(write_spec(two_process_spec()), exp, only=["kind=sft"], executor="ray",
                             ray_num_cpus=2)
    assert summary.outcome == {"data/sokoban-answer-only": "done", "train/fixed": "done"}
    state = check_two_process_run(exp)
    assert state["node"]["ray_node_id"]  # ran inside a Ray task, which launched the two processes


def test_missing_accelerate_config_fails_the_step_with_one_line(tmp_path, write_spec):
    require_stages()
    exp = tmp_path / "exp"
    spec = write_spec(two_process_spec(accelerate_config=str(tmp_path / "nope.yaml")))
    with pytest.raises(SftlabError, match="did not finish"):
        run_experiment(spec, exp, only=["kind=sft"])
    state = read_state(exp, "train/fixed")
    assert state["status"] == "failed"
    assert state["error"] == f"accelerate_config {tmp_path / 'nope.yaml'} not found (a relative path is read " \
                             f"from {Path.cwd()})"
    assert json.loads((exp / "plan.json").read_text())["steps"][1]["resources"]["processes"] == 2


@pytest.mark.parametrize(("resources", "where", "message"), [
    ({"train": {"processes": 0}}, "train.resources.processes", "must be between 1 and 4096, got 0"),
    ({"train": {"gpus": 2, "processes": 4}}, "train.resources.processes", "4 processes need 4 GPUs"),
    ({"eval": {"processes": 2}}, "eval.resources.processes", "only training runs several processes"),
])
def test_processes_are_checked_in_the_spec(resources, where, message):
    from sftlab.experiment.spec import SpecError, parse_spec

    raw = two_process_spec()
    raw["train"]["resources"] = resources.get("train", {"cpus": 1})
    if "eval" in resources:
        raw["eval"]["resources"] = resources["eval"]
    with pytest.raises(SpecError, match=f"{where}: .*{message}"):
        parse_spec(raw, source="s.yaml")


def test_plan_and_ray_needs_of_a_two_process_step():
    from sftlab.experiment.executors import ray_needs
    from sftlab.experiment.plan import expand
    from sftlab.experiment.spec import parse_spec
    from sftlab.experiment.steps import train_processes

    plan = expand(parse_spec(two_process_spec()))
    train = plan["train/fixed"]
    assert train_processes(train.resources) == 2
    assert ray_needs(train) == (2.0, 0.0)  # one CPU per process on CPUs
    assert ray_needs(plan["eval/fixed/sokoban-eval"]) == (1.0, 0.0)
    assert train_processes({"cpus": 8, "gpus": 4}) == 4  # the older spelling: one process per GPU
