"""Paper-style results tables: rows are runs (plus base, oracle, random), columns are eval splits in groups.

Numbers come from the results store as stored (value and its 95% interval): nothing is recomputed, so a table
always agrees with `sftlab eval`'s output. By default each training run shows its LAST evaluated checkpoint;
`step=N` shows that step instead. The best value of each column (among the untrained model and the trained runs,
never the oracle or random policy) is marked; the Fake group is never marked, because a high score there means
the model ignores the instruction.

Renderers: `to_markdown`, `to_csv` (long/tidy format, lossless: one line per cell), `to_latex` (booktabs),
`to_html`.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.analysis.labels import (
    BASE,
    FAKE,
    HEADLINE_METRICS,
    LOWER_IS_BETTER,
    NO_BEST,
    RATE_METRICS,
    REFERENCE_RUNS,
    VALIDITY_METRICS,
    Column,
    metric_label,
    order_columns,
)
from sftlab.analysis.sources import read_store
from sftlab.errors import ConfigError
from sftlab.io import atomic_write_text
from sftlab.store import Result, ResultsStore
from sftlab.task_adapters import task_of_suite


@dataclass(frozen=True)
class Cell:
    """One stored number: value, its 95% interval (None when the store has none), sample count, best mark."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    best: bool = False
    others: int = 0  # other stored evaluations of this cell, not shown (a table note names them)


@dataclass(frozen=True)
class Row:
    """A table row: a run at one checkpoint (or a reference policy), with one cell per split (None = missing)."""

    run: str
    checkpoint: str
    step: int | None
    kind: str  # "base", "run" or "reference"
    cells: dict[str, Cell | None]

    @property
    def label(self) -> str:
        """The row's name in a table: "run @step" for a trained checkpoint, else the run name."""
        if self.kind == "run" and self.step is not None:
            return f"{self.run} @{self.step}"
        return self.run


@dataclass(frozen=True)
class Table:
    """A results table for one suite and metric."""

    suite: str
    metric: str
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    prompt_protocols: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """"suite: metric label", the table's caption, with the eval prompt protocol(s) when stored (Sokoban)."""
        text = f"{self.suite}: {metric_label(self.metric)}"
        if self.prompt_protocols:
            text += f" [prompts: {', '.join(self.prompt_protocols)}]"
        return text

    @property
    def groups(self) -> list[tuple[str, list[Column]]]:
        """Consecutive columns of the same group, in order."""
        out: list[tuple[str, list[Column]]] = []
        for column in self.columns:
            if out and out[-1][0] == column.group:
                out[-1][1].append(column)
            else:
                out.append((column.group, [column]))
        return out


Source = ResultsStore | str | Path | Iterable[Result]


def load_results(source: Source) -> list[Result]:
    """Rows from a store object, a store path (opened read-only) or an iterable of `Result`."""
    if isinstance(source, ResultsStore):
        return source.query()
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            path = path / "results.sqlite"
        if not path.is_file():
            raise ConfigError(f"no results store at {path}")
        rows, _notices = read_store(path)
        return rows
    return list(source)


def select_evaluations(results: list[Result], where: dict[str, str] | None) -> list[Result]:
    """The rows whose settings match every KEY=VALUE of `where` (values compared as text); none left is a
    ConfigError naming the values the store has."""
    if not where:
        return results
    kept = [r for r in results if all(str(r.settings.get(k)) == str(v) for k, v in where.items())]
    if not kept:
        have = {k: sorted({str(r.settings.get(k)) for r in results}) for k in where}
        shown = "; ".join(f"{k}: {', '.join(v)}" for k, v in have.items())
        raise ConfigError(f"no evaluation has the settings {where}; the store has {shown}")
    return kept


def suites_in(results: list[Result]) -> list[str]:
    """Distinct suites, sorted."""
    return sorted({r.suite for r in results})


def headline_metric(results: list[Result], suite: str) -> str:
    """The suite's main metric: the first of success / refusal_rate / acc / score it has, else its first one."""
    metrics = sorted({r.metric for r in results if r.suite == suite})
    if not metrics:
        raise ConfigError(f"no results for suite {suite!r}")
    return next((m for m in HEADLINE_METRICS if m in metrics), metrics[0])


