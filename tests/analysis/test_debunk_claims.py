"""The Debunk claims section judges claims from interval overlap, on the last checkpoint of each run."""

from sftlab.analysis import debunk
from sftlab.analysis.report import build_report
from sftlab.stats import wilson_interval
from sftlab.store import Metric, Result, ResultsStore


def _metric(tag, metric, successes, n=30):
    lo, hi = wilson_interval(successes, n)
    return Metric(tag, metric, successes / n, n, lo, hi)


def _record(store, run, step, cells):
    """cells: {(tag, metric): successes out of 30}."""
    store.record(f"{run}-{step}", run=run, checkpoint=f"checkpoint-{step}", step=step, suite="sokoban-eval",
                 metrics=[_metric(tag, metric, k) for (tag, metric), k in cells.items()])


def _fake_and_id(fixed_fake, diverse_fake, fixed_id, diverse_id):
    return ({("FakeSokobanNumerical", "success"): fixed_fake, ("SimpleSokoban", "success"): fixed_id},
            {("FakeSokobanNumerical", "success"): diverse_fake, ("SimpleSokoban", "success"): diverse_id})


def test_verdicts_follow_the_intervals_at_the_last_checkpoint(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    # An early checkpoint says the opposite; only the last one (step 40) counts.
    early_fixed, early_diverse = _fake_and_id(0, 30, 10, 10)
    _record(store, "fixed-answer-only", 20, early_fixed)
    _record(store, "diverse-answer-only", 20, early_diverse)
    fixed, diverse = _fake_and_id(25, 1, 12, 14)  # Fake: [66, 93] vs [1, 17] separate; ID: overlap
    _record(store, "fixed-answer-only", 40, fixed)
    _record(store, "diverse-answer-only", 40, diverse)
    verdicts = {v.claim.name: v for v in debunk.judge_all(store.query())}
    assert verdicts["Fixed prompts exploit Fake"].verdict == "reproduced"
    assert verdicts["Diverse prompts cost nothing in domain"].verdict == "consistent"
    assert verdicts["Fixed prompts break on new vocabularies"].verdict == "not measured"
    assert verdicts["Diverse+CoT matches or beats RL"].verdict == "not measured"
    detail = verdicts["Fixed prompts exploit Fake"].details[0]
    assert "83% [66, 93] (n=30)" in detail and "separates" in detail
    store.close()

    text = build_report(tmp_path).with_suffix(".md").read_text()
    assert "The Debunk paper's claims" in text and "| Fixed prompts exploit Fake |" in text


def test_partly_mixed_and_contradicted():
    claim = debunk.Claim("c", "p", "success", (
        (("a", "t1"), ("b", "t1")), (("a", "t2"), ("b", "t2"))))
    store_cells = {}

    def judge(a1, b1, a2, b2):
        for run, tag, k in (("a", "t1", a1), ("b", "t1", b1), ("a", "t2", a2), ("b", "t2", b2)):
            lo, hi = wilson_interval(k, 30)
            store_cells[(run, tag, "success")] = _result(run, tag, k / 30, lo, hi)
        return debunk.judge(claim, store_cells).verdict

    assert judge(30, 0, 30, 0) == "reproduced"
    assert judge(30, 0, 15, 15) == "partly"
    assert judge(30, 0, 0, 30) == "mixed"
    assert judge(15, 15, 0, 30) == "contradicted"
    assert judge(15, 14, 15, 16) == "not separated"


def _result(run, tag, value, lo, hi):
    return Result("k", run, "checkpoint-1", 1, "sokoban-eval", tag, "success", value, lo, hi, 30, {})


def test_no_section_without_the_fixed_and_diverse_runs(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    _record(store, "my-run", 10, {("SimpleSokoban", "success"): 3})
    store.close()
    assert "The Debunk paper's claims" not in build_report(tmp_path).read_text()


def test_tags_the_study_did_not_evaluate_are_left_out_of_a_claim():
    claim = debunk.Claim("c", "p", "success", ((("a", "t1"), ("b", "t1")), (("a", "unevaluated"), ("b", "unevaluated"))))
    cells = {(run, "t1", "success"): _result(run, "t1", k / 30, *wilson_interval(k, 30))
             for run, k in (("a", 30), ("b", 0))}
    verdict = debunk.judge(claim, cells)
    assert verdict.verdict == "reproduced" and len(verdict.details) == 1
    del cells[("b", "t1", "success")]
    assert debunk.judge(claim, cells).verdict == "not measured"
