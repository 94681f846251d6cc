"""The sweep runner end to end with the real tiny model: files, store rows, skipping, resuming, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sftlab.backends import SamplingParams, get_backend
from sftlab.cli import main
from sftlab.data.suites import suite_rows
from sftlab.errors import ConfigError, ModelError
from sftlab.evaluate import EvalConfig, closed_loop, evaluate
from sftlab.evaluate.runner import UnitLog
from sftlab.store import ResultsStore
from sftlab.tasks.sokoban import EVAL_TAGS

TINY = dict(model="tiny-random", suite="sokoban-eval", episodes=1, max_turns=2, max_new_tokens=4, batch_size=8)
PER_TAG = ("success", "validity_all_episodes", "effectiveness_all_episodes", "num_actions", "turns",
           "response_tokens", "reflection_rate")
RECORD_FIELDS = {"id", "split", "episode", "turn", "prompt", "response", "parsed", "verdict", "correct",
                 "response_tokens"}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A RUN folder: base tiny-random plus one checkpoint with different weights and one identical copy."""
    import torch

    from sftlab.models import load, resolve

    run = tmp_path_factory.mktemp("runs") / "tiny-sft"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"kind": "sft", "base_model": "tiny-random", "status": "complete"}))
    model, tokenizer = load("tiny-random")
    with torch.no_grad():
        model.model.norm.weight.mul_(1.5)
    changed = run / "checkpoints" / "checkpoint-4"
    model.save_pretrained(changed)
    tokenizer.save_pretrained(changed)
    (changed / "COMPLETE").write_text("")
    shutil.copytree(resolve("tiny-random"), run / "checkpoints" / "checkpoint-2")
    (run / "checkpoints" / "checkpoint-2" / "COMPLETE").write_text("")
    return run


def test_tiny_model_end_to_end_and_skip(tmp_path):
    out = tmp_path / "eval"
    results = evaluate(EvalConfig(**TINY, out=str(out)), progress=False)
    got = {(r.split, r.metric) for r in results}
    assert got >= {(tag, metric) for tag in EVAL_TAGS for metric in PER_TAG}
    assert {(r.run, r.checkpoint, r.step) for r in results} == {("tiny-random", "base", 0)}
    success = {r.split: r for r in results if r.metric == "success"}
    assert all(r.n == 1 and r.ci_low == 0.0 and r.ci_high == pytest.approx(0.7935, abs=1e-4)
               for r in success.values())
    assert all(r.settings["max_new_tokens"] == 4 and r.settings["prompt_protocol"] == "paper" for r in results)

    samples = out / "samples" / "tiny-random" / "base" / "sokoban-eval.jsonl"
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(records) == 8 * 2  # 8 tags x 1 episode x 2 turns (a random model never solves)
    assert all(RECORD_FIELDS <= set(r) and r["response_tokens"] <= 4 for r in records)
    aggregate = json.loads((out / "aggregates" / "tiny-random" / "base" / "sokoban-eval.json").read_text())
    assert set(aggregate["metrics"]) == set(EVAL_TAGS)
    assert not (out / "partial").exists()

    with ResultsStore(out) as store:
        stored = len(store)
    mtime = samples.stat().st_mtime_ns
    again = evaluate(EvalConfig(**TINY, out=str(out)), progress=False)
    assert sorted(again, key=str) == sorted(results, key=str)
    assert samples.stat().st_mtime_ns == mtime  # nothing recomputed or rewritten
    with ResultsStore(out) as store:
        assert len(store) == stored


def test_prompt_protocol_is_in_the_key_the_prompts_and_the_table(tmp_path):
    """paper: the original eval prompt's stray backslash; clean: none. Different keys, both named in the table."""
    from rich.console import Console

    from sftlab.analysis.tables import sweep_table as results_table

    out = tmp_path / "eval"
    base = dict(model="", suite="sokoban-eval", backend="oracle", episodes=1, max_turns=1, out=str(out),
                splits=("SimpleSokoban",))
    paper = evaluate(EvalConfig(**base), progress=False)
    prompts = (out / "samples" / "oracle" / "oracle" / "sokoban-eval.jsonl").read_text()
    assert "Decide the next action:\\\\\\nAlways output" in prompts  # JSON of `:\` + newline
    clean = evaluate(EvalConfig(**base, prompt_protocol="clean"), progress=False)
    prompts = (out / "samples" / "oracle" / "oracle" / "sokoban-eval.jsonl").read_text()
    assert "Decide the next action:\\nAlways output" in prompts and "action:\\\\" not in prompts
    assert {r.key for r in paper}.isdisjoint({r.key for r in clean})
    assert {r.settings["prompt_protocol"] for r in paper + clean} == {"paper", "clean"}
    console = Console(width=200, record=True)
    console.print(results_table(paper + clean, "sokoban-eval"))
    assert "prompts: clean, paper" in console.export_text()
    with pytest.raises(ConfigError, match="unknown prompt_protocol 'raw'; choose one of: paper, clean"):
        EvalConfig(**{**base, "prompt_protocol": "raw"})


