"""The Debunk claims judge: one-sided relations, not-measurable cells, the paired McNemar test on the samples,
duplicate evaluations, one table per model and seed, General Points, and a table-driven check that every claim's
verdict flips when its direction, runs, metric, relation or suite is changed."""

import json

import pytest

from sftlab.analysis import debunk
from sftlab.analysis.report import build_report
from sftlab.backends import SamplingParams, get_backend
from sftlab.data.suites import suite_rows
from sftlab.errors import DataError
from sftlab.evaluate import closed_loop
from sftlab.stats import wilson_interval
from sftlab.store import Metric, Result, ResultsStore

SETTINGS = {"temperature": 0.5, "max_turns": 3, "episodes": 30, "backend": "hf"}


def _metric(tag, metric, successes, n=30):
    lo, hi = wilson_interval(successes, n)
    return Metric(tag, metric, successes / n, n, lo, hi)


def _record(store, run, step, cells, settings=SETTINGS, key=None, suite="sokoban-eval"):
    """cells: {(tag, metric): successes out of 30}."""
    store.record(key or f"{run}-{step}", run=run, checkpoint=f"checkpoint-{step}", step=step, suite=suite,
                 metrics=[_metric(tag, metric, k) for (tag, metric), k in cells.items()], settings=settings)


def _result(run, tag, k, n=30, metric="success", step=1, suite="sokoban-eval", interval=True, settings=None):
    lo, hi = wilson_interval(k, n) if interval else (None, None)
    return Result(f"{run}-{step}", run, f"checkpoint-{step}", step, suite, tag, metric, k / n, lo, hi, n,
                  dict(SETTINGS if settings is None else settings))


def _verdicts(results, samples=()):
    tables = debunk.claims_tables(results, samples)
    return {v.claim.name: v for table in tables for v in table.verdicts}


def _claim(name):
    return next(c for c in debunk.CLAIMS if c.name == name)


# --- the cases seen in issue 22 ---------------------------------------------------------------------------------
def test_no_loss_is_one_sided_a_large_gain_reproduces_it():
    # diverse 25/30 vs fixed 10/30 in domain was "contradicted": the paper claims only no loss.
    cells = {("diverse-answer-only", "SimpleSokoban", "success"): _result("diverse-answer-only", "SimpleSokoban", 25),
             ("fixed-answer-only", "SimpleSokoban", "success"): _result("fixed-answer-only", "SimpleSokoban", 10)}
    verdict = debunk.judge(_claim("Diverse prompts cost nothing in domain"), cells)
    assert verdict.verdict == "reproduced"
    assert "Newcombe" in verdict.details[-1]


def test_floor_on_both_sides_and_missing_intervals_are_not_measurable():
    claim = _claim("Diverse prompts cost nothing in domain")
    for k_diverse, k_fixed, interval in ((0, 0, True), (30, 30, True), (30, 0, False)):
        cells = {(run, "SimpleSokoban", "success"): _result(run, "SimpleSokoban", k, interval=interval)
                 for run, k in (("diverse-answer-only", k_diverse), ("fixed-answer-only", k_fixed))}
        assert debunk.judge(claim, cells).verdict == "not measurable", (k_diverse, k_fixed, interval)
    higher = _claim("Fixed prompts exploit Fake")
    cells = {(run, "FakeSokobanNumerical", "success"): _result(run, "FakeSokobanNumerical", k, interval=False)
             for run, k in (("fixed-answer-only", 30), ("diverse-answer-only", 0))}
    assert debunk.judge(higher, cells).verdict == "not measurable"
    del cells[("diverse-answer-only", "FakeSokobanNumerical", "success")]
    assert debunk.judge(higher, cells).verdict == "not measured"


def test_diverse_cot_at_zero_against_grpo_at_three_does_not_match_rl():
    claim = _claim("Diverse+CoT matches or beats RL")
    cells = {(run, tag, "success"): _result(run, tag, k)
             for tag in claim.tags for run, k in (("diverse-cot", 0), ("grpo", 3))}
    verdict = debunk.judge(claim, cells)
    assert verdict.verdict == "not separated"
    assert all(c.outcome == "inconclusive" for c in verdict.comparisons)


