"""A tiny-model spec runs end to end on the real stages: local, Ray, rerun, changed eval setting, kill + resume."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sftlab.experiment import load_spec, run_experiment
from sftlab.experiment.plan import read_state
from sftlab.store import ResultsStore

from .conftest import require_stages, tiny_spec


def _store_runs(exp):
    with ResultsStore(Path(exp) / "outputs" / "eval" / "results.sqlite") as store:
        return store.runs(), len(store)


def _states(exp):
    return {p.stem: json.loads(p.read_text()) for p in (Path(exp) / "state").glob("*.json")}


@pytest.mark.slow
def test_local_end_to_end_then_rerun_skips_and_eval_change_reruns_eval_only(tmp_path, write_spec):
    require_stages()
    from sftlab.evaluate import EvalConfig

    exp = tmp_path / "exp"
    spec = write_spec(tiny_spec())
    summary = run_experiment(spec, exp)
    assert set(summary.outcome.values()) == {"done"} and len(summary.outcome) == 10
    for name in ("spec.yaml", "plan.json", "report.html", "report.md"):
        assert (exp / name).is_file(), name
    assert (exp / "outputs" / "runs" / "fixed" / "run.json").is_file()
    assert (exp / "logs" / "train__fixed.log").read_text().strip()
    runs, rows = _store_runs(exp)
    assert {"base", "fixed", "diverse", "oracle", "random"} <= set(runs) and rows > 0
    with ResultsStore(exp / "outputs" / "eval" / "results.sqlite") as store:
        oracle = {r.split: r.value for r in store.query(run="oracle", metric="validity_all_episodes")}
        assert oracle["SimpleSokoban"] == 1.0 and oracle["FakeSokobanNumerical"] == 0.0
        paper = {r.split: r.value for r in store.query(run="oracle", metric="action_is_valid")}
        assert paper == {"SimpleSokoban": 1.0}  # Fake: no episode executed an action, so no paper value
        splits = {r.split for r in store.query(run="fixed")}
        assert {"SimpleSokoban", "FakeSokobanNumerical"} <= splits
        if "splits" in {f.name for f in dataclasses.fields(EvalConfig)}:
            assert splits == {"SimpleSokoban", "FakeSokobanNumerical"}

    before = _states(exp)
    train = before["train__fixed"]  # a done step records how long, how much CPU and how loaded the machine was
    assert train["seconds"] > 0 and train["cpu_seconds"] > 0 and len(train["load"]) == 2
    again = run_experiment(spec, exp)
    assert again.outcome == {}  # nothing to do
    assert _states(exp) == before

    changed = write_spec(tiny_spec(temperature=0.9), name="changed.yaml")
    third = run_experiment(changed, exp)
    assert set(third.outcome) == {"eval/fixed/sokoban-eval", "eval/diverse/sokoban-eval", "eval/base/sokoban-eval",
                                  "report"}
    after = _states(exp)
    for key in ("train__fixed", "train__diverse", "data__sokoban-answer-only", "eval__oracle__sokoban-eval"):
        assert after[key] == before[key], key
    with ResultsStore(exp / "outputs" / "eval" / "results.sqlite") as store:
        temps = {r.settings.get("temperature") for r in store.query(run="fixed")}
    assert temps == {0.9}  # the superseded eval's rows are gone, so tables never mix settings


@pytest.mark.slow
def test_ray_executor_on_a_local_two_cpu_instance(tmp_path, write_spec):
    require_stages()
    pytest.importorskip("ray")
    exp = tmp_path / "exp"
    summary = run_experiment(write_spec(tiny_spec()), exp, executor="ray", ray_num_cpus=2)
    assert set(summary.outcome.values()) == {"done"} and len(summary.outcome) == 10
    assert (exp / "report.html").is_file()
    pids = {s["id"]: s.get("pid") for s in _states(exp).values()}
    assert os.getpid() not in pids.values()  # each step ran in a Ray worker
    runs, _ = _store_runs(exp)
    assert {"base", "fixed", "diverse", "oracle", "random"} <= set(runs)


@pytest.mark.slow
def test_killed_mid_training_rerun_completes_without_redoing_finished_steps(tmp_path, write_spec):
    require_stages()
    raw = tiny_spec(max_steps=16, schedule=[2, 4, 8, 16])
    raw["conditions"] = raw["conditions"][:1]
    spec = write_spec(raw)
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "sftlab", "run", str(spec), "--out", str(exp)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ckpts = exp / "outputs" / "runs" / "fixed" / "checkpoints"
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if any((c / "COMPLETE").exists() for c in ckpts.glob("checkpoint-*")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert read_state(exp, "train/fixed")["status"] == "running"
    data_before = read_state(exp, "data/sokoban-answer-only")
    assert data_before["status"] == "done"

    summary = run_experiment(load_spec(spec), exp)
    assert "data/sokoban-answer-only" not in summary.outcome  # not redone
    assert summary.outcome["train/fixed"] == "done"
    assert read_state(exp, "data/sokoban-answer-only") == data_before
    state = read_state(exp, "train/fixed")
    assert state["attempt"] == 2
    assert (ckpts / "checkpoint-16" / "COMPLETE").exists()
    log = (exp / "logs" / "train__fixed.log").read_text()
    assert log.count("=== train/fixed (sft") == 2
