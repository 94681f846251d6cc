"""The Debunk paper's claims, checked against a study's own numbers (report section "debunk-claims").

Each claim of the paper (spec/debunk.md section 8) is a list of comparisons between two cells of a results table,
(run, tag) of one condition against another, on one metric of one suite, at each run's last checkpoint. Runs are
found by the condition names of the paper grid (`fixed-answer-only`, `diverse-cot`, `grpo`, ...); a study with
several models or seeds names them `<condition>-<model>-s<seed>` and gets one claims table per model and seed.

A comparison says the first cell is **higher** than the second (one-sided), or that it shows **no loss** against
it (non-inferiority: the first is at most `margin` below the second). Its outcome:

- *supports* / *against*: the claim's direction is shown / the opposite is shown (for "no loss": the 95% interval
  of the difference lies above -margin / below -margin);
- *inconclusive*: neither is shown at this sample size;
- *not measurable*: a cell without an interval, both cells at 0% or both at 100%, or (Sokoban success) a tag the
  oracle does not solve once at this turn cap (Fake excepted: the oracle fails there by design);
- *not measured*: a run the claim needs has no result for the tag (tags the study did not evaluate at all are
  listed as "not evaluated" and do not count).

Which test decides: for "higher" on a per-episode 0/1 metric (Sokoban success, GP accuracy) where both runs played
the same puzzles and their per-episode samples match the stored numbers, the exact one-sided McNemar test
(p < 0.05); otherwise the two 95% intervals (separate = shown). "No loss" is decided by Newcombe's interval of
the difference (conservative for paired runs). Sokoban success compared across tags (different puzzles with
different ceilings at a short turn cap) is success among the puzzles the oracle solves within the cap: no policy
solves a puzzle the optimal one cannot, so that is k_run / k_oracle. An inconclusive comparison of a per-episode
metric also says how many episodes per cell would decide it if the observed rates were the true ones (one-sided 5%,
80% power, independent samples: `stats.episodes_to_separate`), or that the observed rates point the other way.

A claim's verdict: **reproduced** when every comparison supports it; **partly** when some do and none is against;
**mixed** when some are each way; **contradicted** when some are against and none supports; **not separated**
when the rest are inconclusive; **not measurable** / **not measured** when no comparison could be judged.

Duplicate results for one cell (a checkpoint evaluated twice with other settings) are resolved by the study's eval
settings, which the claims section names, or refused with a one-line DataError; never by recording order.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sftlab.analysis.report import ReportContext, Section, register_section
from sftlab.analysis.tables import results_table, to_html, to_markdown
from sftlab.errors import DataError
from sftlab.evaluate.unitlog import _safe
from sftlab.io import iter_jsonl
from sftlab.stats import difference_interval, episodes_to_separate, mcnemar_exact, wilson_interval
from sftlab.store import Result

SOKOBAN, GP = "sokoban-eval", "gp-eval"
SUITE = SOKOBAN  # the default of last_checkpoint_cells
ID = "SimpleSokoban"
INSTRUCTION_TAGS = ("SimpleSokobanAlphabetical", "SimpleSokobanNumerical", "SimpleSokobanRandom")
FAKE = "FakeSokobanNumerical"
DIFFICULTY_TAGS = ("LargerSokoban", "TwoBoxesSokoban", "ComplexSokoban")
GP_ID, GP_INSTRUCTION, GP_FAKE, GP_DIFFICULTY = "id", ("all_5", "all_7"), "all_5_fake", ("5cards", "large")
CONDITIONS = ("fixed-answer-only", "fixed-cot", "diverse-answer-only", "diverse-cot", "grpo")
ORACLE = "oracle"
NO_LOSS_MARGIN = 0.10  # "no loss" / "matches or beats": at most 10 points below, shown by the 95% interval
ALPHA = 0.05
PER_EPISODE_METRICS = frozenset({"success", "acc"})  # 0/1 per episode: McNemar on the samples
PER_TURN = "optimal_action_rate"
RELATIONS = ("higher", "no_loss")
# Settings that identify a checkpoint or choose tags, not how it was evaluated.
_NOT_SETTINGS = frozenset({"content_key", "fingerprint", "splits"})

Pair = tuple[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class Claim:
    """One claim: in `suite`, for each of `pairs` ((run, tag), (run, tag)), the paper says the first cell is
    `relation` ("higher", or "no_loss": at most `margin` below) the second on `metric`."""

    name: str
    paper: str
    metric: str
    pairs: tuple[Pair, ...]
    relation: str = "higher"
    suite: str = SOKOBAN
    margin: float = 0.0

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"claim {self.name!r}: relation must be one of {RELATIONS}, got {self.relation!r}")

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tag for pair in self.pairs for _, tag in pair))


def _each(tags, first: str, second: str, first_tag: str | None = None) -> tuple[Pair, ...]:
    return tuple(((first, first_tag or t), (second, t)) for t in tags)


def _no_loss(name, paper, metric, pairs, suite=SOKOBAN) -> Claim:
    return Claim(name, paper, metric, pairs, "no_loss", suite, NO_LOSS_MARGIN)


_SOKOBAN_SUCCESS = (
    Claim("Fixed prompts break on new vocabularies",
          "Non-Diver.+Ans.: high ID success, near zero on Alpha./Num./Rand.",
          "success", _each(INSTRUCTION_TAGS, "fixed-answer-only", "fixed-answer-only", first_tag=ID)),
    Claim("Fixed prompts exploit Fake",
          "Non-Diver.+Ans. scores high on Fake; Diver.+Ans. drops to about 0",
          "success", _each((FAKE,), "fixed-answer-only", "diverse-answer-only")),
    Claim("Diverse prompts lift success on new vocabularies",
          "Diver.+Ans.: high success on all instruction variants",
          "success", _each(INSTRUCTION_TAGS, "diverse-answer-only", "fixed-answer-only")),
    _no_loss("Diverse prompts cost nothing in domain",
             "Diver.+Ans. keeps the ID success of Non-Diver.+Ans. (no loss: at most 10 points below)",
             "success", _each((ID,), "diverse-answer-only", "fixed-answer-only")),
    Claim("CoT helps the difficulty variants (fixed prompts)",
          "+CoT: markedly better on larger grids and more boxes",
          "success", _each(DIFFICULTY_TAGS, "fixed-cot", "fixed-answer-only")),
    Claim("CoT helps the difficulty variants (diverse prompts)",
          "+CoT: markedly better on larger grids and more boxes",
          "success", _each(DIFFICULTY_TAGS, "diverse-cot", "diverse-answer-only")),
    _no_loss("Diverse+CoT matches or beats RL",
             "Diver.+CoT matches or beats GRPO on the instruction and difficulty variants (at most 10 points below)",
             "success", _each(INSTRUCTION_TAGS + DIFFICULTY_TAGS, "diverse-cot", "grpo")),
)

_SOKOBAN_MECHANISM = (
    Claim("Fixed prompts keep the training vocabulary",
          "the fixed-prompt model ignores the new instruction and answers Up/Down/Left/Right",
          "training_word_rate", _each(INSTRUCTION_TAGS, "fixed-answer-only", "diverse-answer-only")),
    Claim("Fake validity follows the shortcut",
          "(the mechanism of the Fake result: Up/Down/Left/Right answers are the only valid ones on Fake)",
          "validity_all_episodes", _each((FAKE,), "fixed-answer-only", "diverse-answer-only")),
)


def _per_turn(claim: Claim) -> Claim:
    return Claim(f"{claim.name} (per turn)", f"{claim.paper}; judged on sftlab's per-turn optimal_action_rate",
                 PER_TURN, claim.pairs, claim.relation, claim.suite, claim.margin)


_GP = (
    Claim("Fixed prompts break on new face-card rules (GP)",
          "Non-Diver.+Ans.: high ID accuracy, near zero on All-5/All-7",
          "acc", _each(GP_INSTRUCTION, "fixed-answer-only", "fixed-answer-only", first_tag=GP_ID), suite=GP),
    Claim("Fixed prompts exploit Fake (GP)",
          "Non-Diver.+Ans. scores high on Fake; Diver.+Ans. drops to about 0",
          "acc", _each((GP_FAKE,), "fixed-answer-only", "diverse-answer-only"), suite=GP),
    Claim("Diverse prompts lift success on new face-card rules (GP)",
          "Diver.+Ans.: high accuracy on All-5/All-7",
          "acc", _each(GP_INSTRUCTION, "diverse-answer-only", "fixed-answer-only"), suite=GP),
    _no_loss("Diverse prompts cost nothing in domain (GP)",
             "Diver.+Ans. keeps the ID accuracy of Non-Diver.+Ans. (at most 10 points below)",
             "acc", _each((GP_ID,), "diverse-answer-only", "fixed-answer-only"), suite=GP),
    Claim("CoT helps the difficulty variants (GP, fixed prompts)",
          "+CoT: markedly better with 5 cards and out-of-range values",
          "acc", _each(GP_DIFFICULTY, "fixed-cot", "fixed-answer-only"), suite=GP),
    Claim("CoT helps the difficulty variants (GP, diverse prompts)",
          "+CoT: markedly better with 5 cards and out-of-range values",
          "acc", _each(GP_DIFFICULTY, "diverse-cot", "diverse-answer-only"), suite=GP),
    _no_loss("Diverse+CoT matches or beats RL (GP)",
             "Diver.+CoT matches or beats GRPO on All-5/All-7, 5 cards and out-of-range values (at most 10 points "
             "below)", "acc", _each(GP_INSTRUCTION + GP_DIFFICULTY, "diverse-cot", "grpo"), suite=GP),
)

CLAIMS: tuple[Claim, ...] = (_SOKOBAN_SUCCESS + tuple(_per_turn(c) for c in _SOKOBAN_SUCCESS) + _SOKOBAN_MECHANISM
                             + _GP)


@dataclass(frozen=True)
class Comparison:
    """One comparison of a claim: its outcome, the test that decided it, and a line a reader can check."""

    outcome: str  # supports | against | inconclusive | not measurable | not measured | not evaluated
    test: str     # "McNemar exact", "95% intervals", "Newcombe interval of the difference", or ""
    text: str


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict on one study, with the comparisons it rests on."""

    claim: Claim
    verdict: str
    details: tuple[str, ...]  # one line per comparison: "run tag value [lo, hi] vs run tag value [lo, hi]: ..."
    comparisons: tuple[Comparison, ...] = ()


