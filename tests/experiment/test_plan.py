"""Plan expansion and hashing: a step reruns exactly when something it reads from changed."""

import copy
from pathlib import Path

import pytest
import yaml

from sftlab.errors import ConfigError
from sftlab.experiment import expand, parse_only, parse_spec, select, step_status
from sftlab.experiment.plan import state_path
from sftlab.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[2]
QUICK = yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text())


def _plan(mutate=None):
    raw = copy.deepcopy(QUICK)
    if mutate:
        mutate(raw)
    return expand(parse_spec(raw))


def _mark_done(exp, plan):
    for step in plan.steps:
        atomic_write_json(state_path(exp, step), {"id": step.id, "hash": step.hash, "status": "done"})


def test_quickstart_expands_to_the_cells_baselines_and_report():
    plan = _plan()
    assert [s.id for s in plan.steps] == [
        "data/sokoban-answer-only", "train/fixed-answer-only", "eval/fixed-answer-only/sokoban-eval",
        "data/sokoban-diverse-answer-only", "train/diverse-answer-only", "eval/diverse-answer-only/sokoban-eval",
        "eval/base/sokoban-eval", "eval/oracle/sokoban-eval", "eval/random/sokoban-eval", "report"]
    train = plan["train/fixed-answer-only"]
    assert train.deps == ("data/sokoban-answer-only",) and train.kind == "sft"
    assert train.config["settings"]["max_steps"] == 12 and train.config["model"] == "smollm2-135m"
    assert plan["eval/fixed-answer-only/sokoban-eval"].deps == ("train/fixed-answer-only",)
    assert set(plan["report"].deps) == {s.id for s in plan.steps if s.kind in ("sft", "eval")}
    # every step comes after what it reads from
    seen = set()
    for step in plan.steps:
        assert set(step.deps) <= seen
        seen.add(step.id)


def test_hashes_are_stable_and_distinct():
    a, b = _plan(), _plan()
    assert [s.hash for s in a.steps] == [s.hash for s in b.steps]
    assert len({s.hash for s in a.steps}) == len(a.steps)


def test_changing_one_eval_setting_reruns_eval_only(tmp_path):
    before = _plan()
    _mark_done(tmp_path, before)
    after = _plan(lambda r: r["eval"].update(temperature=0.7))
    status = {s.id: step_status(tmp_path, s) for s in after.steps}
    assert status == {
        "data/sokoban-answer-only": "done", "train/fixed-answer-only": "done",
        "eval/fixed-answer-only/sokoban-eval": "changed", "data/sokoban-diverse-answer-only": "done",
        "train/diverse-answer-only": "done", "eval/diverse-answer-only/sokoban-eval": "changed",
        "eval/base/sokoban-eval": "changed",
        "eval/oracle/sokoban-eval": "done", "eval/random/sokoban-eval": "done",  # policies ignore temperature
        "report": "changed"}


def test_changing_a_train_setting_reruns_that_chain_only(tmp_path):
    before = _plan()
    _mark_done(tmp_path, before)

    def lr(raw):
        raw["conditions"][0]["train"] = {"learning_rate": 0.005}

    after = _plan(lr)
    changed = {s.id for s in after.steps if step_status(tmp_path, s) != "done"}
    assert changed == {"train/fixed-answer-only", "eval/fixed-answer-only/sokoban-eval", "report"}


def test_changing_the_data_size_reruns_everything_downstream(tmp_path):
    _mark_done(tmp_path, _plan())
    after = _plan(lambda r: r["data"].update(n=41))
    changed = {s.id for s in after.steps if step_status(tmp_path, s) != "done"}
    assert changed == {s.id for s in after.steps if not s.id.startswith(("eval/base", "eval/oracle", "eval/random"))}


def test_statuses_failed_and_interrupted(tmp_path):
    plan = _plan()
    step = plan["train/fixed-answer-only"]
    assert step_status(tmp_path, step) == "pending"
    atomic_write_json(state_path(tmp_path, step), {"hash": step.hash, "status": "failed", "error": "x"})
    assert step_status(tmp_path, step) == "failed"
    atomic_write_json(state_path(tmp_path, step), {"hash": step.hash, "status": "running", "pid": 2 ** 22 + 7})
    assert step_status(tmp_path, step) == "interrupted"


def test_grid_with_models_and_seeds_shares_data_steps():
    def grid(raw):
        raw["models"] = {"a": "tiny-random", "b": "smollm2-135m"}
        raw["seeds"] = [1, 2]

    plan = _plan(grid)
    assert len([s for s in plan.steps if s.kind == "data"]) == 2
    trains = [s.id for s in plan.steps if s.kind == "sft"]
    assert len(trains) == 8 and "train/fixed-answer-only-a-s1" in trains
    assert {s.id for s in plan.steps if s.id.startswith("eval/base")} == {
        "eval/base-a/sokoban-eval", "eval/base-b/sokoban-eval"}


def test_only_selects_a_slice_with_its_inputs():
    plan = _plan()
    sub = select(plan, parse_only(["condition=diverse-answer-only"]))
    assert [s.id for s in sub.steps] == [
        "data/sokoban-diverse-answer-only", "train/diverse-answer-only", "eval/diverse-answer-only/sokoban-eval",
        "report"]
    assert sub["report"].deps == ("train/diverse-answer-only", "eval/diverse-answer-only/sokoban-eval")
    evals = select(plan, parse_only(["kind=eval", "suite=sokoban-eval"]))
    assert {s.kind for s in evals.steps} == {"data", "sft", "eval", "report"}
    with pytest.raises(ConfigError, match="no step has that condition; choose from"):
        select(plan, parse_only(["condition=difverse"]))
    with pytest.raises(ConfigError, match="unknown key 'conditon'"):
        parse_only(["conditon=x"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_only(["condition"])


def test_eval_steps_rerun_when_the_evaluation_protocol_changes():
    from sftlab.evaluate.runner import PROTOCOL
    from sftlab.experiment.plan import STEP_VERSIONS

    assert STEP_VERSIONS["eval"] == PROTOCOL
