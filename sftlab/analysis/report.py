"""`sftlab report DIR`: one self-contained HTML file (and a Markdown twin) with everything an experiment produced.

`build_report(dir)` finds result stores (`results.sqlite`) and run folders (`run.json`) anywhere below `dir`, so
it works on one run, an eval folder or a whole experiment. The HTML embeds every figure as a base64 PNG and its
CSS inline: it opens offline, from an e-mail attachment, anywhere. `report.md` sits next to it, with the figures
as PNG files in `<name>_files/` (paste it into an issue or a paper draft).

Sections, in order: notices (what is missing), tables, curves, training logs, weights, sample transcripts, run
configs, then any extra sections. Extending the report: pass `extra_sections=[Section(title, html, markdown)]`,
or register a builder once with `register_section(name, builder)`; a builder gets the `ReportContext` (results,
runs, samples, colours, `figure()` to embed a matplotlib figure, `notice()`) and returns a Section, a list of
them, or None. A builder that raises does not break the report: its failure is shown as a notice.
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sftlab import __version__
from sftlab.analysis import sources, weights
from sftlab.analysis.curves import plot_metric_curves, plot_training_logs
from sftlab.analysis.labels import REFERENCE_RUNS, metric_label, order_columns
from sftlab.analysis.lora import is_adapter
from sftlab.analysis.style import color_map, figure_png
from sftlab.analysis.tables import md_escape, md_fence, results_tables, to_html, to_markdown
from sftlab.errors import DataError
from sftlab.io import atomic_write_bytes, atomic_write_text, check_output_path, iter_jsonl
from sftlab.store import Result

esc = html.escape
MAX_TEXT = 3000  # characters of a prompt or response shown in a transcript


@dataclass(frozen=True)
class Section:
    """One report section: a title, its HTML body and its Markdown body."""

    title: str
    html: str
    markdown: str


@dataclass
class ReportContext:
    """What section builders see: the discovered inputs and helpers to embed figures and raise notices."""

    root: Path
    results: list[Result]
    runs: list[sources.RunInfo]
    samples: list[sources.SampleFile]
    colors: dict[str, str]
    files_dir_name: str
    step: int | None = None
    out_dir: Path | None = None  # where the report is written (an experiment keeps its spec.yaml there)
    weights: bool = True
    samples_per_split: int = 3
    notices: list[str] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)

    def attach(self, filename: str, data: bytes) -> str:
        """Write `data` as `<name>_files/<filename>` next to the report; returns its relative path (for Markdown)."""
        filename = re.sub(r"[^A-Za-z0-9_.-]+", "-", filename)
        self.attachments[filename] = data
        return f"{self.files_dir_name}/{filename}"

    def notice(self, text: str) -> None:
        """Show `text` in the report's notice box (for anything missing or skipped)."""
        if text not in self.notices:
            self.notices.append(text)

    def figure(self, fig, name: str, alt: str = "") -> tuple[str, str]:
        """Embed a matplotlib figure: returns (HTML `<img>` with a base64 PNG, Markdown image link); closes it."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "figure"
        while slug in self.figures:
            slug += "-x"
        png = figure_png(fig)
        self.figures[slug] = png
        data = base64.b64encode(png).decode("ascii")
        alt = alt or name
        return (f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></figure>',
                f"![{alt}]({self.files_dir_name}/{slug}.png)")


SectionBuilder = Callable[[ReportContext], "Section | list[Section] | None"]
SECTION_BUILDERS: dict[str, SectionBuilder] = {}
# Modules that register sections on import; `build_report` imports them (a missing one is skipped).
SECTION_MODULES = ("sftlab.analysis.rethinking", "sftlab.analysis.debunk", "sftlab.analysis.timing")


def register_section(name: str, builder: SectionBuilder) -> None:
    """Add (or replace) a named section builder; builders run in registration order after the built-in ones."""
    SECTION_BUILDERS[name] = builder


# --- built-in sections ----------------------------------------------------------------------------------------
def tables_section(ctx: ReportContext) -> Section | None:
    """Paper-style tables, one per suite (headline metric and validity), last checkpoint or `ctx.step`."""
    if not ctx.results:
        return None
    tables = results_tables(ctx.results, step=ctx.step)
    _flag_unparsed(ctx)
    which = "the last checkpoint of each run" if ctx.step is None else f"step {ctx.step}"
    intro = (f"Rows show {which}; cells are the stored value with its 95% interval; the best value per column "
             "(reference policies and the Fake probe excluded) is bold.")
    body_html = [f"<p>{esc(intro)}</p>"] + [to_html(t) for t in tables]
    body_md = [intro, ""] + [to_markdown(t) for t in tables]
    return Section("Results tables", "\n".join(body_html), "\n".join(body_md))


PARSE_METRICS = ("parsed", "validity", "validity_all_episodes", "valid")


def _flag_unparsed(ctx: ReportContext) -> None:
    """A notice naming every run/checkpoint/suite/split where not one response had a usable answer."""
    dead = sorted({f"{r.run}/{r.checkpoint} {r.suite}:{r.split}" for r in ctx.results
                   if r.metric in PARSE_METRICS and r.n > 0 and r.value == 0})
    if dead:
        shown = ", ".join(dead[:12]) + (f" and {len(dead) - 12} more" if len(dead) > 12 else "")
        ctx.notice(f"No response could be parsed (answer found / validity 0%) in {len(dead)} result(s): {shown}. "
                   "Their accuracies are format failures, not measurements of skill.")


CURVE_METRICS = ("success", "acc", "refusal_rate", "action_is_valid", "validity_all_episodes", "validity", "valid",
                 "score", "optimal_action_rate")
POOLED_METRICS = ("response_tokens", "reflection_rate")


def curves_section(ctx: ReportContext) -> Section | None:
    """Per-split curves over training for the headline and validity metrics; pooled response length/reflection."""
    if not any(r.step is not None and r.step > 0 for r in ctx.results):
        if ctx.results:
            ctx.notice("No trained checkpoints in the results (only step 0 or reference policies): no curves.")
        return None
    html_parts, md_parts = [], []
    for suite in sorted({r.suite for r in ctx.results}):
        have = {r.metric for r in ctx.results if r.suite == suite}
        for metric in [m for m in CURVE_METRICS if m in have] + [m for m in POOLED_METRICS if m in have]:
            fig = plot_metric_curves(ctx.results, suite, metric, aggregate=metric in POOLED_METRICS,
                                     colors=ctx.colors)
            if fig is None:
                continue
            img_html, img_md = ctx.figure(fig, f"curves-{suite}-{metric}", f"{suite} {metric_label(metric)} vs step")
            html_parts.append(f"<h3>{esc(suite)}: {esc(metric_label(metric))}</h3>{img_html}")
            md_parts.append(f"### {suite}: {metric_label(metric)}\n\n{img_md}\n")
    if not html_parts:
        return None
    intro = ("Each line is a run over its checkpoints (step 0 = the base model); bands are 95% intervals; dashed "
             "lines are the oracle and random policies. Pooled panels weight splits by their sample counts.")
    return Section("Curves over training", f"<p>{esc(intro)}</p>" + "\n".join(html_parts),
                   intro + "\n\n" + "\n".join(md_parts))


def logs_section(ctx: ReportContext) -> Section | None:
    """Training-log curves (loss, GRPO reward, ...) from each run's logs/log_history.jsonl."""
    with_logs = [run for run in ctx.runs if run.log_history]
    missing = [run.name for run in ctx.runs if not run.log_history]
    if missing:
        ctx.notice(f"No training logs (logs/log_history.jsonl) for: {', '.join(missing)}.")
    fig = plot_training_logs(with_logs, colors=ctx.colors) if with_logs else None
    if fig is None:
        return None
    img_html, img_md = ctx.figure(fig, "training-logs", "training logs")
    return Section("Training logs", img_html, img_md)


