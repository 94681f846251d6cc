"""Build a preset into a data folder, and load rows back (checked against the manifest).

A build makes the rows in memory, re-verifies every completion with the task's own verifier, checks leakage
against the task's eval suite, then writes `train.*` (or `test.*` for eval suites) and `manifest.json` into a
staged folder that is renamed into place only when everything succeeded.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from sftlab import __version__
from sftlab.data.export import write_parquet
from sftlab.data.leakage import eval_keys, leakage_report
from sftlab.data.pairs import demonstration_preset, pair_rows
from sftlab.data.presets import PRESETS, BuildConfig
from sftlab.data.schema import check_rows, read_data_manifest
from sftlab.data.suites import suite_rows
from sftlab.data.teacher import teacher_config_from_options, teacher_rows
from sftlab.errors import DataError
from sftlab.io import (
    check_output_path,
    ensure_writable,
    output_lock,
    read_jsonl,
    sha256_file,
    staged_dir,
    write_jsonl,
    write_manifest,
)
from sftlab.models import cache_dir
from sftlab.task_adapters import TrainingData, get_task, require

NOTES = {
    "cot-solver": "CoT written from the solver's state (Sokoban) or a verified backtracking search (arithmetic); "
    "the paper rejection-sampled an LLM teacher (Qwen3-8B): pass --teacher MODEL to do that instead.",
    "teacher": "CoT rejection-sampled from the teacher model; the first verified sample of each prompt is kept.",
}


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: where, how many rows, how long it took, and the manifest it wrote."""

    path: Path
    rows: int
    seconds: float
    manifest: dict


def build(config: BuildConfig, out: str | Path, *, force: bool = False, progress: bool = True) -> BuildResult:
    """Build `config` into the folder `out`; see the module docstring. Existing `out` needs `force`.

    `out` is locked for the whole build: a concurrent build into the same folder is a DataError, not a silent
    replacement.
    """
    out = check_output_path(out)  # not the current folder, not a results store
    with output_lock(out):
        ensure_writable(out, force)  # fail before doing any work
        return _build(config, out, force, progress)


def _build(config: BuildConfig, out: Path, force: bool, progress: bool) -> BuildResult:
    start = time.perf_counter()
    spec = config.spec
    rows, counts, extra = _make_rows(config, progress)
    verification = _verify(spec.task, rows)
    extra = {**extra, "verification": verification}
    if spec.kind != "eval":
        report = leakage_report(spec.task, rows, skipped=counts.get("skipped_for_leakage", 0),
                                paper_seeds=config.paper_seeds)
        report["allowed"] = config.allow_overlap
        if report["overlap"] and not config.allow_overlap:
            hint = " (--paper-seeds replays eval items by design)" if config.paper_seeds else ""
            raise DataError(
                f"{report['overlap']} of {report['eval_items']} {report['eval_suite']} items also appear in the "
                f"training rows{hint}; pass --allow-overlap to build it anyway"
            )
        extra["leakage"] = report
    if not rows:
        raise DataError(f"{spec.name}: no rows to write")
    notes = []
    if spec.demo == "cot" and not config.teacher:
        notes.append(NOTES["cot-solver"])
    if config.teacher:
        notes.append(NOTES["teacher"])
    if config.paper_seeds:
        notes.append(extra["leakage"]["note"])
    with staged_dir(out, force) as tmp:
        stem = spec.split
        write_jsonl(tmp / f"{stem}.jsonl", rows)
        write_parquet(tmp / f"{stem}.parquet", rows)
        seconds = round(time.perf_counter() - start, 3)
        manifest = write_manifest(tmp, config.to_dict(), counts={"rows": len(rows), **counts}, notes=notes,
                                  build_seconds=seconds, **extra)
    return BuildResult(out, len(rows), seconds, manifest)