Outcomes = Callable[[Result], "dict[str, bool] | None"]  # a cell's per-episode 0/1 outcomes by episode id


# --- cells ----------------------------------------------------------------------------------------------------
def _eval_settings(r: Result) -> dict:
    settings = r.settings if isinstance(r.settings, dict) else {}
    drop = _NOT_SETTINGS | ({"backend"} if r.step is None else set())  # a policy's backend is its name
    return {k: v for k, v in settings.items() if k not in drop}


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(settings.items())) or "no settings"


def _same_numbers(rows: Sequence[Result]) -> bool:
    return len({(r.value, r.ci_low, r.ci_high, r.n) for r in rows}) == 1


def last_checkpoint_cells(results: list[Result], suite: str = SUITE,
                          notes: list[str] | None = None) -> dict[tuple[str, str, str], Result]:
    """(run, tag, metric) -> the result at the run's last evaluated step on `suite` (reference policies have no
    step and keep theirs).

    A cell with several evaluations (other keys) and different numbers is resolved by the study's eval settings
    (those shared by every run with a single evaluation): the one evaluation that has them is used and `notes`
    says so; otherwise DataError, one line naming the settings that differ. Recording order never decides.
    """
    rows = [r for r in results if r.suite == suite]
    last: dict[str, int] = {}
    for r in rows:
        if r.step is not None:
            last[r.run] = max(last.get(r.run, r.step), r.step)
    rows = [r for r in rows if r.step is None or r.step == last.get(r.run)]
    candidates: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in rows:
        candidates[(r.run, r.split, r.metric)].append(r)
    keys_of_run: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        keys_of_run[r.run].add(r.key)
    cells, study = {}, None
    for cell, found in sorted(candidates.items()):
        found = sorted(found, key=lambda r: r.key)
        if len(found) == 1 or _same_numbers(found):
            cells[cell] = found[0]
            continue
        if study is None:
            study = _study_settings([r for r in rows if len(keys_of_run[r.run]) == 1 and r.step is not None])
        cells[cell] = _resolve(cell, found, study, suite, notes)
    return cells


