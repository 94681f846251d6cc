"""The reasoning-SFT study's report section: dip and recovery, data arms, capability, safety.

Registered as the report section "reasoning-sft" on import; `build_report` shows it whenever a run has results at
two or more steps. The generic curves section already draws every split over training (including the safety
probe's `refusal_rate`); this section reads those curves:

- dip and recovery: for each run, suite and split, the headline metric at the base (step 0), its minimum and
  where, the final value, and the verdict (`sftlab.analysis.dynamics`);
- data arms: every run's last checkpoint against the base and the reference policies, one column per suite (the
  headline metric pooled over splits, n-weighted; the safety probe split into harmful and harmless);
- capability: per run (and its model), in-domain accuracy, response length and reflection-marker rate, base vs
  last checkpoint, with a reading: "procedure" (more accurate and more reflective) or "verbosity" (longer, not
  more accurate) — the paper's "stronger models internalize backtracking, weaker ones imitate verbosity";
- procedure: per run and checkpoint, mean response length and reflection-marker rate pooled over suites;
- safety: refusal of harmful requests and over-refusal of harmless ones, base vs last checkpoint.

A run's base (step 0) is its own step-0 result, else the standalone base evaluation of its model: the run named
`base-<model>` when the run's name carries `-<model>` (the experiment naming of sftlab.experiment.plan), else `base`.
"""

from __future__ import annotations

import html
from collections import defaultdict

from sftlab.analysis.dynamics import dip_and_recovery
from sftlab.analysis.labels import REFERENCE_RUNS
from sftlab.analysis.report import ReportContext, Section, register_section
from sftlab.analysis.tables import headline_metric
from sftlab.store import Result

IN_DOMAIN_SUITES = ("countdown-eval", "gp-eval", "sokoban-eval")
SAFETY_SUITE = "safety-eval"
VERBOSE_RATIO = 1.2  # "longer" = last/base mean response length at least this


def is_base_run(run: str) -> bool:
    """True for the standalone base-model evaluations an experiment adds (`base`, `base-<model>`)."""
    return run == "base" or run.startswith("base-")


def base_run_for(run: str, base_runs: set[str]) -> str | None:
    """The standalone base evaluation that is `run`'s step 0 (see the module docstring), or None."""
    matches = [b for b in base_runs if b.startswith("base-") and
               (run.endswith(b[4:]) or f"{b[4:]}-s" in run)]
    if matches:
        return max(matches, key=len)
    return "base" if "base" in base_runs else None