def build_preset(name: str, out: str | Path, *, force: bool = False, progress: bool = True, **settings) -> Path:
    """Build preset `name` into `out` and return the folder. Same arguments give byte-identical data files.

    `settings` are BuildConfig's (seed, n, teacher, paper_seeds, allow_overlap, options; None takes the default);
    `options` overrides the preset's knobs (e.g. {"dead_ends": 4}); see sftlab.data.presets.OPTION_TYPES.
    """
    config = BuildConfig(name, **{key: value for key, value in settings.items() if value is not None})
    return build(config, out, force=force, progress=progress).path


def _make_rows(config: BuildConfig, progress: bool) -> tuple[list[dict], dict, dict]:
    spec = config.spec
    if spec.kind == "eval":
        rows = suite_rows(spec.name, n=config.size, seed=config.seed or None, progress=progress)
        return rows, {"per_split": _per_split(rows)}, {}
    if spec.kind == "pairs":
        demos = dataclasses.replace(config, preset=demonstration_preset(spec.name))
        rows, counts, extra = _make_rows(demos, progress)
        pairs, pair_counts = pair_rows(spec.task, rows, config.seed)
        return pairs, {**counts, **pair_counts}, extra
    keys = set() if config.paper_seeds else set(eval_keys(spec.task))
    data = require(get_task(spec.task), TrainingData)
    rows, counts = data.train_rows(config, keys, progress, not config.paper_seeds)
    extra: dict = {}
    if config.teacher:
        rows, stats = teacher_rows(rows, teacher_config_from_options(config.teacher, config.options, config.seed),
                                   progress=progress, options=config.options)
        extra["teacher"] = stats
    return rows, counts, extra


def _per_split(rows: list[dict]) -> dict:
    out: dict[str, int] = {}
    for row in rows:
        out[row["split"]] = out.get(row["split"], 0) + 1
    return out


def _verify(task: str, rows: list[dict]) -> dict:
    """Re-verify every completion (a pair's chosen one) with the task's verifier; return counts (the arms' error
    rates included)."""
    with_completion = [r if "completion" in r else {**r, "completion": r["chosen"]}
                       for r in rows if "completion" in r or "chosen" in r]
    verify_row = require(get_task(task), TrainingData).verify_row if with_completion else None
    passed = sum(1 for r in with_completion if verify_row(r))
    checked = len(with_completion)
    return {"checked": checked, "correct": passed, "correct_fraction": round(passed / checked, 6) if checked else None}


def load_rows(dir_or_preset: str | Path, split: str = "train") -> list[dict]:
    """The rows of `split` ("train" or "test") of a built folder, or of a preset built on demand into the cache.

    The file must be listed in the folder's manifest with the same sha256 (an edited or partial file is a
    DataError). A preset name builds once into `<cache>/data/<preset>-seed0` (deterministic, so the cache is safe).
    """
    path = Path(dir_or_preset)
    if not path.is_dir():
        name = str(dir_or_preset)
        if name not in PRESETS:
            raise DataError(f"{name} is neither a data folder nor a preset (see `sftlab data list`)")
        path = _cache_root() / f"{name}-seed0-v{__version__}"
        if not (path / "manifest.json").is_file():
            with output_lock(path, wait=True):  # a concurrent loader builds it once; we wait and reuse it
                if not (path / "manifest.json").is_file():
                    build_preset(name, path, force=True, progress=False)
    manifest = read_data_manifest(path)
    fname = f"{split}.jsonl"
    entry = manifest["files"].get(fname)
    if entry is None:
        have = sorted(f[: -len(".jsonl")] for f in manifest["files"] if f.endswith(".jsonl"))
        raise DataError(f"{path} has no {split} split (it has: {', '.join(have) or 'none'})")
    file = path / fname
    if not file.is_file() or sha256_file(file) != entry["sha256"]:
        raise DataError(f"{file} does not match its manifest (changed or incomplete); rebuild it with --force")
    return check_rows(read_jsonl(file), file)


def _cache_root() -> Path:
    return Path(cache_dir()) / "data"