def weights_section(ctx: ReportContext) -> Section | None:
    """L2 distance to the base and per-layer relative change, for runs with full-weight checkpoints."""
    if not ctx.weights or not ctx.runs:
        return None
    distances, html_parts, md_parts = {}, [], []
    for run in ctx.runs:
        if not run.checkpoints:
            ctx.notice(f"Run {run.name} has no complete checkpoints: no weight analysis.")
            continue
        lora = any(is_adapter(c.path) for c in run.checkpoints)
        base, why = weights.local_base_folder(run.base_model)
        if base is None:
            skipped = "the weight analysis of its LoRA adapters" if lora else "L2 distance to the base"
            ctx.notice(f"Run {run.name}: {why}; {skipped} skipped.")
            if lora:
                continue
        try:
            if base is not None:
                rows = weights.l2_to_base(run.checkpoints, base, progress=True)
                distances[run.name] = rows
                csv_text = "phase,l2,rel_l2,num_params,num_elems\n" + "".join(
                    f"{r.phase},{r.l2!r},{r.rel_l2!r},{r.num_params},{r.num_elems}\n" for r in rows)
                link = ctx.attach(f"weights-{run.name}-l2.csv", csv_text.encode())
                html_parts.append(f"<h3>{esc(run.name)}: distance to base</h3><pre>{esc(csv_text)}</pre>")
                md_parts.append(f"### {md_escape(run.name)}: distance to base ([CSV]({link}))\n\n"
                                f"{md_fence(csv_text.rstrip(), 'csv')}\n")
            if len(run.checkpoints) + (base is not None) >= 2:
                change = weights.relative_change(run.checkpoints, base=base, progress=True)
                for note in change.notes:
                    ctx.notice(f"Run {run.name}: {note}.")
                if change.rows:
                    fig = weights.relative_change_heatmap(change, f"{run.name}: relative change per layer/module")
                    img_html, img_md = ctx.figure(fig, f"weights-{run.name}-heatmap", f"{run.name} weight change")
                    html_parts.append(f"<h3>{esc(run.name)}: relative change</h3>{img_html}")
                    md_parts.append(f"### {run.name}: relative change\n\n{img_md}\n")
        except Exception as exc:  # noqa: BLE001 - a broken checkpoint must not sink the whole report
            ctx.notice(f"Run {run.name}: weight analysis failed ({exc}).")
    fig = weights.plot_l2(distances, ctx.colors)
    if fig is not None:
        img_html, img_md = ctx.figure(fig, "weights-l2", "L2 distance to base")
        html_parts.insert(0, img_html)
        md_parts.insert(0, img_md + "\n")
    if not html_parts:
        return None
    return Section("Weights", "\n".join(html_parts), "\n".join(md_parts))


