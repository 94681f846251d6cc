"""Datasets: the papers' dataset conditions as presets, eval suites, leakage control, exports.

    from sftlab.data import PRESETS, build_preset, load_rows
    build_preset("sokoban-diverse-cot", "data/sokoban-diverse-cot")
    rows = load_rows("data/sokoban-diverse-cot")            # or load_rows("sokoban-diverse-cot"): cached build
    from sftlab.data.suites import suite_rows, SUITES
    eval_rows = suite_rows("sokoban-eval", n=10)

Rows follow docs/contracts.md; docs/data.md shows one row per preset and the decisions.
"""

from __future__ import annotations

from sftlab.data.builder import BuildResult, build, build_preset, load_rows
from sftlab.data.presets import PRESETS, BuildConfig, Preset, get_preset

__all__ = ["PRESETS", "BuildConfig", "BuildResult", "Preset", "build", "build_preset", "get_preset", "load_rows"]