def test_training_vocabulary_is_judged_on_the_answers_not_on_validity(tmp_path):
    """A fixed run that never writes an answer does not "keep the training vocabulary"; one that answers Up does.
    Real closed-loop evaluations: scripted models against the oracle, which answers in each prompt's labels."""
    rows = [r for r in suite_rows("sokoban-eval", n=4) if r["split"] in debunk.INSTRUCTION_TAGS]
    from sftlab.backends.policies import ScriptedBackend

    def evaluate(backend):
        units = closed_loop.play(backend, rows, SamplingParams(), seed=0, max_turns=3)
        return closed_loop.aggregate(units, debunk.INSTRUCTION_TAGS)

    silent = ScriptedBackend({r["id"]: ["I am not sure."] * 3 for r in rows})
    up = ScriptedBackend({r["id"]: ["<answer> Up </answer>"] * 3 for r in rows})
    claim = _claim("Fixed prompts keep the training vocabulary")
    for fixed, expected in ((silent, "not measurable"), (up, "reproduced")):
        store = ResultsStore(tmp_path / expected.replace(" ", "-"))
        store.record("f", run="fixed-answer-only", checkpoint="checkpoint-1", step=1, suite="sokoban-eval",
                     metrics=evaluate(fixed), settings=SETTINGS)
        store.record("d", run="diverse-answer-only", checkpoint="checkpoint-1", step=1, suite="sokoban-eval",
                     metrics=evaluate(get_backend("oracle")), settings=SETTINGS)
        cells = debunk.last_checkpoint_cells(store.query())
        assert debunk.judge(claim, cells).verdict == expected
        store.close()


@pytest.mark.parametrize("order", [(0.5, 1.0), (1.0, 0.5)])
def test_a_checkpoint_evaluated_twice_is_resolved_by_the_study_settings_in_any_order(tmp_path, order):
    store = ResultsStore(tmp_path / "eval")
    _record(store, "fixed-answer-only", 40, {("FakeSokobanNumerical", "success"): 25})
    for temperature in order:  # the diverse run: once at the study's 0.5 (1/30), once at 1.0 (28/30)
        _record(store, "diverse-answer-only", 40, {("FakeSokobanNumerical", "success"): 1 if temperature == 0.5 else 28},
                settings={**SETTINGS, "temperature": temperature}, key=f"d-{temperature}")
    store.close()
    results = ResultsStore(tmp_path / "eval").query()
    verdict = _verdicts(results)["Fixed prompts exploit Fake"]
    assert verdict.verdict == "reproduced" and "3% [1, 17]" in verdict.details[-1]
    [table] = debunk.claims_tables(results)
    assert any("temperature=0.5" in note and "evaluated 2 times" in note for note in table.notes)


