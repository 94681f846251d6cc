"""Find what a report can show below a folder, read it without writing anything, and say what is missing.

A report folder can be a single run, an eval folder or a whole experiment: result stores (`results.sqlite`) and
run folders (`run.json`) are found anywhere below it. Stores are opened read-only (a report never creates,
migrates or locks a store). Every problem becomes a `notice` (one sentence shown in the report) instead of an
exception, so the report renders what it can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sftlab import __version__
from sftlab.store import COLUMNS, FILENAME, SCHEMA_VERSION, Result, UnreadableStore, read_snapshot

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


SKIPPED_FOLDERS = frozenset({"superseded"})  # an experiment's outputs of steps whose inputs changed


def _visible(path: Path, root: Path) -> bool:
    # Skip hidden and staged (partial) folders (`.x.partial`, `.x.old-123`, `.git`) and stale outputs.
    parts = path.relative_to(root).parts
    return not any(part.startswith(".") or part in SKIPPED_FOLDERS for part in parts[:-1]) and not parts[-1].startswith(".")


def find_files(root: str | Path, name: str) -> list[Path]:
    """Files called `name` anywhere below `root` (or `root` itself), hidden folders skipped, sorted."""
    root = Path(root)
    if root.is_file():
        return [root] if root.name == name else []
    return sorted(p for p in root.rglob(name) if p.is_file() and _visible(p, root))


def read_store(path: str | Path) -> tuple[list[Result], list[str]]:
    """All rows of one results store, read-only, and notices about it (other schema/version, unreadable)."""
    path = Path(path)
    notices: list[str] = []
    try:
        snapshot = read_snapshot(path)
    except UnreadableStore as exc:
        return [], [f"{path}: not a readable results store ({exc}); its results are left out."]
    schema = snapshot.meta.get("schema_version")
    if schema != str(SCHEMA_VERSION):
        notices.append(
            f"{path}: results store schema version {schema}, but this sftlab ({__version__}) reads version "
            f"{SCHEMA_VERSION}; its numbers are shown only where the columns match."
        )
    elif snapshot.meta.get("sftlab_version") not in (None, __version__):
        notices.append(f"{path}: written by sftlab {snapshot.meta.get('sftlab_version')}, read by sftlab {__version__}.")
    if snapshot.rows is None:
        missing = ", ".join(sorted(set(COLUMNS) - set(snapshot.columns)))
        notices.append(f"{path}: the results table lacks columns {missing}; its results are left out.")
        return [], notices
    return snapshot.rows, notices


def merge_results(groups: Iterable[list[Result]]) -> list[Result]:
    """Concatenate rows of several stores, keeping the first row per (key, split, metric)."""
    seen: set[tuple] = set()
    merged = []
    for rows in groups:
        for r in rows:
            ident = (r.key, r.split, r.metric)
            if ident not in seen:
                seen.add(ident)
                merged.append(r)
    return merged


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint folder of a run."""

    step: int
    name: str
    path: Path


@dataclass
class RunInfo:
    """A run folder: its run.json, complete checkpoints (sorted by step) and training log rows."""

    path: Path
    name: str
    meta: dict
    checkpoints: list[Checkpoint] = field(default_factory=list)
    log_history: list[dict] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def base_model(self) -> str | None:
        """run.json's base_model (a name or a path), if any."""
        return self.meta.get("base_model")

    @property
    def kind(self) -> str:
        """The training method that made the run (run.json `kind`: sft, grpo, dpo, ...), or "?" when it does not
        say."""
        return str(self.meta.get("kind", "?"))


def list_checkpoints(run_dir: str | Path) -> list[Checkpoint]:
    """Complete `checkpoint-N` folders of a run (those with a COMPLETE marker), sorted by step."""
    folder = Path(run_dir) / "checkpoints"
    found = []
    if folder.is_dir():
        for child in folder.iterdir():
            match = _CHECKPOINT.match(child.name)
            if match and child.is_dir() and (child / "COMPLETE").exists():
                found.append(Checkpoint(int(match.group(1)), child.name, child))
    return sorted(found, key=lambda c: c.step)


def read_run(run_json: str | Path) -> RunInfo:
    """Read one run folder given its run.json; problems become notices on the returned RunInfo."""
    run_json = Path(run_json)
    folder = run_json.parent
    notices = []
    try:
        meta = json.loads(run_json.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        meta = {}
        notices.append(f"{run_json}: unreadable run.json ({exc}).")
    info = RunInfo(path=folder, name=str(meta.get("name") or folder.name), meta=meta, notices=notices)
    info.checkpoints = list_checkpoints(folder)
    log_path = folder / "logs" / "log_history.jsonl"
    if log_path.is_file():
        for number, line in enumerate(log_path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                info.notices.append(f"{log_path}:{number}: not valid JSON; line skipped.")
                continue
            if isinstance(row, dict):
                info.log_history.append(row)
    return info


def find_runs(root: str | Path) -> list[RunInfo]:
    """Every run folder (a folder with run.json) below `root`, sorted by name then path."""
    runs = [read_run(p) for p in find_files(root, "run.json")]
    return sorted(runs, key=lambda r: (r.name, str(r.path)))


def find_stores(root: str | Path) -> list[Path]:
    """Every results store below `root` (or `root` itself when it is a store file)."""
    return find_files(root, FILENAME)


@dataclass(frozen=True)
class SampleFile:
    """A per-sample JSONL file `samples/<run>/<checkpoint>/<suite>.jsonl` (or `.jsonl.gz`, as committed evidence
    keeps them)."""

    run: str
    checkpoint: str
    suite: str
    path: Path


def find_samples(root: str | Path) -> list[SampleFile]:
    """Per-sample record files below `root`, in the eval layout samples/<run>/<checkpoint>/<suite>.jsonl (or
    .jsonl.gz)."""
    root = Path(root)
    found = []
    paths = find_files(root, "*.jsonl") + find_files(root, "*.jsonl.gz") if root.is_dir() else []
    for path in paths:
        parts = path.parts
        if len(parts) >= 4 and parts[-4] == "samples":
            suite = path.name.removesuffix(".gz").removesuffix(".jsonl")
            found.append(SampleFile(run=parts[-3], checkpoint=parts[-2], suite=suite, path=path))
    return found