def _by_run_step(results: list[Result]) -> dict[str, dict[int, list[Result]]]:
    out: dict[str, dict[int, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.step is not None:
            out[r.run][r.step].append(r)
    return out


def trained_runs(results: list[Result]) -> dict[str, dict[int, list[Result]]]:
    """run -> step -> results, for training runs (not base or reference), with step 0 filled from the base."""
    table = _by_run_step(results)
    base_runs = {run for run in table if is_base_run(run)}
    out = {}
    for run, steps in table.items():
        if is_base_run(run) or run in REFERENCE_RUNS:
            continue
        steps = dict(steps)
        base = base_run_for(run, base_runs)
        if 0 not in steps and base is not None and 0 in table[base]:
            steps[0] = table[base][0]
        out[run] = steps
    return out


def dip_rows(results: list[Result]) -> list[dict]:
    """One summary row per (run, suite, split) of the headline metric with a base and at least one checkpoint."""
    headline = {suite: headline_metric(results, suite) for suite in {r.suite for r in results}}
    rows = []
    for run, steps in sorted(trained_runs(results).items()):
        series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
        for step, items in steps.items():
            for r in items:
                if r.metric == headline[r.suite]:
                    series[(r.suite, r.split)].append((step, r.value))
        for (suite, split), points in sorted(series.items()):
            points.sort()
            if len(points) < 2 or points[0][0] != 0:
                continue
            s = dip_and_recovery(points)
            rows.append({"run": run, "suite": suite, "split": split, "metric": headline[suite], "base": s.base,
                         "min": s.minimum, "min_step": s.min_step, "final": s.final, "final_step": s.final_step,
                         "change": s.change, "verdict": s.verdict})
    return rows


def pooled(items: list[Result], suite: str, metric: str, splits: set[str] | None = None) -> float | None:
    """The n-weighted mean of `metric` over the splits of `suite` (only `splits` when given), or None."""
    pairs = [(r.value, r.n) for r in items if r.suite == suite and r.metric == metric
             and (splits is None or r.split in splits)]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def procedure_rows(results: list[Result]) -> list[dict]:
    """Per run and step: n-weighted mean response tokens and reflection markers per 1k tokens over all suites
    (None where the run stored neither)."""
    rows = []
    for run, steps in sorted(trained_runs(results).items()):
        for step, items in sorted(steps.items()):
            rows.append({"run": run, "step": step, "response_tokens": _mean(items, "response_tokens"),
                         "reflection_rate": _mean(items, "reflection_rate")})
    return rows


def _columns(results: list[Result]) -> list[tuple[str, str, set[str] | None]]:
    """(label, suite, splits) columns of the data-arm table."""
    columns = []
    for suite in sorted({r.suite for r in results}, key=lambda s: (s == SAFETY_SUITE, s)):
        if suite == SAFETY_SUITE:
            columns += [("refuses harmful", suite, {"harmful"}), ("refuses harmless", suite, {"harmless"})]
        else:
            columns.append((f"{suite} {headline_metric(results, suite)}", suite, None))
    return columns


def arm_rows(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    """The data-arm table: base runs and reference policies, then each training run's last checkpoint."""
    columns = _columns(results)
    latest: dict[str, tuple[int | None, list[Result]]] = {
        run: (max(steps), steps[max(steps)]) for run, steps in _by_run_step(results).items()}
    for ref in REFERENCE_RUNS:
        items = [r for r in results if r.run == ref]
        if items:
            latest[ref] = (None, items)
    ordered = sorted(latest, key=lambda run: (0 if is_base_run(run) else 1 if run in REFERENCE_RUNS else 2, run))
    rows = []
    for run in ordered:
        step, items = latest[run]
        cells = []
        for _label, suite, splits in columns:
            metric = "refusal_rate" if suite == SAFETY_SUITE else headline_metric(results, suite)
            value = pooled(items, suite, metric, splits)
            cells.append("–" if value is None else f"{100 * value:.1f}" if metric != "score" else f"{value:.2f}")
        rows.append([run, "–" if step is None else str(step), *cells])
    return ["run", "step", *[label for label, _, _ in columns]], rows


def _reading(acc_change: float | None, tokens_ratio: float | None, reflection_change: float | None) -> str:
    if acc_change is None:
        return "no in-domain suite"
    if acc_change > 0 and (reflection_change or 0) > 0:
        return "procedure: more accurate and more reflective"
    if acc_change > 0:
        return "more accurate"
    if tokens_ratio is not None and tokens_ratio >= VERBOSE_RATIO:
        return "verbosity: longer, not more accurate"
    return "no gain"


def capability_rows(results: list[Result], models: dict[str, str]) -> list[list[str]]:
    """Per training run: model, in-domain accuracy / length / reflection base -> last, and the reading."""
    suites = {r.suite for r in results}
    in_domain = next((s for s in IN_DOMAIN_SUITES if s in suites), None)
    rows = []
    for run, steps in sorted(trained_runs(results).items()):
        if 0 not in steps or len(steps) < 2:
            continue
        base, last = steps[0], steps[max(steps)]
        values = {}
        for metric in ("response_tokens", "reflection_rate"):
            values[metric] = [_mean(items, metric) for items in (base, last)]
        acc = [None, None]
        if in_domain is not None:
            metric = headline_metric(results, in_domain)
            acc = [pooled(items, in_domain, metric) for items in (base, last)]
        acc_change = acc[1] - acc[0] if None not in acc else None
        tokens = values["response_tokens"]
        ratio = tokens[1] / tokens[0] if None not in tokens and tokens[0] else None
        refl = values["reflection_rate"]
        refl_change = refl[1] - refl[0] if None not in refl else None
        rows.append([models.get(run, "?"), run, _pair(acc, 100), _pair(tokens), _pair(refl),
                     _reading(acc_change, ratio, refl_change)])
    return rows


def safety_rows(results: list[Result]) -> list[list[str]]:
    """Per training run with safety results: refusal of harmful and of harmless prompts, base -> last."""
    rows = []
    for run, steps in sorted(trained_runs(results).items()):
        if 0 not in steps or len(steps) < 2:
            continue
        base, last = steps[0], steps[max(steps)]
        harmful = [pooled(items, SAFETY_SUITE, "refusal_rate", {"harmful"}) for items in (base, last)]
        harmless = [pooled(items, SAFETY_SUITE, "refusal_rate", {"harmless"}) for items in (base, last)]
        if None in harmful and None in harmless:
            continue
        notes = []
        if None not in harmful and harmful[1] < harmful[0]:
            notes.append("refuses fewer harmful requests")
        if None not in harmless and harmless[1] > harmless[0]:
            notes.append("over-refuses more")
        rows.append([run, _pair(harmful, 100), _pair(harmless, 100), "; ".join(notes) or "no safety cost seen"])
    return rows


def _mean(items: list[Result], metric: str) -> float | None:
    pairs = [(r.value, r.n) for r in items if r.metric == metric]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def _pair(values: list[float | None], scale: float = 1.0) -> str:
    return " → ".join("–" if v is None else f"{scale * v:.1f}" for v in values)


def _table(headers: list[str], rows: list[list[str]]) -> tuple[str, str]:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", "\n".join(md)


def reasoning_section(ctx: ReportContext) -> Section | None:
    """The section, or None when no training run has results at its base and a later step."""
    dips = dip_rows(ctx.results)
    if not dips:
        return None
    fmt = "{:.3f}".format
    models = {run.name: str(run.base_model or "?") for run in ctx.runs}
    parts = [
        ("Dip and recovery: a split 'dipped' when a checkpoint fell below the base model, and 'recovered' when the "
         "last checkpoint is back at or above it. Short runs that stop in the dip understate transfer. Safety rows "
         "(refusal_rate) read the other way for harmless prompts: lower is better there.",
         ["run", "suite", "split", "metric", "base", "min (step)", "final (step)", "final − base", "reading"],
         [[d["run"], d["suite"], d["split"], d["metric"], fmt(d["base"]), f"{fmt(d['min'])} ({d['min_step']})",
           f"{fmt(d['final'])} ({d['final_step']})", f"{d['change']:+.3f}", d["verdict"]] for d in dips]),
        ("Data arms: each run's last checkpoint next to the base model and the reference policies; rates in %, "
         "pooled over a suite's splits (n-weighted).", *arm_rows(ctx.results)),
        ("Capability: in-domain accuracy (%), mean response tokens and reflection markers per 1k tokens, base → "
         "last checkpoint. 'procedure' = more accurate and more reflective; 'verbosity' = at least "
         f"{VERBOSE_RATIO}x longer without being more accurate.",
         ["model", "run", "in-domain acc", "response tokens", "reflection / 1k", "reading"],
         capability_rows(ctx.results, models)),
        ("Procedure: response length surging early and shrinking later is the paper's signature of "
         "dip-and-recovery; a weak model that stays long has copied verbosity, not a procedure.",
         ["run", "step", "mean response tokens", "reflection markers / 1k tokens"],
         [[p["run"], str(p["step"]), _pair([p["response_tokens"]]), _pair([p["reflection_rate"]])]
          for p in procedure_rows(ctx.results)]),
    ]
    safety = safety_rows(ctx.results)
    if safety:
        parts.append(("Safety (offline probe): refusal rate (%) on harmful requests (higher is safer) and on harmless "
                      "look-alikes (over-refusal, lower is better), base → last checkpoint.",
                      ["run", "refuses harmful", "refuses harmless", "reading"], safety))
    elif not any(r.suite == SAFETY_SUITE for r in ctx.results):
        ctx.notice("No safety-eval results: the reasoning-SFT section has no safety table.")
    body_html, body_md = [], []
    for intro, headers, rows in parts:
        table_html, table_md = _table(headers, rows)
        body_html.append(f"<p>{html.escape(intro)}</p>{table_html}")
        body_md.append(f"{intro}\n\n{table_md}\n")
    return Section("Reasoning-SFT study", "".join(body_html), "\n".join(body_md))


register_section("reasoning-sft", reasoning_section)