def test_run_sweep_reuses_identical_content_and_selects_checkpoints(run_folder, tmp_path):
    out = tmp_path / "eval"
    config = dict(TINY, model=str(run_folder), max_turns=1, out=str(out))
    results = evaluate(EvalConfig(**config, checkpoints="0,2"), progress=False)
    names = {(r.checkpoint, r.step) for r in results}
    assert names == {("base", 0), ("checkpoint-2", 2)}
    by = {(r.checkpoint, r.split, r.metric): r.value for r in results}
    # checkpoint-2 is a byte copy of the base: same content fingerprint, numbers copied, not recomputed
    assert all(by["checkpoint-2", s, m] == by["base", s, m] for (_c, s, m) in by)
    assert not (out / "samples" / "tiny-sft" / "checkpoint-2").exists()

    last = evaluate(EvalConfig(**config, checkpoints="last"), progress=False)
    assert {r.checkpoint for r in last} == {"base", "checkpoint-4"}
    with pytest.raises(ConfigError, match="no complete checkpoint at step"):
        evaluate(EvalConfig(**config, checkpoints="7"), progress=False)


def test_resume_reuses_finished_units(tmp_path):
    """Units already in the partial log (a killed run) are not replayed; a torn last line is dropped."""
    out = tmp_path / "eval"
    fresh = evaluate(EvalConfig(**TINY, out=str(tmp_path / "fresh")), progress=False)

    config = EvalConfig(**TINY, out=str(out))
    rows = suite_rows("sokoban-eval", n=1)
    # Play the first 3 episodes as a killed run would have, then plant them in the partial log.
    backend = get_backend("hf", "tiny-random")
    done = closed_loop.play(backend, rows[:3], SamplingParams(temperature=0.5, max_new_tokens=4), seed=0,
                            max_turns=2)
    evaluate(EvalConfig(**{**TINY, "episodes": 2}, out=str(out)), progress=False)  # creates the store, other key
    from sftlab.evaluate.runner import FingerprintCache, eval_key, eval_settings, plan_targets, row_key

    target = plan_targets(config, FingerprintCache(out / "fingerprints.json"))[0]
    content = eval_key(target.fingerprint, "sokoban-eval", eval_settings(config, 4, 1))
    key = row_key(content, target)
    log = UnitLog(out / "partial" / "tiny-random" / "base" / f"sokoban-eval.{key[:16]}.jsonl")
    for unit in done:
        log.append(unit)
    with log.path.open("a") as fh:
        fh.write('{"id": "torn')  # a line cut by the kill
    marker = {**done[0], "records": [{**done[0]["records"][0], "response": "FROM THE PARTIAL LOG"}]}
    log.path.write_text(log.path.read_text().replace(json.dumps(done[0], ensure_ascii=False),
                                                     json.dumps(marker, ensure_ascii=False), 1))
    resumed = evaluate(config, progress=False)
    samples = (out / "samples" / "tiny-random" / "base" / "sokoban-eval.jsonl").read_text()
    assert "FROM THE PARTIAL LOG" in samples  # the planted unit was used, not recomputed
    assert len(samples.splitlines()) == 2 * 8 - 1  # the marker unit kept one record
    keep = {"success", "validity_all_episodes", "effectiveness_all_episodes", "num_actions", "turns"}
    assert sorted((r.split, r.metric, r.value) for r in resumed if r.metric in keep) == \
        sorted((r.split, r.metric, r.value) for r in fresh if r.metric in keep)
    assert not log.path.exists()