def _pick_rows(results: list[Result], step: int | None) -> tuple[list[tuple[str, str, int | None, str]], list[str]]:
    """Which (run, checkpoint, step, kind) each table row shows, and notes about runs left out."""
    by_run: dict[str, set[tuple[str, int | None]]] = defaultdict(set)
    for r in results:
        by_run[r.run].add((r.checkpoint, r.step))
    base_rows, run_rows, ref_rows, notes = [], [], [], []
    seen_base_keys: set[str] = set()
    for run in sorted(by_run):
        checkpoints = by_run[run]
        if run in REFERENCE_RUNS or all(s is None for _, s in checkpoints):
            for checkpoint, s in sorted(checkpoints, key=lambda c: c[0]):
                ref_rows.append((run, checkpoint, s, "reference"))
            continue
        # The untrained model: checkpoint "base" (step 0). The same base evaluated under several runs is one row.
        for checkpoint, s in checkpoints:
            if checkpoint == BASE or s == 0:
                keys = {r.key for r in results if r.run == run and r.checkpoint == checkpoint}
                if not keys & seen_base_keys:
                    seen_base_keys |= keys
                    base_rows.append((run, checkpoint, s, "base"))
        trained = [(c, s) for c, s in checkpoints if s is not None and s > 0 and c != BASE]
        if not trained:
            continue
        if step is None:
            checkpoint, s = max(trained, key=lambda c: (c[1], c[0]))
        else:
            matching = [(c, s) for c, s in trained if s == step]
            if not matching:
                have = ", ".join(str(s) for s in sorted({s for _, s in trained}))
                notes.append(f"{run} has no checkpoint at step {step} (steps: {have}); left out.")
                continue
            checkpoint, s = matching[0]
        run_rows.append((run, checkpoint, s, "run"))
    return base_rows + run_rows + ref_rows, notes


def results_table(
    source: Source,
    suite: str | None = None,
    metric: str | None = None,
    step: int | None = None,
    where: dict[str, str] | None = None,
) -> Table:
    """The paper-style table of one suite and metric (default: the suite's headline metric).

    Rows: the untrained model, each run at its last checkpoint (or at `step`), then oracle and random. Cells are
    the stored value and interval of (run, checkpoint, suite, split, metric). `suite` may be omitted when the
    results hold exactly one suite. `where` keeps only evaluations whose settings have these values (e.g.
    {"episodes": "200"}), to choose among several evaluations of one cell instead of the latest.
    """
    results = select_evaluations(load_results(source), where)
    suites = suites_in(results)
    if not suites:
        raise ConfigError("the results store is empty; run `sftlab eval` first")
    if suite is None:
        if len(suites) > 1:
            raise ConfigError(f"the results hold several suites; choose one of: {', '.join(suites)}")
        suite = suites[0]
    if suite not in suites:
        raise ConfigError(f"no results for suite {suite!r}; the store has: {', '.join(suites)}")
    metric = metric or headline_metric(results, suite)
    chosen = [r for r in results if r.suite == suite and r.metric == metric]
    if not chosen:
        have = sorted({r.metric for r in results if r.suite == suite})
        raise ConfigError(f"suite {suite!r} has no metric {metric!r}; it has: {', '.join(have)}")
    columns = order_columns(r.split for r in chosen)
    chosen, notes = _apart_by_model(chosen)
    picks, pick_notes = _pick_rows(chosen, step)
    index, others = _latest_per_cell(chosen)
    notes += pick_notes + [_several_note(run, checkpoint, found)
                           for (run, checkpoint), found in others.items()
                           if any(p[:2] == (run, checkpoint) for p in picks)]
    rows = []
    for run, checkpoint, s, kind in picks:
        cells = {}
        for column in columns:
            r = index.get((run, checkpoint, column.split))
            hidden = len(others.get((run, checkpoint), {}).get(column.split, ())) - 1 if r is not None else 0
            cells[column.split] = None if r is None else Cell(r.value, r.ci_low, r.ci_high, r.n, others=max(hidden, 0))
        # A single untrained model is labelled "base"; several (different base models) keep their run's name.
        label_run = BASE if kind == "base" and sum(p[3] == "base" for p in picks) == 1 else run
        rows.append(Row(label_run, checkpoint, s, kind, cells))
    protocols = tuple(sorted({str(r.settings["prompt_protocol"]) for r in chosen
                              if isinstance(r.settings, dict) and r.settings.get("prompt_protocol")}))
    if len(protocols) > 1:
        notes.append("Rows were evaluated under different prompt protocols (" + ", ".join(protocols) + "): the "
                     "paper protocol keeps the original eval prompt's stray backslash, clean drops it.")
    return Table(suite, metric, columns, _mark_best(rows, columns, metric), notes, protocols)