def _step_of(checkpoint: str) -> int:
    match = re.search(r"(\d+)$", checkpoint)
    return int(match.group(1)) if match else 0


def _failed(record: dict) -> bool:
    correct = record.get("correct")
    return not bool(correct)


def samples_section(ctx: ReportContext) -> Section | None:
    """Per suite and split, a few transcripts (prompt, response, verdict) from each run's last checkpoint,
    failures first."""
    if not ctx.samples:
        if ctx.results:
            ctx.notice("No per-sample files (samples/<run>/<checkpoint>/<suite>.jsonl): no transcripts.")
        return None
    last: dict[tuple[str, str], int] = defaultdict(lambda: -1)
    for f in ctx.samples:
        last[(f.run, f.suite)] = max(last[(f.run, f.suite)], _step_of(f.checkpoint))
    k = ctx.samples_per_split
    picked: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for f in sorted(ctx.samples, key=lambda f: (f.suite, f.run, f.checkpoint)):
        if _step_of(f.checkpoint) != last[(f.run, f.suite)]:
            continue
        kept: dict[tuple[str, bool], int] = defaultdict(int)
        try:
            for record in _iter_records(f.path):
                split = str(record.get("split", "?"))
                failed = _failed(record)
                if kept[(split, failed)] >= k:
                    continue
                kept[(split, failed)] += 1
                picked[(f.suite, split)].append((not failed, f.run, f.checkpoint, record))
        except Exception as exc:  # noqa: BLE001
            ctx.notice(f"{f.path}: unreadable samples ({exc}).")
    html_parts, md_parts = [], []
    split_order = {c.split: i for i, c in enumerate(order_columns({split for _, split in picked}))}
    for (suite, split), items in sorted(picked.items(), key=lambda kv: (kv[0][0], split_order[kv[0][1]])):
        items.sort(key=lambda t: (t[0], t[1], str(t[3].get("id")), t[3].get("episode") or 0, t[3].get("turn") or 0))
        failures = [t for t in items if not t[0]]
        successes = [t for t in items if t[0]]
        # failures first, but keep one slot for a success when there is one (to see what "right" looks like)
        shown = failures[: k - 1 if successes and k > 1 else k]
        shown += successes[: k - len(shown)]
        html_parts.append(f"<h3>{esc(suite)} / {esc(split)}</h3>")
        md_parts.append(f"### {md_escape(suite)} / {md_escape(split)}\n")
        for ok, run, checkpoint, record in shown:
            verdict = str(record.get("verdict", "correct" if ok else "incorrect"))
            where = f"{run} @{checkpoint} · id {record.get('id')}"
            if record.get("turn") is not None:
                where += f" · episode {record.get('episode')} turn {record.get('turn')}"
            prompt, response = _clip(record.get("prompt")), _clip(record.get("response"))
            klass = "ok" if ok else "fail"
            html_parts.append(
                f'<details class="sample {klass}"><summary><span class="verdict">{esc(verdict)}</span> '
                f"{esc(where)}</summary><p><b>prompt</b></p><pre>{esc(prompt)}</pre><p><b>response</b></p>"
                f"<pre>{esc(response)}</pre></details>"
            )
            md_parts.append(f"**{md_escape(verdict)}** — {md_escape(where)}\n\n<details><summary>prompt and "
                            f"response</summary>\n\n{md_fence(prompt, 'text')}\n\n{md_fence(response, 'text')}\n\n"
                            "</details>\n")
    return Section("Sample transcripts", "\n".join(html_parts), "\n".join(md_parts))


