"""The executor bookkeeping with small step kinds of our own: failures, --keep-going, retries, supersede."""

import json
from pathlib import Path

from sftlab.experiment.executors import run_local
from sftlab.experiment.plan import Plan, Step, log_path, read_state, step_hash, step_status
from sftlab.experiment.steps import register


def _count(ctx, step):
    path = Path(ctx.exp) / "calls.jsonl"
    with path.open("a") as fh:
        fh.write(json.dumps(step.id) + "\n")


@register("test-touch")
def _touch(step, ctx):
    _count(ctx, step)
    print(f"hello from {step.id}")
    return {"value": step.config.get("value")}


@register("test-flaky")
def _flaky(step, ctx):
    _count(ctx, step)
    if (Path(ctx.exp) / "break").exists():
        raise RuntimeError("the stage crashed\nsecond line")
    return {}


def _plan(value=1):
    steps = []

    def add(sid, kind, deps=(), soft=False, **config):
        hashes = [next(s for s in steps if s.id == d).hash for d in deps]
        steps.append(Step(id=sid, kind=kind, config=config, deps=tuple(deps), hash=step_hash(kind, config, hashes),
                          soft_deps=soft))

    add("a", "test-touch", value=value)
    add("b", "test-flaky", deps=["a"])
    add("c", "test-touch", deps=["b"])
    add("d", "test-touch", deps=["a"], value=2)
    add("r", "test-touch", deps=["c", "d"], soft=True)
    return Plan(name="toy", steps=tuple(steps))


def _calls(exp):
    path = Path(exp) / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _todo(plan, exp):
    return [s.id for s in plan.steps if step_status(exp, s) != "done"]


def test_failure_blocks_dependents_keep_going_runs_the_rest_and_rerun_retries_only_failed(tmp_path):
    plan = _plan()
    (tmp_path / "break").touch()
    sched = run_local(plan, _todo(plan, tmp_path), tmp_path, keep_going=True)
    assert sched.outcome == {"a": "done", "b": "failed", "c": "blocked", "d": "done", "r": "done"}
    assert _calls(tmp_path) == ["a", "b", "d", "r"]
    state = read_state(tmp_path, "b")
    assert state["status"] == "failed" and state["error"] == "RuntimeError: the stage crashed"
    assert "Traceback" in log_path(tmp_path, "b").read_text()
    assert "hello from a" in log_path(tmp_path, "a").read_text()
    # the report-like soft step ran with a missing input: it is not "done" for the next run
    assert read_state(tmp_path, "r")["missing"] == ["c"]
    assert step_status(tmp_path, plan["r"]) == "changed"

    (tmp_path / "break").unlink()
    (tmp_path / "calls.jsonl").unlink()
    todo = _todo(plan, tmp_path)
    assert "a" not in todo and "d" not in todo and {"b", "c"} <= set(todo)
    sched = run_local(plan, todo, tmp_path, keep_going=True)
    assert all(o == "done" for o in sched.outcome.values())
    assert _calls(tmp_path) == ["b", "c", "r"]


def test_without_keep_going_nothing_starts_after_a_failure(tmp_path):
    plan = _plan()
    (tmp_path / "break").touch()
    sched = run_local(plan, _todo(plan, tmp_path), tmp_path, keep_going=False)
    assert sched.outcome == {"a": "done", "b": "failed"}
    assert set(sched.not_run()) == {"c", "d", "r"}
    assert _calls(tmp_path) == ["a", "b"]


def test_changed_input_reruns_the_chain_and_supersedes_old_outputs(tmp_path):
    plan = _plan()
    run_local(plan, _todo(plan, tmp_path), tmp_path)
    assert _calls(tmp_path) == ["a", "b", "c", "d", "r"]
    assert _todo(plan, tmp_path) == []
    (tmp_path / "calls.jsonl").unlink()
    changed = _plan(value=5)
    run_local(changed, _todo(changed, tmp_path), tmp_path)
    assert _calls(tmp_path) == ["a", "b", "c", "d", "r"]  # everything reads from a
    assert read_state(tmp_path, "a")["outputs"] == {"value": 5}