_IDENTITY_ONLY = ("content_key", "fingerprint", "model")  # settings that name the evaluation, not how it ran


def _apart_by_model(results: list[Result]) -> tuple[list[Result], list[str]]:
    """Keep runs that share a name but were evaluated from different model folders (`x1/model`, `x2/model`) apart:
    each gets its own row, labelled with the shortest path tail that tells them apart."""
    paths: dict[str, set[str]] = defaultdict(set)
    for r in results:
        if r.settings.get("model"):
            paths[r.run].add(str(r.settings["model"]))
    renamed, notes = {}, []
    for run, found in sorted(paths.items()):
        if len(found) < 2:
            continue
        tails = _distinct_tails(sorted(found))
        for path, tail in tails.items():
            renamed[(run, path)] = f"{run} [{tail}]"
        notes.append(f"Run name {run} was evaluated from {len(found)} different models "
                     f"({', '.join(sorted(found))}); each has its own row.")
    if not renamed:
        return results, notes
    return [dataclasses.replace(r, run=renamed.get((r.run, str(r.settings.get("model"))), r.run))
            for r in results], notes


def _distinct_tails(paths: list[str]) -> dict[str, str]:
    """{path: its shortest tail of path parts that no other path shares}."""
    parts = {p: Path(p).parts or (p,) for p in paths}
    for k in range(1, max(len(v) for v in parts.values()) + 1):
        tails = {p: "/".join(v[-k:]) for p, v in parts.items()}
        if len(set(tails.values())) == len(tails):
            return tails
    return {p: p for p in paths}


def _latest_per_cell(results: list[Result]):
    """({(run, checkpoint, split): the latest stored row}, {(run, checkpoint): {split: [rows of each evaluation]}}
    for the cells that several evaluations fill); "latest" is the store's insertion order."""
    by_cell: dict[tuple, list[tuple[int, int, Result]]] = defaultdict(list)
    for i, r in enumerate(results):
        by_cell[(r.run, r.checkpoint, r.split)].append((-1 if r.seq is None else r.seq, i, r))
    index, others = {}, defaultdict(dict)
    for (run, checkpoint, split), found in by_cell.items():
        found.sort(key=lambda item: item[:2])
        index[(run, checkpoint, split)] = found[-1][2]
        if len({r.key for *_, r in found}) > 1:
            others[(run, checkpoint)][split] = [r for *_, r in reversed(found)]
    return index, dict(others)


def _several_note(run: str, checkpoint: str, found: dict[str, list[Result]]) -> str:
    """The visible note for a row whose cells several stored evaluations fill: which ones, and which is shown."""
    evaluations = {r.key: r for rows in found.values() for r in rows}  # newest first
    described = _describe(list(evaluations.values()))
    shown, hidden = described[0], described[1:]
    return (f"{run} ({checkpoint}): {len(evaluations)} evaluations are stored for the cells marked *; each shows "
            f"the latest ({shown}), not {'; '.join(hidden)}.")