def test_duplicates_the_settings_cannot_choose_are_refused_in_one_line(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    for run in ("fixed-answer-only", "diverse-answer-only"):
        for temperature, k in ((0.5, 5), (1.0, 20)):
            _record(store, run, 40, {("SimpleSokoban", "success"): k + (run == "fixed-answer-only")},
                    settings={**SETTINGS, "temperature": temperature}, key=f"{run}-{temperature}")
    results = store.query()
    store.close()
    with pytest.raises(DataError) as err:
        debunk.claims_tables(results)
    message = str(err.value)
    assert "\n" not in message and "temperature=0.5" in message and "temperature=1.0" in message
    report = build_report(tmp_path).with_suffix(".md").read_text()
    assert "Not judged:" in report and "temperature=1.0" in report


def test_each_model_and_seed_of_a_spec_gets_its_own_claims_table(tmp_path):
    from sftlab.experiment.plan import run_name
    from sftlab.experiment.spec import load_spec

    spec = load_spec("experiments/paper-sokoban.yaml")
    assert len(spec.models) == 2
    store = ResultsStore(tmp_path / "eval")
    fake = {"qwen7b": (25, 1), "llama8b": (15, 14)}  # exploits Fake on one model only
    for model, (fixed, diverse) in fake.items():
        for condition, k in (("fixed-answer-only", fixed), ("diverse-answer-only", diverse)):
            _record(store, run_name(spec, condition, model, 1), 40, {("FakeSokobanNumerical", "success"): k})
    store.close()
    tables = debunk.claims_tables(ResultsStore(tmp_path / "eval").query())
    verdicts = {t.group: {v.claim.name: v.verdict for v in t.verdicts} for t in tables}
    assert verdicts["-qwen7b"]["Fixed prompts exploit Fake"] == "reproduced"
    assert verdicts["-llama8b"]["Fixed prompts exploit Fake"] == "not separated"
    report = build_report(tmp_path).with_suffix(".md").read_text()
    assert "The Debunk paper's claims (Sokoban, qwen7b)" in report
    assert "The Debunk paper's claims (Sokoban, llama8b)" in report


def test_general_points_claims_are_judged_and_unevaluated_tags_are_listed(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    _record(store, "fixed-answer-only", 10, {("id", "acc"): 27, ("all_5", "acc"): 2, ("all_5_fake", "acc"): 24},
            suite="gp-eval")
    _record(store, "diverse-answer-only", 10, {("id", "acc"): 26, ("all_5", "acc"): 22, ("all_5_fake", "acc"): 1},
            suite="gp-eval")
    store.close()
    verdicts = _verdicts(ResultsStore(tmp_path / "eval").query())
    assert verdicts["Fixed prompts break on new face-card rules (GP)"].verdict == "reproduced"
    assert "all_7: not evaluated by this study" in verdicts["Fixed prompts break on new face-card rules (GP)"].details
    assert verdicts["Fixed prompts exploit Fake (GP)"].verdict == "reproduced"
    assert verdicts["Diverse prompts lift success on new face-card rules (GP)"].verdict == "reproduced"
    assert verdicts["CoT helps the difficulty variants (GP, fixed prompts)"].verdict == "not measured"
    sokoban = debunk.judge(_claim("CoT helps the difficulty variants (fixed prompts)"), {})
    assert "ComplexSokoban: not evaluated by this study" in sokoban.details
    assert "The Debunk paper's claims (General Points)" in build_report(tmp_path).with_suffix(".md").read_text()


def test_success_across_tags_is_counted_among_the_puzzles_the_oracle_solves():
    """Claim 1 compares ID with the variants: different puzzles whose ceilings at a short turn cap differ. The
    oracle solves 12 ID puzzles and all 30 Numerical ones; a run that solves 12 of each is at its ceiling on ID."""
    claim = debunk.Claim("c", "p", "success", (((("fixed-answer-only", "SimpleSokoban"),
                                                  ("fixed-answer-only", "SimpleSokobanNumerical"))),))
    cells = {("fixed-answer-only", "SimpleSokoban", "success"): _result("fixed-answer-only", "SimpleSokoban", 12),
             ("fixed-answer-only", "SimpleSokobanNumerical", "success"):
                 _result("fixed-answer-only", "SimpleSokobanNumerical", 12)}
    assert debunk.judge(claim, cells).verdict == "not measurable"  # no oracle row: the ceilings are unknown
    cells[("oracle", "SimpleSokoban", "success")] = _result("oracle", "SimpleSokoban", 12, step=None)
    cells[("oracle", "SimpleSokobanNumerical", "success")] = _result("oracle", "SimpleSokobanNumerical", 30, step=None)
    verdict = debunk.judge(claim, cells)
    assert verdict.verdict == "reproduced" and "among the puzzles the oracle solves: 100%" in verdict.details[0]
    cells[("oracle", "SimpleSokobanNumerical", "success")] = _result("oracle", "SimpleSokobanNumerical", 0, step=None)
    assert debunk.judge(claim, cells).verdict == "not measurable"  # a tag the oracle never solves


def test_the_oracle_failing_fake_by_design_does_not_make_fake_unmeasurable():
    cells = {(run, "FakeSokobanNumerical", "success"): _result(run, "FakeSokobanNumerical", k, step=step)
             for run, k, step in (("fixed-answer-only", 25, 1), ("diverse-answer-only", 1, 1), ("oracle", 0, None))}
    assert debunk.judge(_claim("Fixed prompts exploit Fake"), cells).verdict == "reproduced"
    cells[("oracle", "LargerSokoban", "success")] = _result("oracle", "LargerSokoban", 0, step=None)
    for run in ("fixed-cot", "fixed-answer-only"):
        cells[(run, "LargerSokoban", "success")] = _result(run, "LargerSokoban", 20 if run == "fixed-cot" else 0)
    verdict = debunk.judge(_claim("CoT helps the difficulty variants (fixed prompts)"), cells)
    assert "the oracle solves no LargerSokoban puzzle" in verdict.details[-1]


# --- the paired test --------------------------------------------------------------------------------------------
def _samples(root, run, checkpoint, tag, outcomes):
    folder = root / "samples" / run / checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": f"{tag}-{i}", "split": tag, "episode": i, "turn": 0, "correct": bool(o),
                         "prompt": "p", "response": "<answer> Up </answer>", "verdict": "valid"})
             for i, o in enumerate(outcomes)]
    (folder / "sokoban-eval.jsonl").write_text("\n".join(lines) + "\n")


