"""experiments/cpu-debunk-success.yaml (issue 22, item 4), checked without running the study: its plan (a dry
run), the claims it is for, and the real oracle policy on the spec's own episodes at the spec's turn cap."""

from pathlib import Path

from sftlab.analysis import debunk
from sftlab.backends import SamplingParams, get_backend
from sftlab.cli import main
from sftlab.data.suites import suite_rows
from sftlab.evaluate import closed_loop
from sftlab.experiment.plan import expand
from sftlab.experiment.spec import load_spec

SPEC = Path(__file__).resolve().parents[2] / "experiments" / "cpu-debunk-success.yaml"
ANSWER_ONLY_ROWS = 842  # sokoban-answer-only with n 200, seed 0 (`sftlab data build sokoban-answer-only --n 200`)


def test_the_plan_trains_both_answer_only_runs_on_the_full_set_and_skips_the_base_model(tmp_path):
    assert main(["run", str(SPEC), "--out", str(tmp_path / "exp"), "--dry-run"]) == 0
    spec = load_spec(SPEC)
    steps = expand(spec).steps
    assert {s.config["n"] for s in steps if s.kind == "data"} == {200}
    sft = spec.train.settings("sft")
    assert sft["max_steps"] * sft["global_batch"] >= ANSWER_ONLY_ROWS  # at least one epoch
    assert len(sft["schedule"]) >= 2 and sft["schedule"][-1] == sft["max_steps"]  # a learning curve
    evals = {s.config["run_name"]: s.config.get("checkpoints") for s in steps if s.kind == "eval"}
    assert set(evals) == {"fixed-answer-only", "diverse-answer-only", "oracle", "random"}
    # no base-model evaluation: "all" and "last" would evaluate each run's step 0 too
    assert evals["fixed-answer-only"] == evals["diverse-answer-only"] == list(sft["schedule"])


def test_every_tag_of_the_claims_it_is_for_is_evaluated():
    spec = load_spec(SPEC)
    splits = set(spec.eval.splits_for("sokoban-eval"))
    runs = {c.name for c in spec.conditions}
    aimed = [c for c in debunk.CLAIMS if c.suite == "sokoban-eval"
             and {run for pair in c.pairs for run, _ in pair} <= runs]
    assert {c.name for c in aimed} >= {"Fixed prompts break on new vocabularies", "Fixed prompts exploit Fake",
                                       "Diverse prompts lift success on new vocabularies",
                                       "Diverse prompts cost nothing in domain"}
    assert all(set(c.tags) <= splits for c in aimed)


def test_the_oracle_solves_nearly_every_episode_at_the_specs_turn_cap():
    spec = load_spec(SPEC)
    options = spec.eval.options
    splits = spec.eval.splits_for("sokoban-eval")
    rows = suite_rows("sokoban-eval", n=options["episodes"], splits=splits)
    units = closed_loop.play(get_backend("oracle"), rows, SamplingParams(), seed=0, max_turns=options["max_turns"])
    success = {m.split: m.value for m in closed_loop.aggregate(units, splits) if m.metric == "success"}
    for tag in splits:
        if tag != debunk.FAKE:  # the oracle answers Fake's 1-4 labels, which Fake rejects by design
            assert success[tag] >= 0.95, (tag, success[tag])