def _describe(results: list[Result]) -> list[str]:
    """A short description of each evaluation: the settings in which they differ (else their content)."""
    settings = [{k: v for k, v in r.settings.items() if k not in _IDENTITY_ONLY} for r in results]
    names = sorted({k for s in settings for k in s})
    differ = [k for k in names if len({repr(s.get(k)) for s in settings}) > 1]
    if differ:
        return [", ".join(f"{k}={s.get(k)}" for k in differ) + f", n={r.n}"
                for s, r in zip(settings, results, strict=True)]
    return [f"content {str(r.settings.get('fingerprint') or r.key)[:12]}, n={r.n}" for r in results]


def _mark_best(rows: list[Row], columns: list[Column], metric: str) -> list[Row]:
    if metric in NO_BEST:
        return rows
    best_split: dict[str, float] = {}
    for column in columns:
        if column.group == FAKE:
            continue
        values = [r.cells[column.split].value for r in rows
                  if r.kind != "reference" and r.cells[column.split] is not None]
        values = [v for v in values if not math.isnan(v)]
        if len(values) >= 2 and min(values) != max(values):  # a column where all rows tie has no best
            best_split[column.split] = min(values) if metric in LOWER_IS_BETTER else max(values)
    marked = []
    for r in rows:
        cells = {
            split: (Cell(c.value, c.ci_low, c.ci_high, c.n, True, c.others)
                    if c is not None and r.kind != "reference" and best_split.get(split) == c.value else c)
            for split, c in r.cells.items()
        }
        marked.append(Row(r.run, r.checkpoint, r.step, r.kind, cells))
    return marked


def results_tables(source: Source, step: int | None = None, validity: bool = True) -> list[Table]:
    """One table per suite with its headline metric, plus a table per validity metric it stored when `validity`
    (Sokoban: the paper's action_is_valid and sftlab's validity_all_episodes)."""
    results = load_results(source)
    tables = []
    for suite in suites_in(results):
        tables.append(results_table(results, suite, step=step))
        if validity:
            have = {r.metric for r in results if r.suite == suite}
            headline = tables[-1].metric
            for metric in VALIDITY_METRICS:
                if metric in have and metric != headline:
                    tables.append(results_table(results, suite, metric=metric, step=step))
    return tables


