"""What a study guarantees (docs/experiments.md, "What a study guarantees"): a step is done only while its outputs
are intact and its inputs are the ones it was made from; a report made under --only is remade by the full run; a
damaged store or a deleted run folder is recomputed; run names never collide."""

import json
from pathlib import Path

import pytest

from sftlab.errors import ConfigError
from sftlab.experiment import expand, parse_spec, run_experiment, select
from sftlab.experiment.executors import run_local
from sftlab.experiment.plan import Plan, Step, output_path, state_path, step_hash, step_status
from sftlab.experiment.steps import execute_step, register
from sftlab.store import ResultsStore

from .conftest import require_stages, tiny_spec


@register("test-write")
def _write(step, ctx):
    """Write what its input wrote, its `text` and the experiment's `extra.txt` into its output folder."""
    out = output_path(ctx.exp, step)
    out.mkdir(parents=True, exist_ok=True)
    upstream = "".join((output_path(ctx.exp, ctx.plan[d]) / "out.txt").read_text() for d in step.deps)
    extra = Path(ctx.exp) / "extra.txt"
    (out / "out.txt").write_text(upstream + step.config["text"] + (extra.read_text() if extra.exists() else ""))
    with (Path(ctx.exp) / "calls.jsonl").open("a") as fh:
        fh.write(json.dumps(step.id) + "\n")
    return {}


def _chain(text="a"):
    a = Step(id="a", kind="test-write", config={"text": text}, hash=step_hash("test-write", {"text": text}, []))
    b = Step(id="b", kind="test-write", config={"text": "b"}, deps=("a",),
             hash=step_hash("test-write", {"text": "b"}, [a.hash]))
    return Plan(name="chain", steps=(a, b))


def _run(plan, exp):
    todo = [s.id for s in plan.steps if step_status(exp, s) != "done"]
    run_local(plan, todo, exp)
    calls = Path(exp) / "calls.jsonl"
    ran = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    calls.unlink(missing_ok=True)
    return ran


def test_a_step_is_done_only_while_its_outputs_are_intact(tmp_path):
    plan = _chain()
    assert _run(plan, tmp_path) == ["a", "b"]
    assert [step_status(tmp_path, s) for s in plan.steps] == ["done", "done"]
    out = output_path(tmp_path, plan["b"]) / "out.txt"
    out.write_text("ba")  # same size, other content
    assert step_status(tmp_path, plan["b"]) == "lost"
    out.unlink()
    assert step_status(tmp_path, plan["b"]) == "lost"
    assert _run(plan, tmp_path) == ["b"]
    assert out.read_text() == "ab" and step_status(tmp_path, plan["b"]) == "done"


def test_a_step_is_stale_once_its_input_was_redone_into_something_else(tmp_path):
    plan = _chain()
    _run(plan, tmp_path)
    # the input redone into the same outputs: its reader stays done
    execute_step(plan["a"].as_dict(), str(tmp_path), plan.to_json())
    assert step_status(tmp_path, plan["b"]) == "done"
    # the input lost and redone into other outputs: its reader is stale, and the next run redoes it
    (tmp_path / "extra.txt").write_text("z")
    (output_path(tmp_path, plan["a"]) / "out.txt").unlink()
    assert _run(plan, tmp_path)[-1:] == ["a"]  # (the call above also ran `a`)
    assert step_status(tmp_path, plan["b"]) == "stale"
    assert _run(plan, tmp_path) == ["b"]
    assert (output_path(tmp_path, plan["b"]) / "out.txt").read_text() == "azbz"


def test_a_state_file_that_is_not_a_record_is_a_pending_step(tmp_path):
    plan = _chain()
    _run(plan, tmp_path)
    state_path(tmp_path, "a").write_text("[]")
    assert step_status(tmp_path, plan["a"]) == "pending"
    state_path(tmp_path, "a").write_bytes(b"\xff\xfe{")
    assert step_status(tmp_path, plan["a"]) == "pending"


def _spec(**changes):
    raw = tiny_spec()
    raw["eval"]["baselines"] = ["oracle"]
    raw.update(changes)
    return parse_spec(raw)


def test_the_report_of_an_only_run_has_the_hash_of_its_own_inputs():
    full = expand(_spec())
    part = select(full, {"condition": {"fixed"}})
    assert part["report"].hash != full["report"].hash
    assert all("diverse" not in d for d in part["report"].deps)
    assert select(full, {})["report"].hash == full["report"].hash


def test_run_names_are_unique_by_construction():
    raw = tiny_spec()
    raw["conditions"] = [{**raw["conditions"][0], "name": "a"}, {**raw["conditions"][1], "name": "a-b"}]
    raw["models"] = {"b-c": "tiny-random", "c": "tiny-random"}
    with pytest.raises(ConfigError, match="run name 'a-b-c' would be used by both"):
        expand(parse_spec(raw))
    raw = tiny_spec()
    raw["conditions"][0]["name"] = "oracle"
    with pytest.raises(ConfigError, match="oracle"):
        expand(parse_spec(raw))


@pytest.mark.slow
def test_only_then_full_remakes_the_report_and_lost_outputs_are_recomputed(tmp_path, write_spec):
    require_stages()
    exp = tmp_path / "exp"
    raw = tiny_spec()
    raw["eval"]["baselines"] = ["oracle"]
    spec = write_spec(raw)
    run_experiment(spec, exp, only=["condition=fixed"])
    assert "| diverse" not in (exp / "report.md").read_text()
    second = run_experiment(spec, exp)
    assert second.outcome["report"] == "done"
    assert "| diverse" in (exp / "report.md").read_text()

    store = exp / "outputs" / "eval" / "results.sqlite"
    with ResultsStore(store) as results:
        rows = len(results)
    store.write_bytes(store.read_bytes()[:100])  # truncated
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    third = run_experiment(spec, exp)
    assert {s for s in third.outcome if s.startswith("eval/")} == {
        "eval/fixed/sokoban-eval", "eval/diverse/sokoban-eval", "eval/oracle/sokoban-eval"}
    assert list((exp / "superseded").glob("results.sqlite.damaged-*"))
    with ResultsStore(store) as results:
        assert len(results) == rows

    import shutil

    shutil.rmtree(exp / "outputs" / "runs" / "diverse")
    fourth = run_experiment(spec, exp)
    assert "train/diverse" in fourth.outcome and (exp / "outputs" / "runs" / "diverse" / "run.json").is_file()
    assert run_experiment(spec, exp).outcome == {}