def _iter_records(path: Path) -> Iterable[dict]:
    for record in iter_jsonl(path):
        if isinstance(record, dict):
            yield record


def _clip(text) -> str:
    text = "" if text is None else (text if isinstance(text, str) else json.dumps(text, ensure_ascii=False))
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} more characters]"
    return text


def configs_section(ctx: ReportContext) -> Section | None:
    """The experiment spec (if any), each run's run.json and the distinct eval settings in the store."""
    html_parts, md_parts = [], []
    folders = {ctx.root.resolve(), *([ctx.out_dir.resolve()] if ctx.out_dir else [])}
    specs = sorted({spec for folder in folders if folder.is_dir() for spec in folder.glob("spec.y*ml")})
    for spec in specs:
        text = spec.read_text(encoding="utf-8", errors="replace")
        html_parts.append(f"<details open><summary>{esc(spec.name)}</summary><pre>{esc(text)}</pre></details>")
        md_parts.append(f"**{md_escape(spec.name)}**\n\n{md_fence(text, 'yaml')}\n")
    for run in ctx.runs:
        text = json.dumps(run.meta, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        label = f"{run.name} ({run.kind}, {run.meta.get('status', '?')}) — {run.path}"
        html_parts.append(f"<details><summary>{esc(label)}</summary><pre>{esc(text)}</pre></details>")
        md_parts.append(f"<details><summary>{esc(label)}</summary>\n\n{md_fence(text, 'json')}\n\n</details>\n")
    settings = sorted({(r.suite, json.dumps(r.settings, sort_keys=True)) for r in ctx.results})
    for suite, text in settings:
        html_parts.append(f"<details><summary>eval settings: {esc(suite)}</summary><pre>{esc(text)}</pre></details>")
        md_parts.append(f"- eval settings for {md_escape(suite)}:\n\n{md_fence(text, 'json')}\n")
    if not html_parts:
        return None
    return Section("Configs", "\n".join(html_parts), "\n".join(md_parts))


_BUILTIN: tuple[tuple[str, SectionBuilder], ...] = (
    ("tables", tables_section), ("curves", curves_section), ("logs", logs_section),
    ("weights", weights_section), ("samples", samples_section), ("configs", configs_section),
)


# --- assembling -----------------------------------------------------------------------------------------------
def collect(root: str | Path) -> tuple[list[Result], list[sources.RunInfo], list[sources.SampleFile], list[str]]:
    """Results (all stores merged), runs, sample files and notices found below `root`."""
    root = Path(root)
    notices = []
    stores = sources.find_stores(root)
    groups = []
    for path in stores:
        rows, store_notices = sources.read_store(path)
        notices += store_notices
        groups.append(rows)
    results = sources.merge_results(groups)
    if not stores:
        notices.append(f"No results store (results.sqlite) found below {root}: no tables or curves.")
    elif not results:
        notices.append("The results store holds no results yet: no tables or curves.")
    runs = sources.find_runs(root)
    for run in runs:
        notices += run.notices
    return results, runs, sources.find_samples(root), notices


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#222;
padding:0 16px;line-height:1.45}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:32px}.meta{color:#666}
.notices{background:#fff4e5;border-left:4px solid #e69f00;padding:8px 16px;margin:16px 0}
.notices li{margin:2px 0}
table.results{border-collapse:collapse;margin:12px 0 20px;font-size:13px}
table.results caption{text-align:left;font-weight:600;padding:4px 0}
table.results th,table.results td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap;
line-height:1.15}
table.results th.group{text-align:center;border-bottom:1px solid #999;font-weight:600}
table.results tbody th{text-align:left;font-weight:500}table.results td.best{background:#e8f4ea}
table.results tr.reference{color:#777}table.results tr.base th{font-style:italic}
.ci{color:#888;font-size:10px}.table-wrap{overflow-x:auto}figure{margin:8px 0}figure img{max-width:100%;height:auto}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap;font-size:12px;max-height:400px}
details.sample{margin:6px 0;border:1px solid #eee;padding:4px 8px}details.sample.fail summary .verdict{color:#b00}
details.sample.ok summary .verdict{color:#070}.note{color:#666;font-style:italic}nav a{margin-right:12px}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_html(title: str, subtitle: str, notices: list[str], sections: list[Section]) -> str:
    """The complete HTML document (inline CSS, no scripts, no external resources)."""
    nav = " ".join(f'<a href="#{_slug(s.title)}">{esc(s.title)}</a>' for s in sections)
    parts = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1><p class=\"meta\">{esc(subtitle)}</p>", f"<nav>{nav}</nav>"]
    if notices:
        items = "".join(f"<li>{esc(n)}</li>" for n in notices)
        parts.append(f'<div class="notices" role="note"><b>Missing or skipped</b><ul>{items}</ul></div>')
    for s in sections:
        parts.append(f'<section id="{_slug(s.title)}"><h2>{esc(s.title)}</h2>\n{s.html}\n</section>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(title: str, subtitle: str, notices: list[str], sections: list[Section]) -> str:
    """The Markdown twin of the report."""
    parts = [f"# {title}", "", f"_{subtitle}_", ""]
    if notices:
        parts += ["> **Missing or skipped**", ">"] + [f"> - {n}" for n in notices] + [""]
    for s in sections:
        parts += [f"## {s.title}", "", s.markdown, ""]
    return "\n".join(parts)


def _import_section_modules(ctx: ReportContext) -> None:
    for module in SECTION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                ctx.notice(f"Report sections of {module} unavailable ({exc}).")
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not sink the report
            ctx.notice(f"Report sections of {module} unavailable ({type(exc).__name__}: {exc}).")


def build_report(
    dir: str | Path,
    out_html: str | Path | None = None,
    *,
    extra_sections: Iterable[Section] = (),
    title: str | None = None,
    step: int | None = None,
    weights: bool = True,
    samples_per_split: int = 3,
) -> Path:
    """Write `report.html` (self-contained) and `report.md` (+ `<name>_files/*.png`) for everything below `dir`.

    Default output: `dir/report.html`. Never raises for missing or odd inputs: they are listed as notices at the
    top of the report. Returns the HTML path.
    """
    root = Path(dir)
    if not root.exists():
        raise DataError(f"no such folder: {root}")
    out_html = Path(out_html) if out_html is not None else (root if root.is_dir() else root.parent) / "report.html"
    if out_html.suffix.lower() == ".md":
        raise DataError(f"--out {out_html}: the Markdown report is written beside the HTML one as "
                        f"{out_html.with_suffix('.md').name}; give an .html path")
    check_output_path(out_html)  # never the results store, never the current folder
    results, runs, samples, notices = collect(root)
    run_names = {r.run for r in results} | {run.name for run in runs}
    ctx = ReportContext(root=root, results=results, runs=runs, samples=samples, colors=color_map(run_names),
                        files_dir_name=f"{out_html.stem}_files", step=step, out_dir=out_html.parent, weights=weights,
                        samples_per_split=samples_per_split, notices=notices)
    _import_section_modules(ctx)
    sections: list[Section] = []
    for name, builder in (*_BUILTIN, *SECTION_BUILDERS.items()):
        try:
            made = builder(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            ctx.notice(f"The {name} section could not be built ({type(exc).__name__}: {exc}).")
            continue
        if made is None:
            continue
        sections += made if isinstance(made, list) else [made]
    sections += list(extra_sections)
    title = title or f"sftlab report: {root.resolve().name}"
    trained = sorted({r.run for r in results if r.run not in REFERENCE_RUNS})
    subtitle = (f"{root} · sftlab {__version__} · {len(results)} stored numbers · runs: "
                f"{', '.join(trained) or 'none'}")
    atomic_write_text(out_html, render_html(title, subtitle, ctx.notices, sections))
    files_dir = out_html.parent / ctx.files_dir_name
    for slug, png in ctx.figures.items():
        atomic_write_bytes(files_dir / f"{slug}.png", png)
    for filename, data in ctx.attachments.items():
        atomic_write_bytes(files_dir / filename, data)
    atomic_write_text(out_html.with_suffix(".md"), render_markdown(title, subtitle, ctx.notices, sections))
    return out_html
