"""Tasks opt into capabilities: each shipped task reports what it has, and the guide's core-only task is evaluated
while everything it did not opt into is a one-line error from the verb (or the reward) that needs it."""

from __future__ import annotations

import pytest

from sftlab.backends import SamplingParams
from sftlab.backends.policies import ScriptedBackend
from sftlab.cli import main
from sftlab.data import load_rows
from sftlab.errors import ConfigError
from sftlab.evaluate import single_turn
from sftlab.task_adapters import ENV_VAR, capabilities_of, get_task, unload_task_module
from tests.task_adapters.test_plugins import doc_blocks

EVERYTHING = ("data", "rewards", "policies", "verl")
SHIPPED = {"sokoban": EVERYTHING, "general_points": EVERYTHING, "countdown": EVERYTHING, "rg_maze": EVERYTHING,
           "rg_mini_sudoku": EVERYTHING, "rg_shortest_path": EVERYTHING, "crossdomain": ("policies",),
           "safety": ("policies",)}


def test_each_shipped_task_reports_the_capabilities_it_has(capsys):
    assert {name: capabilities_of(get_task(name)) for name in SHIPPED} == SHIPPED
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert out.count("capabilities: core, data, rewards, policies, verl\n") == 6
    assert out.count("capabilities: core, policies\n") == 2


@pytest.fixture
def core_task(tmp_path, monkeypatch):
    """The guide's first example, the core only, as a task file."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = tmp_path / "addition.py"
    path.write_text(doc_blocks()[0], encoding="utf-8")
    yield path
    unload_task_module(path)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


MISSING = "task addition has no {}: it does not opt into {} (see docs/adding-a-task.md)"


def test_the_guides_core_task_is_evaluated_and_what_it_lacks_is_one_line(core_task, tmp_path, capsys):
    def cli(*args) -> int:
        return main(["--task-module", str(core_task), *args])

    assert cli("tasks") == 0
    out = capsys.readouterr().out
    assert "addition: Add two numbers" in out and out.endswith("presets: addition-eval\n    capabilities: core\n")
    suite = tmp_path / "suite"
    assert cli("data", "build", "addition-eval", "--n", "2", "--out", str(suite), "--quiet") == 0
    capsys.readouterr()
    rows = load_rows(suite, "test")  # evaluated through the engine, answers replayed by a real backend
    right = {r["id"]: [f"<answer>{r['answer']['a'] + r['answer']['b']}</answer>"] for r in rows}
    units = single_turn.run(ScriptedBackend(right), rows, SamplingParams())
    assert sorted((u["split"], u["summary"]["correct"]) for u in units) == [("id", True)] * 2 + [("ood", True)] * 2

    assert cli("data", "build", "addition-answer-only", "--out", str(tmp_path / "d")) == 2
    assert _error(capsys) == "error: " + MISSING.format("training data", "TrainingData")
    assert cli("eval", "--backend", "oracle", "--suite", "addition-eval", "--out", str(tmp_path / "o")) == 2
    assert _error(capsys) == "error: " + MISSING.format("oracle or random policy", "ReferencePolicies")
    assert cli("data", "export", "verl", str(suite), "--out", str(tmp_path / "verl")) == 2
    assert "holds addition rows, which have no verl export (their task does not opt into VerlExport" in (
        _error(capsys))
    spec = tmp_path / "add.yaml"
    spec.write_text("name: add\ntask: addition\ntask_module: addition.py\nmodels: [tiny-random]\n"
                    "conditions:\n  - {name: rl, method: grpo}\n", encoding="utf-8")
    assert main(["run", str(spec), "--dry-run", "--out", str(tmp_path / "exp")]) == 2
    assert _error(capsys).endswith("task: " + MISSING.format("training data", "TrainingData"))
    assert not any(p.exists() for p in (tmp_path / "d", tmp_path / "o", tmp_path / "verl", tmp_path / "exp"))

    from sftlab.integrations.verl import compute_score
    from sftlab.train.rewards import TaskReward

    with pytest.raises(ConfigError) as grpo:
        TaskReward("addition")  # the GRPO reward function
    assert str(grpo.value) == MISSING.format("reward", "Rewards")
    with pytest.raises(ConfigError) as verl:
        compute_score("addition_id", "<answer>3</answer>", {"a": 1, "b": 2})  # verl's reward
    assert str(verl.value) == MISSING.format("verl export", "VerlExport")


def test_a_training_preset_without_training_data_is_refused_when_the_task_loads(core_task, capsys):
    core_task.write_text(doc_blocks()[0].replace("TASK = Addition()", (
        "class WithPreset(Addition):\n    def presets(self):\n"
        "        from sftlab.task_adapters import Preset\n"
        "        return [Preset('addition-rl', self.name, 'rl', None, False, 8, 'RL prompts')]\n\n\n"
        "TASK = WithPreset()")), encoding="utf-8")
    assert main(["--task-module", str(core_task), "tasks"]) == 2
    assert _error(capsys) == ("error: task addition declares the rl preset 'addition-rl' but does not opt into "
                              "TrainingData (see docs/adding-a-task.md)")
