"""The Debunk paper's claims, checked against a study's own numbers (report section "debunk-claims").

Each claim of the paper (spec/debunk.md section 8) is a list of comparisons between two cells of the Sokoban
table: (run, tag) of one condition against another, on one metric, at each run's last checkpoint. A comparison
*separates* when the two 95% intervals do not overlap. A claim's verdict:

- **reproduced**: every comparison separates in the direction the paper states;
- **partly**: some do, none separates the other way;
- **contradicted**: some separate the other way, none the paper's way;
- **mixed**: some separate each way;
- **not separated**: every pair of intervals overlaps (not measurable at this size, or no effect);
- **not measured**: a run the claim needs has no result (tags the study did not evaluate at all are left out
  of the claim's comparisons; none left is also "not measured").

A claim of *no difference* ("no loss on ID") is **consistent** when the intervals overlap and **contradicted**
when they separate; a claim of *at least as good* ("matches or beats RL") is **reproduced** when some comparison
separates the paper's way and none the other, **consistent** when all overlap, **contradicted** otherwise. Runs are found by the condition names of the paper grid (`fixed-answer-only`, `diverse-cot`,
`grpo`, ...), as experiments/paper-sokoban.yaml and experiments/cpu-debunk.yaml name them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from sftlab.analysis.report import ReportContext, Section, register_section
from sftlab.store import Result

SUITE = "sokoban-eval"
INSTRUCTION_TAGS = ("SimpleSokobanAlphabetical", "SimpleSokobanNumerical", "SimpleSokobanRandom")
DIFFICULTY_TAGS = ("LargerSokoban", "TwoBoxesSokoban", "ComplexSokoban")
FAKE = "FakeSokobanNumerical"
ID = "SimpleSokoban"


@dataclass(frozen=True)
class Claim:
    """One claim: `pairs` of ((run, tag), (run, tag)) where the paper says the first is `relation` the second on
    `metric`: "higher", "equal" (no difference) or "at_least" (matches or beats)."""

    name: str
    paper: str
    metric: str
    pairs: tuple[tuple[tuple[str, str], tuple[str, str]], ...]
    relation: str = "higher"


def _each(tags, high: str, low: str, high_tag: str | None = None, low_tag: str | None = None):
    return tuple(((high, high_tag or t), (low, low_tag or t)) for t in tags)


CLAIMS: tuple[Claim, ...] = (
    Claim("Fixed prompts break on new vocabularies",
          "Non-Diver.+Ans.: high ID success, near zero on Alpha./Num./Rand.",
          "success", _each(INSTRUCTION_TAGS, "fixed-answer-only", "fixed-answer-only", high_tag=ID)),
    Claim("Fixed prompts keep the training vocabulary (validity)",
          "the fixed-prompt model ignores the new instruction and answers Up/Down/Left/Right",
          "validity_all_episodes", _each(INSTRUCTION_TAGS, "diverse-answer-only", "fixed-answer-only")),
    Claim("Fixed prompts exploit Fake",
          "Non-Diver.+Ans. scores high on Fake; Diver.+Ans. drops to about 0",
          "success", _each((FAKE,), "fixed-answer-only", "diverse-answer-only")),
    Claim("Fake validity follows the shortcut",
          "(the mechanism of the Fake result: Up/Down/Left/Right answers are the only valid ones on Fake)",
          "validity_all_episodes", _each((FAKE,), "fixed-answer-only", "diverse-answer-only")),
    Claim("Diverse prompts lift success on new vocabularies",
          "Diver.+Ans.: high success on all instruction variants",
          "success", _each(INSTRUCTION_TAGS, "diverse-answer-only", "fixed-answer-only")),
    Claim("Diverse prompts cost nothing in domain",
          "Diver.+Ans. keeps the ID success of Non-Diver.+Ans.",
          "success", _each((ID,), "diverse-answer-only", "fixed-answer-only"), relation="equal"),
    Claim("CoT helps the difficulty variants (fixed prompts)",
          "+CoT: markedly better on larger grids and more boxes",
          "success", _each(DIFFICULTY_TAGS, "fixed-cot", "fixed-answer-only")),
    Claim("CoT helps the difficulty variants (diverse prompts)",
          "+CoT: markedly better on larger grids and more boxes",
          "success", _each(DIFFICULTY_TAGS, "diverse-cot", "diverse-answer-only")),
    Claim("Diverse+CoT matches or beats RL",
          "Diver.+CoT matches or beats GRPO on the instruction and difficulty variants",
          "success", _each(INSTRUCTION_TAGS + DIFFICULTY_TAGS, "diverse-cot", "grpo"), relation="at_least"),
)


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict on one study, with the comparisons it rests on."""

    claim: Claim
    verdict: str
    details: tuple[str, ...]  # one line per comparison: "run tag value [lo, hi] vs run tag value [lo, hi]: ..."