def test_runs_that_played_the_same_puzzles_are_compared_by_the_exact_mcnemar_test(tmp_path):
    # Fake: 12/30 vs 4/30 overlap as intervals ([25, 58] vs [5, 30]), but the fixed run solved every puzzle the
    # diverse one did and 8 more: 8 vs 0 discordant episodes, one-sided p = 1/256.
    store = ResultsStore(tmp_path / "eval")
    _record(store, "fixed-answer-only", 40, {("FakeSokobanNumerical", "success"): 12})
    _record(store, "diverse-answer-only", 40, {("FakeSokobanNumerical", "success"): 4})
    store.close()
    claim = "Fixed prompts exploit Fake"
    assert _verdicts(ResultsStore(tmp_path / "eval").query())[claim].verdict == "not separated"  # intervals only
    _samples(tmp_path / "eval", "fixed-answer-only", "checkpoint-40", "FakeSokobanNumerical", [1] * 12 + [0] * 18)
    _samples(tmp_path / "eval", "diverse-answer-only", "checkpoint-40", "FakeSokobanNumerical", [1] * 4 + [0] * 26)
    report = build_report(tmp_path).with_suffix(".md").read_text()
    row = next(line for line in report.splitlines() if line.startswith(f"| {claim} |"))
    assert "**reproduced**" in row and "8 vs 0 discordant episodes, one-sided p = 0.00391" in row
    assert "McNemar exact (1)" in report
    # Samples that do not match the stored numbers (another evaluation wrote them) are not used.
    _samples(tmp_path / "eval", "diverse-answer-only", "checkpoint-40", "FakeSokobanNumerical", [1] * 5 + [0] * 25)
    report = build_report(tmp_path).with_suffix(".md").read_text()
    row = next(line for line in report.splitlines() if line.startswith(f"| {claim} |"))
    assert "**not separated**" in row and "95% intervals" in row


def test_gzipped_samples_as_committed_evidence_keeps_them_decide_the_same_way(tmp_path):
    import gzip

    store = ResultsStore(tmp_path / "eval")
    _record(store, "fixed-answer-only", 40, {("FakeSokobanNumerical", "success"): 12})
    _record(store, "diverse-answer-only", 40, {("FakeSokobanNumerical", "success"): 4})
    store.close()
    for run, solved in (("fixed-answer-only", 12), ("diverse-answer-only", 4)):
        _samples(tmp_path / "eval", run, "checkpoint-40", "FakeSokobanNumerical", [1] * solved + [0] * (30 - solved))
        plain = tmp_path / "eval" / "samples" / run / "checkpoint-40" / "sokoban-eval.jsonl"
        plain.with_suffix(".jsonl.gz").write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    report = build_report(tmp_path).with_suffix(".md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| Fixed prompts exploit Fake |"))
    assert "**reproduced**" in row and "8 vs 0 discordant episodes" in row
    assert "### sokoban-eval / FakeSokobanNumerical" in report  # the transcripts read them too


