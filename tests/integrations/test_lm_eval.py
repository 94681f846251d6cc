"""The lm-evaluation-harness hook: its output maps into the results store; without the harness, a clear error."""

import importlib.util

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


@pytest.mark.skipif(importlib.util.find_spec("lm_eval") is not None, reason="lm-eval is installed here")
def test_missing_harness_names_the_extra(tmp_path, capsys):
    with pytest.raises(SftlabError, match=r"sftlab\[lm-eval\]"):
        run_harness("tiny-random", ["ifeval"], tmp_path)
    capsys.readouterr()
    assert main(["eval-harness", "tiny-random", "--tasks", "ifeval", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pip install 'sftlab[lm-eval]'" in err and "Traceback" not in err
