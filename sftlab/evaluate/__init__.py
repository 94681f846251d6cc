"""Evaluation: closed-loop Sokoban, single/multi-turn General Points and Countdown, checkpoint sweeps, the store.

    from sftlab.evaluate import evaluate, EvalConfig
    results = evaluate(EvalConfig(model="tiny-random", suite="sokoban-eval", episodes=5, out="eval"))

The terminal table of a sweep is `sftlab.analysis.tables.sweep_table`. Protocol, metrics and decisions:
docs/evaluation.md. Backends (hf, vllm, oracle, random): `sftlab.backends`.
"""

from __future__ import annotations

from sftlab.evaluate.runner import EvalConfig, evaluate

__all__ = ["EvalConfig", "evaluate"]
