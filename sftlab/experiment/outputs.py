"""What a finished step wrote, recorded in its state file and checked again before the step is trusted as done.

A step is done only while its outputs are still there as it left them: `record_outputs` notes every file of its
output folder (size, plus the sha256 of files up to `HASHED_UP_TO` bytes: configs, manifests, run.json)
or, for an evaluation, how many rows each of its result keys has in the shared results store. `outputs_intact`
compares the same cheap facts again (a stat per file, a hash per small file, one SQL count), so a deleted run
folder, a truncated store or an edited manifest make the step run again instead of being skipped.

`digest` names a record in 16 hex digits: a step records the digests of its inputs when it finishes, and is
stale once an input was redone into something else (the report made before the other evaluations existed).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sftlab.store import FILENAME, UnreadableStore, count_rows

HASHED_UP_TO = 1 << 16  # larger files (weights, optimizer states) are checked by size only, to stay cheap


def _file_facts(path: Path) -> list:
    size = path.stat().st_size
    if size > HASHED_UP_TO:
        return [size, None]
    return [size, hashlib.sha256(path.read_bytes()).hexdigest()]


def _files(paths: dict[str, Path]) -> dict[str, list]:
    return {name: _file_facts(p) for name, p in sorted(paths.items()) if p.is_file()}


def _folder_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def record_outputs(kind: str, out: Path, result: dict) -> dict:
    """The facts that say the outputs of a finished step are intact; `out` is the step's output path and `result`
    what its runner returned (an evaluation's `result_keys`)."""
    out = Path(out)
    if kind == "eval":
        keys = list(result.get("result_keys") or [])
        try:
            counts = count_rows(out / FILENAME, keys)
        except UnreadableStore:
            counts = {}
        return {"store_rows": counts}
    if kind == "report":
        return {"files": _files({p.name: p for p in (out, out.with_suffix(".md"))})}
    if out.is_dir():
        return {"files": _files(_folder_files(out))}
    return {}


def outputs_intact(kind: str, out: Path, record: dict) -> bool:
    """True when everything `record` (from `record_outputs`) lists is still there with the same size and hash."""
    out = Path(out)
    if "store_rows" in record:
        wanted = record["store_rows"]
        if not wanted:
            return True
        try:
            return count_rows(out / FILENAME, list(wanted)) == wanted
        except UnreadableStore:
            return False
    files = record.get("files") or {}
    root = out.parent if kind == "report" else out
    for name, (size, sha) in files.items():
        path = root / name
        try:
            if path.stat().st_size != size:
                return False
        except OSError:
            return False
        if sha is not None and _file_facts(path)[1] != sha:
            return False
    return True


def digest(record: dict | None) -> str:
    """A short name for an outputs record (what a dependent step remembers of its input)."""
    blob = json.dumps(record or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