def _study_settings(single: Sequence[Result]) -> dict:
    """The eval settings every singly evaluated trained run shares."""
    shared: dict | None = None
    for r in single:
        items = _eval_settings(r)
        shared = dict(items) if shared is None else {k: v for k, v in shared.items() if items.get(k) == v}
    return shared or {}


def _resolve(cell, found: list[Result], study: dict, suite: str, notes: list[str] | None) -> Result:
    run, tag, metric = cell
    matching = [r for r in found if study and all(_eval_settings(r).get(k, v) == v for k, v in study.items())]
    if len({r.key for r in matching}) == 1:
        if notes is not None:
            note = (f"{run} @{matching[0].checkpoint} was evaluated {len({r.key for r in found})} times on {suite}; "
                    f"the claims use the evaluation with the study's settings ({_describe(study)}).")
            if note not in notes:
                notes.append(note)
        return matching[0]
    settings = [_eval_settings(r) for r in found]
    differ = sorted({k for s in settings for k in s if len({json.dumps(x.get(k)) for x in settings}) > 1})
    shown = "; ".join(", ".join(f"{k}={json.dumps(s.get(k))}" for k in differ) or "same settings" for s in settings)
    raise DataError(f"{run} @{found[0].checkpoint} has {len(found)} different {metric} results on {suite} {tag} "
                    f"({shown}) and the study's settings do not pick one; keep one evaluation per checkpoint in "
                    "the store, or judge the results of one setting")