def last_checkpoint_cells(results: list[Result], suite: str = SUITE) -> dict[tuple[str, str, str], Result]:
    """(run, tag, metric) -> the result at the run's last evaluated step on `suite` (reference policies have
    no step and keep their one result)."""
    last: dict[str, int] = {}
    for r in results:
        if r.suite == suite and r.step is not None:
            last[r.run] = max(last.get(r.run, r.step), r.step)
    return {(r.run, r.split, r.metric): r for r in results
            if r.suite == suite and (r.step is None or r.step == last.get(r.run))}


def _cell(r: Result) -> str:
    interval = "" if r.ci_low is None else f" [{100 * r.ci_low:.0f}, {100 * r.ci_high:.0f}]"
    return f"{100 * r.value:.0f}%{interval} (n={r.n})"


def _compare(high: Result, low: Result) -> str:
    if None in (high.ci_low, high.ci_high, low.ci_low, low.ci_high):
        return "overlap"
    if high.ci_low > low.ci_high:
        return "separates"
    if low.ci_low > high.ci_high:
        return "opposite"
    return "overlap"


def judge(claim: Claim, cells: dict[tuple[str, str, str], Result]) -> Verdict:
    """The verdict of one claim on `cells` (see the module docstring)."""
    outcomes, details = [], []
    evaluated_tags = {tag for _, tag, _ in cells}
    for (run_a, tag_a), (run_b, tag_b) in claim.pairs:
        if not {tag_a, tag_b} <= evaluated_tags:
            continue  # a tag the study did not evaluate at all: the claim is judged on the others
        a, b = cells.get((run_a, tag_a, claim.metric)), cells.get((run_b, tag_b, claim.metric))
        if a is None or b is None:
            missing = f"{run_a} {tag_a}" if a is None else f"{run_b} {tag_b}"
            return Verdict(claim, "not measured", (f"no {claim.metric} result for {missing}",))
        outcome = _compare(a, b)
        outcomes.append(outcome)
        details.append(f"{run_a} {tag_a} {_cell(a)} vs {run_b} {tag_b} {_cell(b)}: {outcome}")
    if not outcomes:
        return Verdict(claim, "not measured", ("the study evaluated none of the claim's tags",))
    separates, opposite = "separates" in outcomes, "opposite" in outcomes
    if claim.relation == "equal":
        verdict = "contradicted" if separates or opposite else "consistent"
    elif claim.relation == "at_least":
        verdict = "contradicted" if opposite else "reproduced" if separates else "consistent"
    elif all(o == "separates" for o in outcomes):
        verdict = "reproduced"
    elif separates:
        verdict = "mixed" if opposite else "partly"
    else:
        verdict = "contradicted" if opposite else "not separated"
    return Verdict(claim, verdict, tuple(details))


def judge_all(results: list[Result]) -> list[Verdict]:
    """Every claim judged on the last checkpoint of each run in `results`."""
    cells = last_checkpoint_cells(results)
    return [judge(c, cells) for c in CLAIMS]


def claims_section(ctx: ReportContext) -> Section | None:
    """The claims table, shown when the results hold a fixed- and a diverse-prompt Sokoban run."""
    runs = {r.run for r in ctx.results if r.suite == SUITE}
    if not {"fixed-answer-only", "diverse-answer-only"} <= runs:
        return None
    verdicts = judge_all(ctx.results)
    intro = ("Each claim of the Debunk paper against this study's last checkpoints: a comparison separates when "
             "the two 95% intervals do not overlap (sftlab.analysis.debunk explains the verdicts).")
    md = [intro, "", "| claim | the paper | metric | verdict | measured |", "|---|---|---|---|---|"]
    rows = []
    for v in verdicts:
        md.append(f"| {v.claim.name} | {v.claim.paper} | {v.claim.metric} | **{v.verdict}** | "
                  f"{'<br>'.join(v.details)} |")
        rows.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in
                                     (v.claim.name, v.claim.paper, v.claim.metric, v.verdict)) +
                    f"<td>{'<br>'.join(html.escape(d) for d in v.details)}</td></tr>")
    body = (f"<p>{html.escape(intro)}</p><table><thead><tr><th>claim</th><th>the paper</th><th>metric</th>"
            f"<th>verdict</th><th>measured</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return Section("The Debunk paper's claims", body, "\n".join(md))


register_section("debunk-claims", claims_section)
