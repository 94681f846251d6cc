"""User tasks as plugins: the task of docs/adding-a-task.md, loaded from a file, through every verb of the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sftlab.cli import main
from sftlab.errors import ConfigError
from sftlab.store import ResultsStore
from sftlab.task_adapters import (
    ENV_VAR,
    get_task,
    load_task_module,
    presets,
    reward_task_names,
    unload_task_module,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-task.md"


def doc_blocks() -> list[str]:
    """The Python blocks of docs/adding-a-task.md: the core-only task first, then the task with every capability."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def doc_task_source() -> str:
    """The guide's complete example task (every capability), its second Python block."""
    return doc_blocks()[1]


@pytest.fixture
def task_file(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = tmp_path / "addition.py"
    path.write_text(doc_task_source(), encoding="utf-8")
    yield path
    unload_task_module(path)


def _cli(task_file, *args) -> int:
    return main(["--task-module", str(task_file), *args])


@pytest.mark.slow
def test_a_task_from_a_file_builds_trains_evaluates_reports_and_exports(task_file, tmp_path, capsys):
    assert _cli(task_file, "tasks") == 0
    assert "addition: Add two numbers" in capsys.readouterr().out
    data = tmp_path / "data"
    assert _cli(task_file, "data", "build", "addition-answer-only", "--n", "16", "--out", str(data), "--quiet") == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["verification"]["correct"] == 16 and manifest["leakage"]["eval_suite"] == "addition-eval"
    run = tmp_path / "run"
    assert _cli(task_file, "train", "sft", "--model", "tiny-random", "--data", str(data), "--out", str(run),
                "--max-steps", "2", "--global-batch", "2", "--per-device-batch", "1", "--max-length", "128",
                "--schedule", "2", "--quiet") == 0
    ev = tmp_path / "eval"
    assert _cli(task_file, "eval", "--model", str(run), "--suite", "addition-eval", "--episodes", "2",
                "--max-new-tokens", "4", "--device", "cpu", "--out", str(ev), "--quiet") == 0
    assert _cli(task_file, "eval", "--backend", "oracle", "--suite", "addition-eval", "--episodes", "3",
                "--out", str(ev), "--quiet") == 0
    with ResultsStore(ev) as store:
        oracle = {r.split: r.value for r in store.query(run="oracle", metric="acc")}
        checkpoints = {r.checkpoint for r in store.query(run="run", metric="acc")}
    assert oracle == {"id": 1.0, "ood": 1.0}
    assert checkpoints == {"base", "checkpoint-2"}
    capsys.readouterr()
    assert _cli(task_file, "report", str(ev), "--no-weights") == 0
    assert "addition-eval" in (ev / "report.md").read_text()
    verl = tmp_path / "verl"
    assert _cli(task_file, "data", "export", "verl", str(data), "--out", str(verl)) == 0
    import pyarrow.parquet as pq

    row = pq.read_table(verl / "train.parquet").to_pylist()[0]
    assert row["data_source"] == "addition_train" and row["ability"] == "reasoning"
    # the verl reward finds the task from the data source in a fresh process, through SFTLAB_TASK_MODULES
    code = ("import json, sys; from sftlab.integrations.verl import compute_score; r = json.loads(sys.argv[1]); "
            "print(compute_score(r['data_source'], r['answer'], r['gt']), compute_score(r['data_source'], 'x', r['gt']))")
    payload = json.dumps({"data_source": row["data_source"], "gt": row["reward_model"]["ground_truth"],
                          "answer": row["extra_info"]["answer"]})
    done = subprocess.run([sys.executable, "-c", code, payload], capture_output=True, text=True, timeout=120,
                          env={**os.environ, ENV_VAR: str(task_file)})
    assert done.stdout.split() == ["1.0", "0.0"], done.stderr[-2000:]


def test_a_task_file_registers_presets_suites_and_its_rewards(task_file):
    (task,) = load_task_module(task_file)
    assert get_task("addition") is task and "addition-rl" in presets()
    from sftlab.train.rewards import TaskReward

    assert "addition" in reward_task_names()
    reward = TaskReward("addition")
    answer = {"a": 12, "b": 30}
    assert reward(["<answer>42</answer>", "<answer>41</answer>", "no answer"], answer=[answer] * 3) == [1.0, 0.0, 0.0]
    assert os.environ[ENV_VAR] == str(task_file.resolve())
    assert load_task_module(task_file) == []  # loading the same file again is a no-op


def test_a_plugin_tasks_own_eval_and_reward_options_reach_it(task_file, tmp_path, capsys):
    """The guide's task declares an eval option (lenient) and a reward option (tag_credit): each reaches the task
    through the CLI, a spec and Python, and is refused by name where it does not apply."""
    (task,) = load_task_module(task_file)
    from sftlab.evaluate import EvalConfig
    from sftlab.evaluate.runner import eval_settings
    from sftlab.evaluate.single_turn import judge
    from sftlab.experiment.spec import parse_spec
    from sftlab.train.grpo import GrpoConfig, task_reward

    answer = {"a": 12, "b": 30}
    lenient = EvalConfig(model="", backend="oracle", suite="addition-eval", options={"lenient": True})
    assert judge("addition", "it is 42", answer, options=lenient.options).correct
    assert not judge("addition", "it is 42", answer, options=EvalConfig(
        model="", backend="oracle", suite="addition-eval").options).correct
    assert eval_settings(lenient, 8, 1)["lenient"] is True  # part of the evaluation key
    ev = tmp_path / "eval"
    assert _cli(task_file, "eval", "--backend", "oracle", "--suite", "addition-eval", "--episodes", "1",
                "--option", "lenient=yes", "--out", str(ev), "--quiet") == 0
    assert json.loads(next((ev / "aggregates").rglob("addition-eval.json")).read_text())["settings"]["lenient"]
    assert _cli(task_file, "eval", "--backend", "oracle", "--suite", "gp-eval", "--option", "lenient=yes") == 2
    assert "lenient is an eval option of addition, not of general_points" in capsys.readouterr().err
    assert _cli(task_file, "eval", "--backend", "oracle", "--suite", "addition-eval", "-o", "lenint=1") == 2
    assert "unknown eval option 'lenint' (did you mean lenient?)" in capsys.readouterr().err

    batch = {"completions": ["<answer>41</answer>", "41"], "answer": [answer] * 2, "task": ["addition"] * 2}
    config = GrpoConfig.from_dict({"model": "m", "data": "d", "out": "o", "tag_credit": 0.5})
    assert task_reward(config)(**batch) == [0.5, 0.0]
    assert task_reward(GrpoConfig(model="m", data="d", out="o"))(**batch) == [0.0, 0.0]
    assert config.training_fields()["tag_credit"] == 0.5  # run.json records it by its name
    with pytest.raises(ConfigError, match="tag_credit must be between 0 and 1"):
        GrpoConfig(model="m", data="d", out="o", tag_credit=2.0)

    spec = {"name": "x", "models": ["tiny-random"], "conditions": [{"name": "rl", "method": "grpo"}]}
    parsed = parse_spec({**spec, "task": "addition", "train": {"grpo": {"tag_credit": 0.25}}, "eval": {"lenient": True}})
    assert parsed.train.settings("grpo") == {"tag_credit": 0.25} and parsed.eval.options == {"lenient": True}
    with pytest.raises(ConfigError, match=r"train\.grpo\.tag_credit: tag_credit is a reward option of addition, "
                                          "not of sokoban"):
        parse_spec({**spec, "task": "sokoban", "train": {"grpo": {"tag_credit": 0.25}}})
    with pytest.raises(ConfigError, match=r"eval\.lenient: lenient is an eval option of addition, not of sokoban"):
        parse_spec({**spec, "task": "sokoban", "eval": {"lenient": True}})


def test_a_task_module_in_a_spec_is_loaded_relative_to_the_spec(task_file, tmp_path):
    from sftlab.experiment.spec import load_spec

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("name: add\ntask: addition\ntask_module: addition.py\nmodels: [tiny-random]\n"
                         "conditions:\n  - {name: answer-only, demo: answer-only}\n  - {name: rl, method: grpo}\n")
    spec = load_spec(spec_file)
    assert spec.task == "addition"
    assert [c.preset for c in spec.conditions] == ["addition-answer-only", "addition-rl"]
    assert tuple(spec.eval.suites) == ("addition-eval",)


def test_bad_task_modules_are_one_line_errors(tmp_path, capsys):
    missing = tmp_path / "nope.py"
    assert main(["--task-module", str(missing), "tasks"]) == 2
    assert capsys.readouterr().err.strip() == f"error: no such task module: {missing}"
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    assert main(["--task-module", str(broken), "tasks"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: task module") and "ModuleNotFoundError" in err and "\n" not in err
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    assert main(["--task-module", str(empty), "tasks"]) == 2
    assert "defines no task" in capsys.readouterr().err
    clash = tmp_path / "clash.py"
    clash.write_text("from sftlab.task_adapters import Task\n\nclass Gp(Task):\n    name = 'gp'\n\nTASK = Gp()\n")
    assert main(["--task-module", str(clash), "tasks"]) == 2
    assert "already taken by task general_points" in capsys.readouterr().err


def test_an_installed_entry_point_is_found_in_a_fresh_process(tmp_path):
    (tmp_path / "my_addition.py").write_text(doc_task_source(), encoding="utf-8")
    dist = tmp_path / "my_addition-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-addition\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sftlab.tasks]\naddition = my_addition:TASK\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    env.pop(ENV_VAR, None)
    done = subprocess.run([sys.executable, "-m", "sftlab", "tasks"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "addition: Add two numbers" in done.stdout and "addition-answer-only" in done.stdout


def test_a_spec_with_a_task_module_runs_end_to_end_through_sftlab_run(task_file, tmp_path, capsys):
    # data -> 2-step SFT on tiny-random -> eval (the run's checkpoints and the baselines) -> report, all planned
    # from a spec that names the plugin file (relative to the spec); the steps find the task in every process
    spec = tmp_path / "addition.yaml"
    spec.write_text(
        "name: add\ntask: addition\ntask_module: addition.py\nmodels: [tiny-random]\nseeds: [1]\n"
        "data: {n: 8, seed: 0}\n"
        "conditions:\n  - {name: answer-only, demo: answer-only, method: sft}\n"
        "train:\n  sft: {max_steps: 2, global_batch: 2, per_device_batch: 2, max_length: 128, learning_rate: 0.001,"
        " schedule: [2]}\n"
        "eval: {suites: [addition-eval], episodes: 2, max_new_tokens: 4, checkpoints: all,"
        " baselines: [base, oracle, random]}\n", encoding="utf-8")
    unload_task_module(task_file)  # only the spec's task_module makes the task known
    with pytest.raises(ConfigError, match="unknown task 'addition'"):
        get_task("addition")
    exp = tmp_path / "exp"
    assert main(["run", str(spec), "--out", str(exp)]) == 0, capsys.readouterr().err[-3000:]
    states = [json.loads(p.read_text()) for p in (exp / "state").glob("*.json")]
    assert states and {s["status"] for s in states} == {"done"}
    assert (exp / "outputs" / "runs" / "answer-only" / "checkpoints" / "checkpoint-2").is_dir()
    with ResultsStore(exp / "outputs" / "eval" / "results.sqlite") as store:
        rows = store.query(suite="addition-eval", metric="acc")
    by_run = {}
    for r in rows:
        by_run.setdefault(r.run, {})[(r.checkpoint, r.split)] = r.value
    assert set(by_run) == {"answer-only", "base", "oracle", "random"}
    assert {c for c, _ in by_run["answer-only"]} == {"checkpoint-2"}  # its step 0 is the `base` run's
    assert {c for c, _ in by_run["base"]} == {"base"}
    assert {s for run in by_run.values() for _, s in run} == {"id", "ood"}  # the plugin task's own splits
    assert set(by_run["oracle"].values()) == {1.0}
    assert "addition-eval" in (exp / "report.md").read_text()


# Issue 26: a plugin's failure is one line naming the plugin and the method; a plugin cannot end the process.
_BROKEN = {
    "init-raises": ("def __init__(self):\n        raise RuntimeError('no init')", "Broken", "__init__() failed"),
    "presets-raises": ("def presets(self):\n        raise ValueError('x')", None, "presets() failed: ValueError"),
    "presets-wrong-type": ("def presets(self):\n        return 'x'", None, "expected a list of Preset"),
    "judge-raises": ("def judge(self, response, answer, refused=None, options=None):\n        raise ValueError('bad')", None,
                     "judge() failed: ValueError: bad"),
    "judge-returns-int": ("def judge(self, response, answer, refused=None, options=None):\n        return 1", None,
                          "judge() returned int 1; expected a Verdict"),
    "oracle-returns-none": ("def oracle_answer(self, row, rng):\n        return None", None,
                            "oracle_answer() returned NoneType None; expected a string"),
    "rows-without-id": ("def suite_rows(self, *a):\n        return [{'split': 'id'}]", None, "(row 0 has no 'id')"),
    "split-order-none": ("def split_order(self, suite):\n        return None", None, "split_order() returned"),
    "judge-exits": ("def judge(self, response, answer, refused=None, options=None):\n        import sys; sys.exit(0)", None,
                    "judge() tried to end the process (sys.exit(0))"),
}
_BROKEN_TRAIN = {
    "train-rows-none": ("def train_rows(self, *a):\n        return None", "expected a tuple (rows, info dict)"),
    "train-rows-without-task": ("def train_rows(self, *a):\n        rows, info = super().train_rows(*a)\n"
                                "        return [{k: v for k, v in r.items() if k != 'task'} for r in rows], info",
                                "(row 0 has no 'task')"),
}


def _broken_plugin(tmp_path, monkeypatch, method: str, instance: str | None = None) -> Path:
    monkeypatch.delenv(ENV_VAR, raising=False)
    source = doc_task_source().replace("addition", "brk").replace("Addition", "Brk").replace("TASK = Brk()", "")
    path = tmp_path / "broken.py"
    path.write_text(f"{source}\n\nclass Broken(Brk):\n    {method}\n\n\nTASK = {instance or 'Broken()'}\n")
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("case", list(_BROKEN))
def test_a_broken_plugin_method_is_one_line_naming_the_plugin_and_the_method(case, tmp_path, monkeypatch, capsys):
    method, instance, fragment = _BROKEN[case]
    path = _broken_plugin(tmp_path, monkeypatch, method, instance)
    try:
        code = main(["--task-module", str(path), "eval", "--backend", "oracle", "--suite", "brk-eval", "--episodes",
                     "2", "--out", str(tmp_path / "ev"), "--quiet"])
        assert code == 2
        line = _one_error_line(capsys)
        assert "task plugin 'brk' (Broken in" in line and fragment in line, line
    finally:
        unload_task_module(path)


@pytest.mark.parametrize("case", list(_BROKEN_TRAIN))
def test_broken_training_rows_of_a_plugin_are_one_line(case, tmp_path, monkeypatch, capsys):
    method, fragment = _BROKEN_TRAIN[case]
    path = _broken_plugin(tmp_path, monkeypatch, method)
    try:
        code = main(["--task-module", str(path), "data", "build", "brk-answer-only", "--n", "2", "--out",
                     str(tmp_path / "d"), "--quiet"])
        assert code == 2
        line = _one_error_line(capsys)
        assert "train_rows()" in line and fragment in line, line
        assert not (tmp_path / "d").exists()
    finally:
        unload_task_module(path)
