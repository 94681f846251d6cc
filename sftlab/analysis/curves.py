"""Curves over training: each split's metric vs step for every run, with 95% intervals as bands.

The x axis. Checkpoint grids are often log-spaced (the reasoning-SFT paper's 0, 20, 40, 80, ... 640), and step 0
(the base model) must stay visible at the left. A plain log axis cannot show 0, and a broken axis is fiddly and
misleads about spacing, so a log x axis here is matplotlib's `symlog`: linear from 0 to the first checkpoint's
step, logarithmic after it. `log_x=None` (the default) chooses it when the steps span at least 20x.

Reference policies (oracle, random) have no step: they are drawn as flat dashed lines. An untrained model that was
evaluated on its own (a run with only step 0) is drawn as a flat dotted line and also used as step 0 of the
runs that lack one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sftlab.analysis.labels import RATE_METRICS, REFERENCE_RUNS, column_for, metric_label, order_columns
from sftlab.analysis.style import color_map, use_agg
from sftlab.analysis.tables import Source, load_results
from sftlab.store import Result


@dataclass(frozen=True)
class Point:
    """One checkpoint's value on a curve."""

    step: int
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int


def curve_points(results: list[Result], suite: str, metric: str, split: str | None = None) -> tuple[
        dict[str, list[Point]], dict[str, float]]:
    """(curves, flat lines) for one suite/metric and one split, or all splits n-weighted when `split` is None.

    curves: run -> points sorted by step (step 0 borrowed from a standalone base evaluation when missing);
    flat: reference policies and standalone base models -> value. Intervals are dropped when splits are pooled.
    """
    rows = [r for r in results if r.suite == suite and r.metric == metric and (split is None or r.split == split)]
    grouped: dict[tuple[str, int | None], list[Result]] = defaultdict(list)
    for r in rows:
        grouped[(r.run, r.step)].append(r)
    per_run: dict[str, list[Point]] = defaultdict(list)
    for (run, step), group in grouped.items():
        if split is not None:
            r = group[0]
            point = Point(step if step is not None else -1, r.value, r.ci_low, r.ci_high, r.n)
        else:
            total = sum(r.n for r in group) or len(group)
            value = sum(r.value * (r.n or 1) for r in group) / total
            point = Point(step if step is not None else -1, value, None, None, sum(r.n for r in group))
        per_run[run].append(point)
    curves, flat = {}, {}
    for run, points in per_run.items():
        points.sort(key=lambda p: p.step)
        if run in REFERENCE_RUNS or all(p.step <= 0 for p in points):
            flat[run] = points[0].value
        else:
            curves[run] = points
    # The untrained model is often stored once (one evaluation key) under one run, or as a run of its own; when
    # the suite has exactly one step-0 evaluation, it is step 0 of every curve that lacks one.
    base_keys = {r.key for r in rows if r.step == 0}
    if len(base_keys) == 1:
        base_run = next(r.run for r in rows if r.step == 0)
        base = [p for p in per_run[base_run] if p.step == 0][:1]
        for run, points in curves.items():
            if points[0].step != 0:
                curves[run] = base + points
    return curves, flat


def _use_log(steps: list[int]) -> bool:
    positive = [s for s in steps if s > 0]
    return bool(positive) and max(positive) / min(positive) >= 20


def _apply_x_scale(ax, steps: list[int], log_x: bool | None) -> None:
    if log_x is None:
        log_x = _use_log(steps)
    positive = sorted(s for s in steps if s > 0)
    if log_x and positive:
        ax.set_xscale("symlog", linthresh=positive[0], linscale=0.4)
        ax.set_xlim(left=0)
    ax.set_xlabel("training step" + (" (symlog)" if log_x and positive else ""))