def condition_groups(results: Iterable[Result], suite: str) -> dict[str, set[str]]:
    """Model/seed suffix ("" for a spec with one model and seed, "-qwen7b-s1" ...) -> the conditions present."""
    groups: dict[str, set[str]] = defaultdict(set)
    for run in {r.run for r in results if r.suite == suite}:
        for condition in sorted(CONDITIONS, key=len, reverse=True):
            if run == condition or run.startswith(condition + "-"):
                groups[run[len(condition):]].add(condition)
                break
    return dict(groups)


# --- one comparison -------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


def _cell(r: Result) -> str:
    interval = "" if r.ci_low is None else f" [{_pct(r.ci_low)}, {_pct(r.ci_high)}]"
    return f"{_pct(r.value)}%{interval} (n={r.n})"


def _count(r: Result) -> int:
    return round(r.value * r.n)


def _within_reach(r: Result, oracle: Result) -> Result:
    """Sokoban success among the puzzles the oracle solves within the turn cap: k / k_oracle."""
    k, reach = _count(r), _count(oracle)
    lo, hi = wilson_interval(k, reach)
    return Result(r.key, r.run, r.checkpoint, r.step, r.suite, r.split, r.metric, k / reach if reach else 0.0,
                  lo, hi, reach, r.settings)