# --- formatting -----------------------------------------------------------------------------------------------
def _fmt(value: float | None, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric in RATE_METRICS:
        return f"{100 * value:.1f}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def format_cell(cell: Cell | None, metric: str, interval: bool = True) -> str:
    """"45.0 [35.6–54.8]" for a rate (percent), or the value alone when there is no interval."""
    if cell is None:
        return "–"
    text = _fmt(cell.value, metric)
    if interval and cell.ci_low is not None and cell.ci_high is not None:
        text += f" [{_fmt(cell.ci_low, metric)}–{_fmt(cell.ci_high, metric)}]"
    return text + ("*" if cell.others else "")


def _group_caption(table: Table) -> str:
    return " | ".join(f"{group}: {', '.join(c.label for c in cols)}" for group, cols in table.groups)


def to_markdown(table: Table, interval: bool = True) -> str:
    """A GitHub-flavoured Markdown table; best values in bold; groups named in a line above the table."""
    unit = "percent, 95% interval in brackets" if table.metric in RATE_METRICS else "95% interval in brackets"
    lines = [f"**{table.title}** ({unit}; best per column in bold). Columns: {_group_caption(table)}", ""]
    header = ["run", *(c.label for c in table.columns)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" + "".join("---:|" for _ in table.columns))
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = row.cells[column.split]
            text = format_cell(cell, table.metric, interval)
            cells.append(f"**{text}**" if cell is not None and cell.best else text)
        lines.append("| " + " | ".join([md_escape(row.label), *cells]) + " |")
    lines += [f"\n_{note}_" for note in table.notes]
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("suite", "metric", "run", "checkpoint", "step", "kind", "group", "split", "label", "value",
              "ci_low", "ci_high", "n", "best")


def to_csv(table: Table, path: str | Path | None = None) -> str:
    """Long-format CSV, one line per cell, numbers at full precision (lossless); written to `path` if given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in table.rows:
        for column in table.columns:
            cell = row.cells[column.split]
            if cell is None:
                continue
            writer.writerow([
                table.suite, table.metric, row.run, row.checkpoint, "" if row.step is None else row.step, row.kind,
                column.group, column.split, column.label, repr(cell.value),
                "" if cell.ci_low is None else repr(cell.ci_low), "" if cell.ci_high is None else repr(cell.ci_high),
                cell.n, int(cell.best),
            ])
    text = buffer.getvalue()
    if path is not None:
        atomic_write_text(path, text)
    return text


def read_csv(text_or_path: str | Path) -> list[dict]:
    """Parse `to_csv` output back into dicts with typed numbers (value/ci as float, n as int, best as bool)."""
    text = Path(text_or_path).read_text(encoding="utf-8") if isinstance(text_or_path, Path) else text_or_path
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        rows.append({
            **raw,
            "step": int(raw["step"]) if raw["step"] else None,
            "value": float(raw["value"]),
            "ci_low": float(raw["ci_low"]) if raw["ci_low"] else None,
            "ci_high": float(raw["ci_high"]) if raw["ci_high"] else None,
            "n": int(raw["n"]),
            "best": raw["best"] == "1",
        })
    return rows


def md_escape(text: str) -> str:
    """Plain text inside Markdown (a run name, a verdict): characters that would start markup are escaped, and
    HTML is escaped, so a name like `**x**` or `<img>` shows as written."""
    text = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", text).replace("\n", " ")


def md_fence(text: str, lang: str = "") -> str:
    """`text` in a fenced code block whose fence is longer than any backtick run inside it, so model output
    holding ``` cannot end the block early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(table: Table, interval: bool = True, caption: str | None = None, label: str | None = None) -> str:
    """A booktabs `table` environment: grouped column headers with cmidrules, best values in bold."""
    spec = "l" + "".join("c" * len(cols) for _, cols in table.groups)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    group_cells, rules, start = [], [], 2
    for group, cols in table.groups:
        group_cells.append(rf"\multicolumn{{{len(cols)}}}{{c}}{{{latex_escape(group)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + len(cols) - 1}}}")
        start += len(cols)
    lines.append(" & ".join(["", *group_cells]) + r" \\")
    lines.append(" ".join(rules))
    lines.append(" & ".join(["Run", *(latex_escape(c.label) for c in table.columns)]) + r" \\")
    lines.append(r"\midrule")
    previous_kind = None
    for row in table.rows:
        if previous_kind is not None and row.kind != previous_kind and "reference" in (row.kind, previous_kind):
            lines.append(r"\midrule")
        previous_kind = row.kind
        cells = []
        for column in table.columns:
            cell = row.cells[column.split]
            value = _fmt(None if cell is None else cell.value, table.metric).replace("–", "--")
            if cell is not None and cell.best:
                value = rf"\textbf{{{value}}}"
            if cell is not None and cell.others:
                value += r"$^*$"
            if interval and cell is not None and cell.ci_low is not None and cell.ci_high is not None:
                low, high = _fmt(cell.ci_low, table.metric), _fmt(cell.ci_high, table.metric)
                value += rf"\,{{\scriptsize[{low}, {high}]}}"
            cells.append(value)
        lines.append(" & ".join([latex_escape(row.label), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    text = latex_escape(caption if caption is not None else
                        f"{table.title}; 95% intervals in brackets; best per column in bold.")
    lines.append(rf"\caption{{{text}}}")
    if label:
        lines.append(rf"\label{{{latex_escape(label)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_html(table: Table, interval: bool = True) -> str:
    """An HTML `<table class="results">` with a group header row; best cells carry class "best" and bold."""
    esc = html.escape
    parts = ['<div class="table-wrap"><table class="results">', f"<caption>{esc(table.title)}</caption>", "<thead>", "<tr><th></th>"]
    parts += [f'<th colspan="{len(cols)}" class="group">{esc(group)}</th>' for group, cols in table.groups]
    parts += ["</tr>", "<tr><th>run</th>"]
    parts += [f'<th title="{esc(c.split)}">{esc(c.label)}</th>' for c in table.columns]
    parts += ["</tr>", "</thead>", "<tbody>"]
    for row in table.rows:
        parts.append(f'<tr class="{row.kind}"><th title="{esc(row.checkpoint)}">{esc(row.label)}</th>')
        for column in table.columns:
            cell = row.cells[column.split]
            value = esc(_fmt(None if cell is None else cell.value, table.metric))
            if cell is not None and cell.best:
                value = f"<b>{value}</b>"
            ci = ""
            if interval and cell is not None and cell.ci_low is not None and cell.ci_high is not None:
                ci = f'<br><span class="ci">[{_fmt(cell.ci_low, table.metric)}–{_fmt(cell.ci_high, table.metric)}]</span>'
            if cell is not None and cell.others:
                ci += '<sup title="several evaluations stored; see the note below">*</sup>'
            klass = ' class="best"' if cell is not None and cell.best else ""
            n = f' title="n={cell.n}"' if cell is not None else ""
            parts.append(f"<td{klass}{n}>{value}{ci}</td>")
        parts.append("</tr>")
    parts += ["</tbody>", "</table></div>"]
    parts += [f'<p class="note">{esc(note)}</p>' for note in table.notes]
    return "\n".join(parts)


# --- the terminal table of `sftlab eval` (rich) ---------------------------------------------------------------
_SWEEP_RATES = {"success", "validity", "effectiveness", "action_is_valid", "action_is_effective",
                "validity_all_episodes", "effectiveness_all_episodes", "acc", "valid", "parsed", "refusal_rate"}
# Short column names for the terminal table (the store keeps the full names).
_SHORT = {"response_tokens": "tokens", "effectiveness": "effective", "action_is_valid": "valid",
          "action_is_effective": "effective", "validity_all_episodes": "valid (all ep.)", "num_actions": "actions"}


def suite_split_order(suite: str) -> list[str]:
    """The suite's splits in the paper's order (Sokoban tags, GP splits, domains, harmful/harmless)."""
    try:
        return list(task_of_suite(suite).split_order(suite))
    except ImportError:  # pragma: no cover - a task package not built
        return []


def sweep_table(results: Sequence[Result], suite: str, title: str | None = None):
    """A rich Table: one row per run/checkpoint x split; rates in % with their Wilson 95% interval.

    The header names the prompt protocol(s) of the results shown (Sokoban: "prompts: paper" or "clean").
    """
    from rich.table import Table

    names = task_of_suite(suite).table_metrics
    protocols = sorted({str(r.settings.get("prompt_protocol")) for r in results
                        if r.suite == suite and r.settings and r.settings.get("prompt_protocol")})
    heading = title or suite
    if protocols:
        heading += f" (prompts: {', '.join(protocols)})"
    table = Table(title=heading)
    table.add_column("run/checkpoint", no_wrap=True)
    table.add_column("split", no_wrap=True)
    table.add_column("n", justify="right")
    for name in names:
        table.add_column(_SHORT.get(name, name), justify="right", no_wrap=True)
    cells: dict[tuple, dict[str, Result]] = {}
    for r in results:
        if r.suite == suite:
            step = r.step if r.step is not None else -1
            cells.setdefault((r.run, step, r.checkpoint, r.split), {})[r.metric] = r
    order = {name: i for i, name in enumerate(suite_split_order(suite))}
    for (run, _step, checkpoint, split), by_metric in sorted(
            cells.items(), key=lambda kv: (*kv[0][:3], order.get(kv[0][3], len(order)), kv[0][3])):
        first = by_metric.get(names[0]) or next(iter(by_metric.values()))
        table.add_row(f"{run}/{checkpoint}", split, str(first.n), *(_sweep_cell(by_metric.get(name)) for name in names))
    return table


def _sweep_cell(result: Result | None) -> str:
    if result is None:
        return "-"
    if result.metric in _SWEEP_RATES:
        text = f"{100 * result.value:.1f}%"
        if result.ci_low is not None:
            text += f" [{100 * result.ci_low:.0f}, {100 * result.ci_high:.0f}]"
        return text
    return f"{result.value:.2f}" if abs(result.value) < 100 else f"{result.value:.0f}"