# --- every claim, table-driven: each verdict flips when the claim is pointed elsewhere -------------------------
# The claims as the paper states them (spec/debunk.md section 8), written out here independently of
# sftlab.analysis.debunk: name -> (suite, metric, relation, [(first run, first tag, second run, second tag)]).
FA, FC, DA, DC, RL = "fixed-answer-only", "fixed-cot", "diverse-answer-only", "diverse-cot", "grpo"
S_ID, S_FAKE = "SimpleSokoban", "FakeSokobanNumerical"
S_INSTRUCTION = ("SimpleSokobanAlphabetical", "SimpleSokobanNumerical", "SimpleSokobanRandom")
S_DIFFICULTY = ("LargerSokoban", "TwoBoxesSokoban", "ComplexSokoban")
G_INSTRUCTION, G_DIFFICULTY = ("all_5", "all_7"), ("5cards", "large")


def _pairs(tags, first, second, first_tag=None):
    return [(first, first_tag or t, second, t) for t in tags]


_SUCCESS_CLAIMS = {
    "Fixed prompts break on new vocabularies": ("higher", _pairs(S_INSTRUCTION, FA, FA, S_ID)),
    "Fixed prompts exploit Fake": ("higher", _pairs([S_FAKE], FA, DA)),
    "Diverse prompts lift success on new vocabularies": ("higher", _pairs(S_INSTRUCTION, DA, FA)),
    "Diverse prompts cost nothing in domain": ("no_loss", _pairs([S_ID], DA, FA)),
    "CoT helps the difficulty variants (fixed prompts)": ("higher", _pairs(S_DIFFICULTY, FC, FA)),
    "CoT helps the difficulty variants (diverse prompts)": ("higher", _pairs(S_DIFFICULTY, DC, DA)),
    "Diverse+CoT matches or beats RL": ("no_loss", _pairs(S_INSTRUCTION + S_DIFFICULTY, DC, RL)),
}
PAPER_CLAIMS = {
    **{name: ("sokoban-eval", "success", *spec) for name, spec in _SUCCESS_CLAIMS.items()},
    **{f"{name} (per turn)": ("sokoban-eval", "optimal_action_rate", *spec) for name, spec in _SUCCESS_CLAIMS.items()},
    "Fixed prompts keep the training vocabulary": ("sokoban-eval", "training_word_rate", "higher",
                                                   _pairs(S_INSTRUCTION, FA, DA)),
    "Fake validity follows the shortcut": ("sokoban-eval", "validity_all_episodes", "higher", _pairs([S_FAKE], FA, DA)),
    "Fixed prompts break on new face-card rules (GP)": ("gp-eval", "acc", "higher", _pairs(G_INSTRUCTION, FA, FA, "id")),
    "Fixed prompts exploit Fake (GP)": ("gp-eval", "acc", "higher", _pairs(["all_5_fake"], FA, DA)),
    "Diverse prompts lift success on new face-card rules (GP)": ("gp-eval", "acc", "higher",
                                                                _pairs(G_INSTRUCTION, DA, FA)),
    "Diverse prompts cost nothing in domain (GP)": ("gp-eval", "acc", "no_loss", _pairs(["id"], DA, FA)),
    "CoT helps the difficulty variants (GP, fixed prompts)": ("gp-eval", "acc", "higher", _pairs(G_DIFFICULTY, FC, FA)),
    "CoT helps the difficulty variants (GP, diverse prompts)": ("gp-eval", "acc", "higher",
                                                               _pairs(G_DIFFICULTY, DC, DA)),
    "Diverse+CoT matches or beats RL (GP)": ("gp-eval", "acc", "no_loss", _pairs(G_INSTRUCTION + G_DIFFICULTY, DC, RL)),
}
SOKOBAN_TAGS = (S_ID, *S_INSTRUCTION, S_FAKE, *S_DIFFICULTY)
SOKOBAN_METRICS = ("success", "optimal_action_rate", "training_word_rate", "validity_all_episodes")
GP_TAGS = ("id", *G_INSTRUCTION, "all_5_fake", *G_DIFFICULTY)
UNIVERSE = {"sokoban-eval": (SOKOBAN_TAGS, SOKOBAN_METRICS), "gp-eval": (GP_TAGS, ("acc",))}
CONDITIONS = (FA, FC, DA, DC, RL)
HIGH, LOW = 27, 3