def compare(claim: Claim, a: Result, b: Result, cells: dict, outcomes: Outcomes | None = None) -> Comparison:
    """The outcome of one comparison of `claim` (first cell `a`, second `b`); see the module docstring."""
    where = f"{a.run} {a.split} {_cell(a)} vs {b.run} {b.split} {_cell(b)}"
    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return Comparison("not measurable", "", f"{where}: not measurable (a cell has no interval)")
    if claim.suite == SOKOBAN and claim.metric == "success":
        for tag in {a.split, b.split} - {FAKE}:  # the oracle answers Fake's prompt labels, which Fake rejects
            oracle = cells.get((ORACLE, tag, "success"))
            if oracle is not None and oracle.value == 0:
                return Comparison("not measurable", "", f"{where}: not measurable (the oracle solves no {tag} "
                                  "puzzle at this turn cap)")
        if a.split != b.split:
            oracles = [cells.get((ORACLE, tag, "success")) for tag in (a.split, b.split)]
            if None in oracles or any(o.n != r.n for o, r in zip(oracles, (a, b), strict=True)):
                return Comparison("not measurable", "", f"{where}: not measurable (different puzzles; the oracle "
                                  "row that sets each tag's ceiling is missing)")
            a, b = (_within_reach(r, o) for r, o in zip((a, b), oracles, strict=True))
            where += f"; among the puzzles the oracle solves: {_cell(a)} vs {_cell(b)}"
    for bound in (0.0, 1.0):
        if a.value == b.value == bound:
            return Comparison("not measurable", "", f"{where}: not measurable (both at {_pct(bound)}%)")
    if claim.relation == "no_loss":
        lo, hi = difference_interval((a.value, a.ci_low, a.ci_high), (b.value, b.ci_low, b.ci_high))
        test = "Newcombe interval of the difference"
        text = f"{where}: difference [{_pct(lo)}, {_pct(hi)}] points vs margin -{_pct(claim.margin)}"
        outcome = "supports" if lo > -claim.margin else "against" if hi < -claim.margin else "inconclusive"
        return Comparison(outcome, test, f"{text}: {outcome} ({test}){_needed(claim, a, b, outcome)}")
    paired = _paired(claim, a, b, outcomes)
    if paired is not None:
        only_a, only_b = paired
        p_a, p_b = mcnemar_exact(only_a, only_b)
        test = "McNemar exact"
        outcome = "supports" if p_a < ALPHA else "against" if p_b < ALPHA else "inconclusive"
        return Comparison(outcome, test, f"{where}: {only_a} vs {only_b} discordant episodes, one-sided p = "
                          f"{min(p_a, p_b):.3g}: {outcome} ({test}, paired){_needed(claim, a, b, outcome)}")
    test = "95% intervals"
    outcome = ("supports" if a.ci_low > b.ci_high else "against" if b.ci_low > a.ci_high else "inconclusive")
    return Comparison(outcome, test, f"{where}: {outcome} ({test}){_needed(claim, a, b, outcome)}")


def _needed(claim: Claim, a: Result, b: Result, outcome: str) -> str:
    """For an inconclusive comparison of a per-episode metric: how many episodes per cell would decide it if the
    observed rates were the true ones (stats.episodes_to_separate), or that they point the other way."""
    if outcome != "inconclusive" or claim.metric not in PER_EPISODE_METRICS:
        return ""
    n = episodes_to_separate(a.value, b.value, claim.margin)
    if n is None:
        return "; the observed rates point the other way"
    unit = "puzzles the oracle solves" if a.split != b.split and claim.suite == SOKOBAN else "episodes"
    return f"; at these rates about {n} {unit} per cell would show it (80% power)"


def _paired(claim: Claim, a: Result, b: Result, outcomes: Outcomes | None) -> tuple[int, int] | None:
    """(episodes only `a` solved, episodes only `b` solved) when both played the same episodes; else None."""
    if outcomes is None or claim.metric not in PER_EPISODE_METRICS or a.split != b.split:
        return None
    first, second = outcomes(a), outcomes(b)
    if not first or not second or first.keys() != second.keys():
        return None
    return (sum(first[i] and not second[i] for i in first), sum(second[i] and not first[i] for i in first))