# The real `sftlab eval`, whose second checkpoint waits a minute before loading its model, so that the kill lands
# after the first checkpoint is stored and before the second is, however fast or loaded the machine.
_SLOW_SECOND_CHECKPOINT = """
import sys, time
from sftlab.cli import main
from sftlab.evaluate import runner

loads = []
make_backend = runner._backend


def slow_second_backend(config, target):
    loads.append(target.checkpoint)
    if len(loads) == 2:
        time.sleep(60)
    return make_backend(config, target)


runner._backend = slow_second_backend
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_killed_eval_resumes_without_duplicates(run_folder, tmp_path):
    out = tmp_path / "eval"
    args = ["eval", "--model", str(run_folder), "--suite", "sokoban-eval", "--checkpoints", "0,4", "--episodes", "1",
            "--max-turns", "2", "--max-new-tokens", "4", "--out", str(out), "--quiet"]
    cmd = [sys.executable, "-m", "sftlab", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SECOND_CHECKPOINT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 240
    killed = False
    while time.time() < deadline and proc.poll() is None:
        if _rows(out) > 0:  # the first checkpoint is stored: kill during the second
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.2)
    proc.communicate(timeout=60)
    assert killed, "the first eval finished before it could be killed"
    # exactly the first checkpoint's rows: 8 tags x 9 metrics (4 new tokens never make a valid action, so there is
    # no action_is_valid / action_is_effective / efficiency; the per-turn optimal_action_rate and
    # training_word_rate are there)
    assert _rows(out) == 8 * 9
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=400)
    assert second.returncode == 0, second.stderr
    assert "already in the store" in second.stderr
    with sqlite3.connect(out / "results.sqlite") as conn:
        total = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        distinct = conn.execute("SELECT COUNT(DISTINCT run || checkpoint || split || metric) FROM results").fetchone()
    assert total == distinct[0] == 2 * 8 * 9
    for name in ("base", "checkpoint-4"):
        lines = (out / "samples" / "tiny-sft" / name / "sokoban-eval.jsonl").read_text().splitlines()
        assert len(lines) == 16 and len({(json.loads(x)["id"], json.loads(x)["turn"]) for x in lines}) == 16


def _rows(out: Path) -> int:
    if not (out / "results.sqlite").exists():
        return 0
    try:
        with sqlite3.connect(out / "results.sqlite", timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    not_model = tmp_path / "not-a-model"
    not_model.mkdir()
    (not_model / "weights.txt").write_text("nope")
    assert main(["eval", "--model", str(not_model), "--suite", "sokoban-eval", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a model folder" in err and "\n" not in err
    assert main(["eval", "--model", "tiny-random", "--suite", "sokoban-evil", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown eval suite 'sokoban-evil'") and "\n" not in err
    with pytest.raises(ModelError):
        evaluate(EvalConfig(model=str(not_model), suite="sokoban-eval", out=str(tmp_path / "e")), progress=False)
    with pytest.raises(ConfigError, match="multi_turn"):
        EvalConfig(model="tiny-random", suite="sokoban-eval", multi_turn=True)
    with pytest.raises(ConfigError, match="checkpoints must be"):
        EvalConfig(model="tiny-random", suite="sokoban-eval", checkpoints="first")
    with pytest.raises(ConfigError, match="needs --model"):
        EvalConfig(model="", suite="sokoban-eval")


def test_cli_prints_the_table_for_the_oracle(tmp_path, capsys):
    assert main(["eval", "--backend", "oracle", "--suite", "sokoban-eval", "--episodes", "2", "--out",
                 str(tmp_path / "e"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "FakeSokobanNumerical" in out and "100.0% [34, 100]" in out and "0.0% [0, 66]" in out


def test_max_new_tokens_defaults():
    from sftlab.evaluate.runner import resolved_max_new_tokens

    tokens, notice = resolved_max_new_tokens(EvalConfig(model="tiny-random", suite="sokoban-eval", device="cpu"))
    assert tokens == 64 and "--max-new-tokens 4096" in notice
    explicit = EvalConfig(model="tiny-random", suite="sokoban-eval", device="cpu", max_new_tokens=4096)
    assert resolved_max_new_tokens(explicit) == (4096, None)
    assert resolved_max_new_tokens(EvalConfig(model="", suite="sokoban-eval", backend="oracle")) == (4096, None)
    assert resolved_max_new_tokens(EvalConfig(model="", suite="gp-eval", backend="random")) == (8192, None)


def test_splits_restrict_the_suite(tmp_path):
    out = str(tmp_path / "e")
    results = evaluate(EvalConfig(model="", backend="oracle", suite="sokoban-eval", episodes=2, out=out,
                                  splits=("FakeSokobanNumerical", "SimpleSokoban")), progress=False)
    assert {r.split for r in results} == {"FakeSokobanNumerical", "SimpleSokoban"}
    assert results[0].settings["splits"] == ["FakeSokobanNumerical", "SimpleSokoban"]
    with pytest.raises(ConfigError, match="has no split"):
        evaluate(EvalConfig(model="", backend="oracle", suite="sokoban-eval", episodes=1, out=out,
                            splits=("Simple",)), progress=False)


def test_a_policy_evaluated_with_several_seeds_gets_one_named_row_per_seed(tmp_path, capsys):
    out = str(tmp_path / "noise")
    for seed in (0, 1):
        assert main(["eval", "--backend", "random", "--run-name", f"random-seed{seed}", "--suite", "sokoban-eval",
                     "--splits", "SimpleSokoban", "--episodes", "8", "--max-turns", "3", "--seed", str(seed),
                     "--out", out, "--quiet"]) == 0
    stored = ResultsStore(Path(out) / "results.sqlite").query(metric="success")
    assert sorted((r.run, r.settings["seed"]) for r in stored) == [("random-seed0", 0), ("random-seed1", 1)]
    capsys.readouterr()
    assert main(["analyze", "table", out, "--metric", "success"]) == 0
    table = capsys.readouterr().out
    assert "| random-seed0 |" in table and "| random-seed1 |" in table and "*" not in table.split("|---")[-1]


def test_progress_is_printed_line_by_line_when_stderr_is_not_a_terminal(tmp_path, capsys):
    evaluate(EvalConfig(model="random", suite="sokoban-eval", backend="random", episodes=1, max_turns=3,
                        out=str(tmp_path / "s")), progress=True)
    err = capsys.readouterr().err
    assert "turn 1/3: 8 episode(s) playing, 0/8 finished" in err and "turn 3/3:" in err
    evaluate(EvalConfig(model="oracle", suite="gp-eval", backend="oracle", episodes=2, splits=("id",),
                        out=str(tmp_path / "g")), progress=True)
    assert "2/2 rows done" in capsys.readouterr().err