def _world(name, first, second, others, n=30):
    """Results of every condition on every tag and metric of both suites, and of a decoy suite with the same tag and
    metric names and settings: `first` / `second` (k or (value, lo, hi)) on the first / second cells of the paper's
    claim `name`, `others` everywhere else; the oracle solves every puzzle."""
    suite, metric, _relation, pairs = PAPER_CLAIMS[name]
    named_first = {(suite, run, tag, metric) for run, tag, _, _ in pairs}
    named_second = {(suite, run, tag, metric) for _, _, run, tag in pairs}
    results = []

    def add(suite, run, tag, metric, what, step):
        value, lo, hi = (what / n, *wilson_interval(what, n)) if isinstance(what, int) else what
        results.append(Result(f"{suite}-{run}", run, "checkpoint-9" if step else "oracle", step, suite, tag, metric,
                              value, lo, hi, n, dict(SETTINGS)))

    for suite_name, (tags, metrics) in UNIVERSE.items():
        for tag in tags:
            add(suite_name, "oracle", tag, metrics[0], n, None)
            for run in CONDITIONS:
                for m in metrics:
                    cell = (suite_name, run, tag, m)
                    what = first if cell in named_first else second if cell in named_second else others
                    add(suite_name, run, tag, m, what, 9)
                    add(f"{suite_name}-decoy", run, tag, m, second if what is first else first, 9)
    return results


def _worlds(name):
    """(world, results, expected verdict) for the worlds that pin the claim down."""
    _suite, metric, relation, pairs = PAPER_CLAIMS[name]
    worlds = [("others high", _world(name, HIGH, LOW, HIGH), "reproduced"),
              ("others low", _world(name, HIGH, LOW, LOW), "reproduced"),
              ("reversed", _world(name, LOW, HIGH, 15), "contradicted"),
              ("equal, n=1000", _world(name, 500, 500, 500, n=1000),
               "reproduced" if relation == "no_loss" else "not separated")]
    cross_tag = any(p[1] != p[3] for p in pairs) and metric == "success"
    if relation == "higher" and not cross_tag:  # intervals that touch do not separate
        worlds.append(("touching", _world(name, (0.6, 0.5, 0.7), (0.4, 0.3, 0.5), (0.5, 0.4, 0.6)),
                       "not separated"))
    return worlds


def test_the_judge_has_exactly_the_papers_claims():
    assert sorted(c.name for c in debunk.CLAIMS) == sorted(PAPER_CLAIMS)


@pytest.mark.parametrize("name", sorted(PAPER_CLAIMS))
def test_every_claim_is_pinned_by_constructed_results(name):
    for world, results, expected in _worlds(name):
        verdict = _verdicts(results)[name]
        assert verdict.verdict == expected, (world, verdict.details)
    # every tag the claim names is judged (none is silently dropped)
    _suite, _metric, _relation, pairs = PAPER_CLAIMS[name]
    verdict = _verdicts(_worlds(name)[0][1])[name]
    assert len(verdict.comparisons) == len(pairs)