def _draw(ax, curves, flat, colors, scale: float) -> list[int]:
    steps = [p.step for points in curves.values() for p in points]
    for run, points in sorted(curves.items()):
        xs = [p.step for p in points]
        ys = [p.value * scale for p in points]
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, color=colors.get(run), label=run)
        if any(p.ci_low is not None for p in points):
            lows = [(p.ci_low if p.ci_low is not None else p.value) * scale for p in points]
            highs = [(p.ci_high if p.ci_high is not None else p.value) * scale for p in points]
            ax.fill_between(xs, lows, highs, color=colors.get(run), alpha=0.18, linewidth=0)
    for run, value in sorted(flat.items()):
        style = "--" if run in REFERENCE_RUNS else ":"
        ax.axhline(value * scale, linestyle=style, linewidth=1.2, color=colors.get(run, "#777777"), label=run)
    ax.grid(True, alpha=0.3)
    return steps


def plot_metric_curves(
    source: Source,
    suite: str,
    metric: str,
    splits: list[str] | None = None,
    log_x: bool | None = None,
    aggregate: bool = False,
    colors: dict[str, str] | None = None,
    ncols: int = 4,
):
    """A figure with one panel per split (or one pooled panel when `aggregate`), or None when nothing to plot.

    Each run is a line over its checkpoints with its 95% interval as a band; rates are shown in percent.
    """
    results = load_results(source)
    rows = [r for r in results if r.suite == suite and r.metric == metric]
    if not rows:
        return None
    colors = colors or color_map({r.run for r in results})
    scale = 100.0 if metric in RATE_METRICS else 1.0
    panels = [None] if aggregate else [c.split for c in order_columns(splits or {r.split for r in rows})]
    plt = use_agg()
    ncols = max(1, min(ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.6 * nrows + 0.5), squeeze=False)
    handles: dict[str, object] = {}
    for index, split in enumerate(panels):
        ax = axes[index // ncols][index % ncols]
        curves, flat = curve_points(results, suite, metric, split)
        steps = _draw(ax, curves, flat, colors, scale)
        _apply_x_scale(ax, steps, log_x)
        ax.set_title("all splits (n-weighted)" if split is None else f"{column_for(split).label}", fontsize=10)
        if index % ncols == 0:
            ax.set_ylabel(metric_label(metric), fontsize=9)
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    fig.suptitle(f"{suite}: {metric_label(metric)} vs training step", fontsize=11)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(6, len(handles)), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


# Keys of log_history.jsonl worth plotting, in order of preference (TRL's names).
LOG_KEYS = ("reward", "loss", "completions/mean_length", "kl", "entropy", "grad_norm")


def plot_training_logs(runs, keys: tuple[str, ...] = LOG_KEYS, colors: dict[str, str] | None = None,
                       log_x: bool | None = None):
    """Training-log curves (GRPO reward, SFT loss, ...) vs step from each run's log_history.jsonl; None if empty.

    One panel per key that at least one run logged; each run is a line in its colour.
    """
    present = [k for k in keys if any(k in row for run in runs for row in run.log_history)]
    if not present:
        return None
    colors = colors or color_map({run.name for run in runs})
    plt = use_agg()
    ncols = min(3, len(present))
    nrows = math.ceil(len(present) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.6 * nrows + 0.4), squeeze=False)
    for index, key in enumerate(present):
        ax = axes[index // ncols][index % ncols]
        steps = []
        for run in runs:
            points = sorted((row["step"], row[key]) for row in run.log_history
                            if isinstance(row.get(key), (int, float)) and isinstance(row.get("step"), (int, float)))
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], linewidth=1.3, label=run.name,
                        color=colors.get(run.name))
                steps += [int(p[0]) for p in points]
        _apply_x_scale(ax, steps, False if log_x is None else log_x)
        ax.set_title(key, fontsize=10)
        ax.grid(True, alpha=0.3)
        if index == 0:
            ax.legend(fontsize=7, frameon=False)
    for index in range(len(present), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    fig.suptitle("training logs", fontsize=11)
    fig.tight_layout()
    return fig
