"""Checkpoint sweeps: which checkpoints, what is already stored, resumable runs, and the files they write.

    EVAL/results.sqlite                                the results store (one row per key x split x metric)
    EVAL/samples/<run>/<checkpoint>/<suite>.jsonl      per-sample records of the latest evaluation
    EVAL/aggregates/<run>/<checkpoint>/<suite>.json    per-split metrics of the latest evaluation
    EVAL/partial/<run>/<checkpoint>/<suite>.<key>.jsonl  finished units of an evaluation in progress
    EVAL/fingerprints.json                             cache of weight-file sha256s (by path, size, mtime)

An evaluation's content key is the sha256 of (checkpoint content fingerprint, suite, settings); its store key adds
the run/checkpoint/step names. A store key already present is skipped; a content key stored under another name is
copied under the new name without recomputing. While an evaluation runs, each finished unit (a Sokoban episode, a GP/Countdown row with all its
attempts) is appended to its partial log and fsynced; a rerun after a crash or kill reuses them and plays only the
rest. Per-unit sampling seeds make the result the same as an uninterrupted run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from sftlab import __version__
from sftlab.backends import SamplingParams, get_backend
from sftlab.data.suites import suite_rows
from sftlab.errors import ConfigError, DataError
from sftlab.evaluate import episodes
from sftlab.evaluate.config import POLICIES, EvalConfig, parse_checkpoint_choice
from sftlab.evaluate.episodes import EpisodeProgress
from sftlab.evaluate.fingerprints import FingerprintCache
from sftlab.evaluate.keys import (
    CPU_MAX_NEW_TOKENS,
    PROTOCOL,
    eval_key,
    eval_settings,
    resolved_max_new_tokens,
    row_key,
)
from sftlab.evaluate.refusal_judge import RefusalJudge
from sftlab.evaluate.targets import Target, plan_targets
from sftlab.evaluate.unitlog import UnitLog, _safe
from sftlab.io import atomic_write_json, atomic_write_text, check_output_path
from sftlab.store import Metric, Result, ResultsStore
from sftlab.task_adapters import suites

__all__ = [  # the sweep, and the pieces it is made of (their modules say more)
    "CPU_MAX_NEW_TOKENS", "POLICIES", "PROTOCOL", "EvalConfig", "FingerprintCache", "Target", "UnitLog",
    "eval_key", "eval_settings", "evaluate", "parse_checkpoint_choice", "plan_targets", "resolved_max_new_tokens",
    "row_key", "select_splits",
]


def evaluate(config: EvalConfig, progress: bool = True) -> list[Result]:
    """Evaluate every requested checkpoint on the suite; skip what the store already holds; return all results.

    Writes the store, per-sample JSONL and aggregate JSON under `config.out` (see the module docstring).
    """
    from rich.console import Console

    console = Console(stderr=True)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} exists and is not a folder")
    check_output_path(out, [config.model] if config.backend not in POLICIES else [], replaces=False)
    out.mkdir(parents=True, exist_ok=True)
    fingerprints = FingerprintCache(out / "fingerprints.json")
    targets = plan_targets(config, fingerprints)
    max_new_tokens, notice = resolved_max_new_tokens(config)
    episodes = config.episodes or suites()[config.suite].default_n
    settings = eval_settings(config, max_new_tokens, episodes)
    params = SamplingParams(temperature=config.temperature, top_p=config.top_p, top_k=config.top_k,
                            max_new_tokens=max_new_tokens, seed=config.seed)
    # The model's full path is part of what an evaluation is (two folders named alike stay apart in tables).
    model_path = str(Path(config.model).resolve()) if config.model and Path(config.model).exists() else config.model
    results: list[Result] = []
    rows = None
    with ResultsStore(out) as store:
        for target in targets:
            content_key = eval_key(target.fingerprint, config.suite, settings)
            key = row_key(content_key, target)
            stored_settings = {**settings, "content_key": content_key, "fingerprint": target.fingerprint,
                               "model": model_path}
            partial = UnitLog(out / "partial" / _safe(target.run) / _safe(target.checkpoint)
                              / f"{config.suite}.{key[:16]}.jsonl")
            label = f"{target.run}/{target.checkpoint}"
            if store.has(key):
                partial.remove()
                console.print(f"[dim]{label}: already in the store, skipped[/dim]")
                results.extend(store.query(key=key))
                continue
            same = [r for r in store.query(suite=config.suite) if r.settings.get("content_key") == content_key]
            if same:
                source = f"{same[0].run}/{same[0].checkpoint}"
                console.print(f"[dim]{label}: same content as {source}, its stored results reused[/dim]")
                metrics = [Metric(r.split, r.metric, r.value, r.n, r.ci_low, r.ci_high)
                           for r in same if r.key == same[0].key]
                store.record(key, run=target.run, checkpoint=target.checkpoint, suite=config.suite,
                             metrics=metrics, step=target.step, settings=stored_settings)
                # The same evaluation stored before keys held the model's path: migrated, not kept twice.
                store.delete({r.key for r in same if "model" not in r.settings
                              and (r.run, r.checkpoint, r.step) == (target.run, target.checkpoint, target.step)})
                results.extend(store.query(key=key))
                continue
            if notice:
                console.print(notice)
                notice = None
            if rows is None:
                rows = select_splits(suite_rows(config.suite, n=episodes, source=config.safety_prompts),
                                     config.splits, config.suite)
            _run_target(config, target, key, stored_settings, params, rows, partial, store, out, console, progress)
            results.extend(store.query(key=key))
    return results


def select_splits(rows: list[dict], splits: Sequence[str] | None, suite: str) -> list[dict]:
    """The rows of the chosen splits (all when None); an unknown split name is a ConfigError listing the names."""
    if splits is None:
        return rows
    names = list(dict.fromkeys(r["split"] for r in rows))
    unknown = [s for s in splits if s not in names]
    if unknown:
        raise ConfigError(f"{suite} has no split(s) {unknown}; choose from: {', '.join(names)}")
    return [r for r in rows if r["split"] in set(splits)]


def _run_target(config, target, key, settings, params, rows, partial, store, out, console, progress) -> None:
    done = partial.load()
    todo = [r for r in rows if r["id"] not in done]
    if done:
        console.print(f"{target.run}/{target.checkpoint}: resuming, {len(done)} of {len(rows)} units already done")
    else:
        console.print(f"{target.run}/{target.checkpoint}: evaluating {len(rows)} units on {config.suite}")
    units = dict(done)
    if todo:
        backend = _backend(config, target)
        judge = None
        if config.refusal_judge is not None:
            judge = RefusalJudge(config.refusal_judge, batch_size=config.batch_size, device=config.device)
        try:
            units.update(_play(config, backend, params, rows, frozenset(done), partial, console, progress, judge))
        finally:
            backend.close()
            if judge is not None:
                judge.close()
    ordered = [units[r["id"]] for r in rows]
    splits = list(dict.fromkeys(r["split"] for r in rows))
    metrics = config.adapter.environment(config).aggregate(ordered, splits)
    folder = Path(_safe(target.run)) / _safe(target.checkpoint)
    records = [record for unit in ordered for record in unit["records"]]
    atomic_write_text(out / "samples" / folder / f"{config.suite}.jsonl",
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    atomic_write_json(out / "aggregates" / folder / f"{config.suite}.json", {
        "key": key, "run": target.run, "checkpoint": target.checkpoint, "step": target.step,
        "suite": config.suite, "model": target.location, "fingerprint": target.fingerprint,
        "settings": settings, "sftlab_version": __version__,
        "metrics": {s: {m.metric: {k: v for k, v in asdict(m).items() if k not in ("split", "metric")}
                        for m in metrics if m.split == s} for s in splits},
    })
    store.record(key, run=target.run, checkpoint=target.checkpoint, suite=config.suite, metrics=metrics,
                 step=target.step, settings=settings)
    partial.remove()


def _backend(config: EvalConfig, target: Target):
    if config.backend in POLICIES:
        return get_backend(config.backend)
    if config.backend == "hf":
        return get_backend("hf", target.location, batch_size=config.batch_size, device=config.device)
    return get_backend("vllm", target.location)


def _play(config, backend, params, rows, skip, partial, console, progress, judge=None) -> dict[str, dict]:
    environment = config.adapter.environment(config, refusal_judge=judge)
    chunk = None if environment.play_together or config.backend in POLICIES else (
        1024 if config.backend == "vllm" else 2 * config.batch_size)
    units: dict[str, dict] = {}
    with EpisodeProgress(console, environment, total=len(rows), done=len(skip), enabled=progress) as bar:

        def finished(unit: dict) -> None:
            partial.append(unit)
            units[unit["id"]] = unit
            bar.finished()

        episodes.play(environment, backend, rows, params, seed=config.seed, skip=skip, chunk_size=chunk,
                      on_done=finished, on_turn=bar.turn)
    return units