def test_the_claims_section_needs_a_fixed_and_a_diverse_run(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    _record(store, "my-run", 10, {("SimpleSokoban", "success"): 3})
    store.close()
    assert "The Debunk paper's claims" not in build_report(tmp_path).read_text()


def test_an_early_checkpoint_does_not_count(tmp_path):
    store = ResultsStore(tmp_path / "eval")
    _record(store, "fixed-answer-only", 20, {("FakeSokobanNumerical", "success"): 0})
    _record(store, "diverse-answer-only", 20, {("FakeSokobanNumerical", "success"): 30})
    _record(store, "fixed-answer-only", 40, {("FakeSokobanNumerical", "success"): 25})
    _record(store, "diverse-answer-only", 40, {("FakeSokobanNumerical", "success"): 1})
    store.close()
    verdict = _verdicts(ResultsStore(tmp_path / "eval").query())["Fixed prompts exploit Fake"]
    assert verdict.verdict == "reproduced" and "83% [66, 93] (n=30)" in verdict.details[0]


def test_the_evaluators_samples_pair_episodes_and_the_report_shows_the_per_turn_table(tmp_path):
    """Real evaluations (the oracle and random policies through `evaluate`): the samples they write give each
    cell's per-episode outcomes, which pair up for the McNemar test; the report shows optimal_action_rate."""
    from sftlab.analysis.sources import find_samples
    from sftlab.evaluate.config import EvalConfig
    from sftlab.evaluate.runner import evaluate

    out = tmp_path / "eval"
    results = []
    for policy in ("oracle", "random"):
        results += evaluate(EvalConfig(model="", suite="sokoban-eval", backend=policy, episodes=20, max_turns=30,
                                       out=str(out), splits=("SimpleSokoban",)), progress=False)
    cells = debunk.last_checkpoint_cells(results)
    outcomes = debunk.episode_outcomes(find_samples(out))
    oracle, rand = cells[("oracle", "SimpleSokoban", "success")], cells[("random", "SimpleSokoban", "success")]
    assert outcomes(oracle) == {i: True for i in outcomes(rand)}  # the same 20 puzzles, all solved by the oracle
    claim = debunk.Claim("oracle beats random", "p", "success", ((("oracle", "SimpleSokoban"),
                                                                 ("random", "SimpleSokoban")),))
    verdict = debunk.judge(claim, cells, outcomes)
    only_oracle = 20 - sum(outcomes(rand).values())
    assert f"{only_oracle} vs 0 discordant episodes" in verdict.details[0] and "McNemar exact" in verdict.details[0]
    per_turn = cells[("random", "SimpleSokoban", "optimal_action_rate")]
    assert 0.1 < per_turn.value < 0.5 and per_turn.n > 20  # one observation per turn
    text = build_report(tmp_path).with_suffix(".md").read_text()
    assert "## Optimal actions per turn" in text and "sftlab's metric, not the paper's" in text


def test_an_inconclusive_comparison_says_how_many_episodes_would_decide_it():
    lift = _claim("Diverse prompts lift success on new vocabularies")
    tag = "SimpleSokobanNumerical"
    cells = {("diverse-answer-only", tag, "success"): _result("diverse-answer-only", tag, 6, n=20),
             ("fixed-answer-only", tag, "success"): _result("fixed-answer-only", tag, 2, n=20)}
    comparison = debunk.compare(lift, cells[("diverse-answer-only", tag, "success")],
                                cells[("fixed-answer-only", tag, "success")], cells)
    assert comparison.outcome == "inconclusive"
    assert comparison.text.endswith("; at these rates about 49 episodes per cell would show it (80% power)")
    reverse = debunk.compare(lift, cells[("fixed-answer-only", tag, "success")],
                             cells[("diverse-answer-only", tag, "success")], cells)
    assert reverse.text.endswith("; the observed rates point the other way")
    per_turn = debunk.compare(_claim(lift.name + " (per turn)"), cells[("diverse-answer-only", tag, "success")],
                              cells[("fixed-answer-only", tag, "success")], cells)
    assert "would show it" not in per_turn.text  # turns within an episode are not independent observations