# --- a claim --------------------------------------------------------------------------------------------------
def judge(claim: Claim, cells: dict[tuple[str, str, str], Result], outcomes: Outcomes | None = None,
          group: str = "") -> Verdict:
    """The verdict of one claim on `cells` ((run, tag, metric) -> Result, one suite); `group` is the run-name
    suffix of one model and seed; `outcomes` gives a cell's per-episode outcomes (for the paired test)."""
    evaluated = {tag for _, tag, _ in cells}
    comparisons = []
    for tag in claim.tags:
        if tag not in evaluated:
            comparisons.append(Comparison("not evaluated", "", f"{tag}: not evaluated by this study"))
    for (run_a, tag_a), (run_b, tag_b) in claim.pairs:
        if not {tag_a, tag_b} <= evaluated:
            continue
        a, b = (cells.get((run + group, tag, claim.metric)) for run, tag in ((run_a, tag_a), (run_b, tag_b)))
        if a is None or b is None:
            missing = f"{run_a}{group} {tag_a}" if a is None else f"{run_b}{group} {tag_b}"
            comparisons.append(Comparison("not measured", "", f"no {claim.metric} result for {missing}"))
            continue
        comparisons.append(compare(claim, a, b, cells, outcomes))
    counted = [c.outcome for c in comparisons if c.outcome != "not evaluated"]
    return Verdict(claim, _verdict(counted), tuple(c.text for c in comparisons), tuple(comparisons))


def _verdict(outcomes: list[str]) -> str:
    supports, against = outcomes.count("supports"), outcomes.count("against")
    if not outcomes:
        return "not measured"
    if supports == len(outcomes):
        return "reproduced"
    if supports:
        return "mixed" if against else "partly"
    if against:
        return "contradicted"
    if "inconclusive" in outcomes:
        return "not separated"
    return "not measurable" if "not measurable" in outcomes else "not measured"


@dataclass(frozen=True)
class ClaimsTable:
    """The verdicts of one suite's claims for one model and seed (`group`: their run-name suffix)."""

    suite: str
    group: str
    verdicts: tuple[Verdict, ...]
    notes: tuple[str, ...] = ()


def judge_all(results: list[Result], samples: Sequence = (), suite: str = SOKOBAN, group: str = "") -> list[Verdict]:
    """Every claim of `suite` judged on the last checkpoint of each run of one model/seed `group` in `results`;
    `samples` (sources.SampleFile) enable the paired test. DataError for duplicates it cannot resolve."""
    cells = last_checkpoint_cells(results, suite)
    outcomes = episode_outcomes(samples)
    return [judge(c, cells, outcomes, group) for c in CLAIMS if c.suite == suite]


def claims_tables(results: list[Result], samples: Sequence = ()) -> list[ClaimsTable]:
    """One ClaimsTable per suite and model/seed group holding a fixed- and a diverse-prompt run."""
    outcomes = episode_outcomes(samples)
    tables = []
    for suite in (SOKOBAN, GP):
        groups = {g: c for g, c in condition_groups(results, suite).items()
                  if {"fixed-answer-only", "diverse-answer-only"} <= c}
        if not groups:
            continue
        notes: list[str] = []
        cells = last_checkpoint_cells(results, suite, notes)
        for group in sorted(groups):
            verdicts = tuple(judge(c, cells, outcomes, group) for c in CLAIMS if c.suite == suite)
            tables.append(ClaimsTable(suite, group, verdicts, tuple(notes)))
    return tables


def episode_outcomes(samples: Sequence) -> Outcomes:
    """A lookup of a cell's per-episode 0/1 outcomes (episode id -> solved/correct) from the eval's sample files
    (samples/<run>/<checkpoint>/<suite>.jsonl, the last record of an episode decides); None when the file is
    missing or does not match the cell's stored n and value (another evaluation wrote it)."""
    files = {(f.run, f.checkpoint, f.suite): f.path for f in samples}
    loaded: dict = {}

    def lookup(r: Result) -> dict[str, bool] | None:
        path = files.get((_safe(r.run), _safe(r.checkpoint), r.suite))
        if path is None:
            return None
        if path not in loaded:
            loaded[path] = read_episode_outcomes(path)
        mine = (loaded[path] or {}).get(r.split)
        if not mine or len(mine) != r.n or sum(mine.values()) != _count(r):
            return None
        return mine

    return lookup


