"""A closed-loop task from a plugin file (tests/evaluate/corridor_task.py: a 1-D corridor walk, its own
Environment) evaluated end to end by `sftlab eval` on the engine with the oracle policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sftlab.cli import main
from sftlab.store import ResultsStore
from sftlab.task_adapters import ENV_VAR, unload_task_module

CORRIDOR = Path(__file__).with_name("corridor_task.py")


@pytest.fixture
def corridor(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    yield lambda *args: main(["--task-module", str(CORRIDOR), "eval", "--suite", "corridor-eval", "--quiet", *args])
    unload_task_module(CORRIDOR)


def _metrics(out: Path, run: str) -> dict:
    with ResultsStore(out) as store:
        return {(r.split, r.metric): r.value for r in store.query(run=run)}


def test_a_plugin_environment_is_played_by_the_engine_through_sftlab_eval(corridor, tmp_path):
    out = tmp_path / "eval"
    assert corridor("--backend", "oracle", "--episodes", "3", "--max-turns", "4", "--out", str(out)) == 0
    # near exits are reached in 2 steps (the environment ends the episode); far ones need 5 > --max-turns 4
    assert _metrics(out, "oracle") == {("near", "success"): 1.0, ("near", "turns"): 2.0,
                                       ("far", "success"): 0.0, ("far", "turns"): 4.0}
    records = [json.loads(line) for line in (out / "samples/oracle/oracle/corridor-eval.jsonl").open()]
    assert len(records) == 3 * 2 + 3 * 4 and {r["move"] for r in records} == {1}
    assert [(r["turn"], r["correct"]) for r in records if r["id"] == "near-0"] == [(0, False), (1, True)]
    assert records[0]["prompt"].startswith("You stand at 2; the exit is at 4.")
    assert records[1]["prompt"].startswith("You stand at 3; the exit is at 4.")  # the next turn's state
    with ResultsStore(out) as store:
        assert {r.settings["max_turns"] for r in store.query(suite="corridor-eval")} == {4}


def test_a_plugin_environment_that_fails_on_a_turn_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    broken = tmp_path / "broken_corridor.py"
    broken.write_text(CORRIDOR.read_text() + (
        "\n\nclass Broken(CorridorEnvironment):\n    def step(self, episode, response):\n"
        "        raise ValueError('no floor here')\n\n\n"
        "Corridor.environment = lambda self, config, refusal_judge=None: Broken(config.max_turns)\n"))
    try:
        code = main(["--task-module", str(broken), "eval", "--suite", "corridor-eval", "--backend", "oracle",
                     "--out", str(tmp_path / "eval"), "--quiet"])
    finally:
        unload_task_module(broken)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"error: task plugin 'corridor' (Corridor in {broken}): step() failed: "
                       "ValueError: no floor here")
