"""The reasoning-SFT study's report section: dip-and-recovery per suite, procedure statistics, safety.

Registered as the report section "reasoning-sft" on import; `build_report` shows it whenever a run has results at
two or more steps. The generic curves section already draws every split over training (including the safety
probe's `refusal_rate`); this section reads those curves:

- dip and recovery: for each run, suite and split, the headline metric at the base (step 0), its minimum and
  where, the final value, and the verdict (`sftlab.analysis.dynamics`);
- procedure: per run and checkpoint, mean response length and reflection-marker rate, pooled over suites (the
  paper's diagnostic: length surges in the dip and shrinks in the recovery; weaker models stay verbose);
- safety: refusal of harmful requests and over-refusal of harmless ones, base vs last checkpoint.
"""

from __future__ import annotations

import html
from collections import defaultdict

from sftlab.analysis.dynamics import dip_and_recovery
from sftlab.analysis.report import ReportContext, Section, register_section
from sftlab.store import Result

HEADLINE = {"success", "acc", "refusal_rate"}


def _series(results: list[Result]) -> dict[tuple[str, str, str, str], list[tuple[int, float]]]:
    """(run, suite, split, metric) -> [(step, value)], base step 0 borrowed from a standalone base run."""
    series: dict[tuple[str, str, str, str], list[tuple[int, float]]] = defaultdict(list)
    base: dict[tuple[str, str, str], float] = {}
    for r in results:
        if r.metric not in HEADLINE or r.step is None:
            continue
        series[(r.run, r.suite, r.split, r.metric)].append((r.step, r.value))
        if r.step == 0:
            base[(r.suite, r.split, r.metric)] = r.value
    for (_run, suite, split, metric), points in series.items():
        if all(step != 0 for step, _ in points) and (suite, split, metric) in base:
            points.append((0, base[(suite, split, metric)]))
    return {key: sorted(points) for key, points in series.items() if len(points) >= 2 and points[0][0] == 0}


def dip_rows(results: list[Result]) -> list[dict]:
    """One summary row per (run, suite, split) with a base and at least one checkpoint."""
    rows = []
    for (run, suite, split, metric), points in sorted(_series(results).items()):
        s = dip_and_recovery(points)
        rows.append({"run": run, "suite": suite, "split": split, "metric": metric, "base": s.base,
                     "min": s.minimum, "min_step": s.min_step, "final": s.final, "final_step": s.final_step,
                     "change": s.change, "verdict": s.verdict})
    return rows


def procedure_rows(results: list[Result]) -> list[dict]:
    """Per run and step: n-weighted mean response tokens and reflection markers per 1k tokens over all suites."""
    acc: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.step is not None and r.metric in ("response_tokens", "reflection_rate"):
            acc[(r.run, r.step)][r.metric].append((r.value, r.n))
    rows = []
    for (run, step), metrics in sorted(acc.items()):
        row = {"run": run, "step": step}
        for metric, pairs in metrics.items():
            total = sum(n for _, n in pairs) or 1
            row[metric] = sum(v * n for v, n in pairs) / total
        rows.append(row)
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> tuple[str, str]:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", "\n".join(md)


def reasoning_section(ctx: ReportContext) -> Section | None:
    """The section, or None when no run has results at two or more steps."""
    dips = dip_rows(ctx.results)
    if not dips:
        return None
    fmt = "{:.3f}".format
    dip_html, dip_md = _table(
        ["run", "suite", "split", "metric", "base", "min (step)", "final (step)", "final − base", "reading"],
        [[d["run"], d["suite"], d["split"], d["metric"], fmt(d["base"]), f"{fmt(d['min'])} ({d['min_step']})",
          f"{fmt(d['final'])} ({d['final_step']})", f"{d['change']:+.3f}", d["verdict"]] for d in dips],
    )
    proc = procedure_rows(ctx.results)
    proc_html, proc_md = _table(
        ["run", "step", "mean response tokens", "reflection markers / 1k tokens"],
        [[p["run"], str(p["step"]), f"{p.get('response_tokens', float('nan')):.1f}",
          f"{p.get('reflection_rate', float('nan')):.2f}"] for p in proc],
    )
    intro = ("Dip and recovery: a split 'dipped' when a checkpoint fell below the base model, and 'recovered' when "
             "the last checkpoint is back at or above it. Short runs that stop in the dip understate transfer. "
             "Safety rows (refusal_rate) read the other way for harmless prompts: lower is better there.")
    proc_intro = ("Procedure: response length surging early and shrinking later is the paper's signature of "
                  "dip-and-recovery; a weak model that stays long has copied verbosity, not a procedure.")
    return Section(
        "Reasoning-SFT study",
        f"<p>{html.escape(intro)}</p>{dip_html}<p>{html.escape(proc_intro)}</p>{proc_html}",
        f"{intro}\n\n{dip_md}\n\n{proc_intro}\n\n{proc_md}\n",
    )


register_section("reasoning-sft", reasoning_section)
