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


def _study_store(path):
    """Two models, one CoT run each; base evaluations stored as the experiment names them (base-<model>)."""
    store = ResultsStore(path)
    #        run                model        step  acc   tokens reflection  harmful-refusal harmless-refusal
    points = [("base-big", None, 0, 0.20, 100.0, 0.5, 0.90, 0.10),
              ("base-small", None, 0, 0.10, 100.0, 0.5, 0.80, 0.10),
              ("cot-big", "big", 20, 0.10, 400.0, 1.0, 0.70, 0.10),
              ("cot-big", "big", 80, 0.50, 300.0, 4.0, 0.60, 0.30),
              ("cot-small", "small", 20, 0.05, 500.0, 0.4, 0.80, 0.10),
              ("cot-small", "small", 80, 0.10, 600.0, 0.4, 0.80, 0.10)]
    for run, _model, step, acc, tokens, refl, harmful, harmless in points:
        checkpoint = "base" if step == 0 else f"checkpoint-{step}"
        store.record(f"{run}-{step}-cd", run=run, checkpoint=checkpoint, step=step, suite="countdown-eval",
                     metrics=[Metric("4num", "acc", acc, 40), Metric("4num", "response_tokens", tokens, 40),
                              Metric("4num", "reflection_rate", refl, 40)])
        store.record(f"{run}-{step}-safety", run=run, checkpoint=checkpoint, step=step, suite="safety-eval",
                     metrics=[Metric("harmful", "refusal_rate", harmful, 20),
                              Metric("harmless", "refusal_rate", harmless, 20)])
    store.record("oracle-cd", run="oracle", checkpoint="oracle", step=None, suite="countdown-eval",
                 metrics=[Metric("4num", "acc", 1.0, 40)])
    return store


def test_each_run_borrows_the_base_of_its_own_model(tmp_path):
    store = _study_store(tmp_path / "eval")
    rows = {(d["run"], d["suite"], d["split"]): d for d in rethinking.dip_rows(store.query())}
    assert rows[("cot-big", "countdown-eval", "4num")]["base"] == pytest.approx(0.20)
    assert rows[("cot-small", "countdown-eval", "4num")]["base"] == pytest.approx(0.10)
    assert rows[("cot-big", "countdown-eval", "4num")]["verdict"] == "dip, recovered"
    assert rows[("cot-small", "countdown-eval", "4num")]["verdict"] == "dip, recovered"
    assert rethinking.base_run_for("cot-big-s2", {"base-big", "base-small"}) == "base-big"
    assert rethinking.base_run_for("cot", {"base"}) == "base"


def test_capability_reading_separates_procedure_from_verbosity(tmp_path):
    store = _study_store(tmp_path / "eval")
    rows = {row[1]: row for row in rethinking.capability_rows(store.query(), {"cot-big": "B", "cot-small": "S"})}
    assert rows["cot-big"][0] == "B" and rows["cot-big"][2] == "20.0 → 50.0"
    assert rows["cot-big"][5].startswith("procedure")
    assert rows["cot-small"][5].startswith("verbosity")  # 6x longer, no more accurate


def test_safety_rows_and_arm_table(tmp_path):
    store = _study_store(tmp_path / "eval")
    results = store.query()
    safety = {row[0]: row for row in rethinking.safety_rows(results)}
    assert safety["cot-big"][1] == "90.0 → 60.0" and safety["cot-big"][2] == "10.0 → 30.0"
    assert safety["cot-big"][3] == "refuses fewer harmful requests; over-refuses more"
    assert safety["cot-small"][3] == "no safety cost seen"
    headers, rows = rethinking.arm_rows(results)
    assert headers == ["run", "step", "countdown-eval acc", "refuses harmful", "refuses harmless"]
    by_run = {row[0]: row for row in rows}
    assert [row[0] for row in rows] == ["base-big", "base-small", "oracle", "cot-big", "cot-small"]
    assert by_run["oracle"][1:3] == ["–", "100.0"]  # reference policies have no step
    assert by_run["cot-big"][1:] == ["80", "50.0", "60.0", "30.0"]
    store.close()
    text = build_report(tmp_path).read_text()
    for heading in ("Data arms", "Capability", "Procedure", "Safety (offline probe)"):
        assert heading in text


def test_report_flags_a_split_where_nothing_parsed(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    store.record("k", run="cot", checkpoint="checkpoint-10", step=10, suite="crossdomain-eval",
                 metrics=[Metric("logic", "acc", 0.0, 9), Metric("logic", "parsed", 0.0, 9),
                          Metric("arithmetic", "acc", 0.5, 12), Metric("arithmetic", "parsed", 1.0, 12)])
    store.close()
    text = build_report(tmp_path).read_text()
    assert "No response could be parsed" in text and "crossdomain-eval:logic" in text
    assert "crossdomain-eval:arithmetic" not in text.split("No response could be parsed")[1].split("</li>")[0]
