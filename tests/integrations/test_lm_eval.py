"""The lm-evaluation-harness hook: its output maps into the results store; a real harness run on a local task;
without the harness, a clear error."""

import sqlite3
import sys

import pytest

from sftlab.cli import main
from sftlab.errors import SftlabError
from sftlab.integrations.lm_eval import harness_metrics, run_harness

# The shape `lm_eval.simple_evaluate` returns (trimmed to what the hook reads).
OUTPUT = {
    "results": {
        "ifeval": {"alias": "ifeval", "prompt_level_strict_acc,none": 0.25,
                   "prompt_level_strict_acc_stderr,none": 0.05, "inst_level_loose_acc,none": 0.4,
                   "inst_level_loose_acc_stderr,none": "N/A"},
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.1},
    },
    "n-samples": {"ifeval": {"original": 541, "effective": 40}, "gsm8k": {"original": 1319, "effective": 20}},
}


def test_harness_output_becomes_metrics_with_intervals():
    metrics = {(m.split, m.metric): m for m in harness_metrics(OUTPUT)}
    assert set(metrics) == {("ifeval", "prompt_level_strict_acc"), ("ifeval", "inst_level_loose_acc"),
                            ("gsm8k", "exact_match/strict-match")}
    strict = metrics[("ifeval", "prompt_level_strict_acc")]
    assert (strict.value, strict.n) == (0.25, 40)
    assert strict.ci_low == pytest.approx(0.25 - 1.96 * 0.05) and strict.ci_high == pytest.approx(0.25 + 1.96 * 0.05)
    assert metrics[("ifeval", "inst_level_loose_acc")].ci_low is None  # "N/A" stderr: no interval, no crash
    assert metrics[("gsm8k", "exact_match/strict-match")].n == 20


def test_missing_harness_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` now fails as if it were not installed
    with pytest.raises(SftlabError, match=r"sftlab\[lm-eval\]"):
        run_harness("tiny-random", ["ifeval"], tmp_path)
    capsys.readouterr()
    assert main(["eval-harness", "tiny-random", "--tasks", "ifeval", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pip install 'sftlab[lm-eval]'" in err and "Traceback" not in err


TASK_YAML = """task: sftlab_sums
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}} Answer with the number only."
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 4
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""


@pytest.mark.slow
def test_real_harness_run_on_a_local_task_lands_in_the_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    data = tasks / "sums.jsonl"
    data.write_text('{"question": "What is 2 + 2?", "answer": "4"}\n{"question": "What is 3 + 5?", "answer": "8"}\n')
    (tasks / "sums.yaml").write_text(TASK_YAML.format(data=data))
    out = tmp_path / "eval"
    assert main(["eval-harness", "tiny-random", "--tasks", "sftlab_sums", "--include-path", str(tasks),
                 "--out", str(out), "--device", "cpu"]) == 0
    assert "stored 1 lm-eval numbers" in capsys.readouterr().out
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = list(db.execute("select run, checkpoint, suite, split, metric, n from results"))
    assert rows == [("tiny-random", "base", "lm-eval", "sftlab_sums", "exact_match", 2)]
    # the same checkpoint, tasks and settings are not evaluated again
    assert main(["eval-harness", "tiny-random", "--tasks", "sftlab_sums", "--include-path", str(tasks),
                 "--out", str(out), "--device", "cpu"]) == 0
    assert "stored 0 lm-eval numbers" in capsys.readouterr().out
    assert main(["eval-harness", "tiny-random", "--tasks", "no_such_task", "--include-path", str(tasks),
                 "--out", str(out)]) == 2
    assert "knows no task 'no_such_task'" in capsys.readouterr().err