def read_episode_outcomes(path) -> dict[str, dict[str, bool]] | None:
    """Per-episode 0/1 outcomes of one eval sample file, by split then episode id (every turn's record carries its
    episode's outcome, so the last one read decides); None when the file is unreadable or not a samples file."""
    by_split: dict[str, dict[str, bool]] = defaultdict(dict)
    try:
        for record in iter_jsonl(path):
            by_split[str(record["split"])][str(record["id"])] = bool(record["correct"])
    except (DataError, KeyError, TypeError):
        return None
    return by_split


# --- the report section ---------------------------------------------------------------------------------------
_SUITE_NAMES = {SOKOBAN: "Sokoban", GP: "General Points"}


def _tests_used(verdicts: Iterable[Verdict]) -> str:
    used = Counter(c.test for v in verdicts for c in v.comparisons if c.test)
    return ", ".join(f"{test} ({n})" for test, n in sorted(used.items())) or "none"


def claims_section(ctx: ReportContext) -> list[Section] | None:
    """One claims table per suite and model/seed, shown when the results hold a fixed- and a diverse-prompt run."""
    try:
        tables = claims_tables(ctx.results, ctx.samples)
    except DataError as exc:
        ctx.notice(f"The Debunk claims were not judged: {exc}")
        return [Section("The Debunk paper's claims", f"<p>Not judged: {html.escape(str(exc))}</p>",
                        f"Not judged: {exc}")]
    sections = []
    for table in tables:
        title = f"The Debunk paper's claims ({_SUITE_NAMES[table.suite]}"
        title += f", {table.group.lstrip('-')})" if table.group else ")"
        settings = sorted({_describe(_eval_settings(c)) for c in ctx.results
                           if c.suite == table.suite and c.step is not None and c.run.endswith(table.group)})
        intro = ("Each claim of the Debunk paper against this study's last checkpoints; sftlab.analysis.debunk "
                 "explains the outcomes and verdicts. Tests that decided: " + _tests_used(table.verdicts) +
                 ". Eval settings: " + " | ".join(settings) + ".")
        lines = [intro] + list(table.notes)
        md = lines + ["", "| claim | the paper | metric | verdict | measured |", "|---|---|---|---|---|"]
        rows = []
        for v in table.verdicts:
            md.append(f"| {v.claim.name} | {v.claim.paper} | {v.claim.metric} | **{v.verdict}** | "
                      f"{'<br>'.join(v.details)} |")
            rows.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in
                                         (v.claim.name, v.claim.paper, v.claim.metric, v.verdict)) +
                        f"<td>{'<br>'.join(html.escape(d) for d in v.details)}</td></tr>")
        body = ("".join(f"<p>{html.escape(x)}</p>" for x in lines) +
                "<table><thead><tr><th>claim</th><th>the paper</th><th>metric</th><th>verdict</th><th>measured</th>"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        sections.append(Section(title, body, "\n".join(md)))
    return sections or None


def skill_section(ctx: ReportContext) -> Section | None:
    """The per-turn optimal-action table of every Sokoban suite that recorded it (sftlab's metric)."""
    suites = sorted({r.suite for r in ctx.results if r.metric == PER_TURN})
    if not suites:
        return None
    tables = [results_table(ctx.results, suite, metric=PER_TURN, step=ctx.step) for suite in suites]
    intro = ("sftlab's own metric, not the paper's: the share of all turns whose action lies on a shortest solution "
             "from the position it was played in (invalid answers and moves from a dead position count as not "
             "optimal). It does not depend on the turn cap and has one observation per turn.")
    return Section("Optimal actions per turn", f"<p>{html.escape(intro)}</p>" + "".join(to_html(t) for t in tables),
                   "\n".join([intro, ""] + [to_markdown(t) for t in tables]))


register_section("debunk-claims", claims_section)
register_section("sokoban-skill", skill_section)
