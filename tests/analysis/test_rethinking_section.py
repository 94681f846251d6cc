import pytest

from sftlab.analysis import rethinking
from sftlab.analysis.report import build_report
from sftlab.store import Metric, ResultsStore


def _record(store, run, step, suite, split, metric, value, n=100):
    store.record(f"{run}-{step}-{suite}", run=run, checkpoint=f"checkpoint-{step}" if step else "base", step=step,
                 suite=suite, metrics=[Metric(split, metric, value, n)])


def test_dip_rows_and_procedure_from_a_real_store(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    for step, acc, tokens in [(0, 0.30, 100.0), (10, 0.10, 900.0), (40, 0.35, 300.0)]:
        store.record(f"cot-{step}", run="countdown-cot", checkpoint=f"checkpoint-{step}", step=step,
                     suite="crossdomain-eval", metrics=[Metric("arithmetic", "acc", acc, 50),
                                                        Metric("arithmetic", "response_tokens", tokens, 50)])
    rows = rethinking.dip_rows(store.query())
    assert len(rows) == 1
    row = rows[0]
    assert (row["min_step"], row["final_step"], row["verdict"]) == (10, 40, "dip, recovered")
    assert row["base"] == pytest.approx(0.30) and row["change"] == pytest.approx(0.05)
    proc = rethinking.procedure_rows(store.query())
    assert [(p["step"], p["response_tokens"]) for p in proc] == [(0, 100.0), (10, 900.0), (40, 300.0)]
    store.close()

    out = build_report(tmp_path)
    text = out.read_text()
    assert "Reasoning-SFT study" in text and "dip, recovered" in text


def test_section_absent_without_training_curves(tmp_path):
    store = ResultsStore(tmp_path)
    _record(store, "oracle", None, "countdown-eval", "4num", "acc", 1.0)
    assert rethinking.dip_rows(store.query()) == []
