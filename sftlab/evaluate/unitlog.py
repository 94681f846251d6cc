"""The resumable log of an evaluation's finished units (EVAL/partial/...)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from sftlab.io import atomic_write_text


class UnitLog:
    """An append-only JSONL of finished units; a torn last line (from a kill) is dropped on load."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict]:
        """Finished units by id; rewrites the file without a torn or malformed tail."""
        if not self.path.is_file():
            return {}
        units, good = {}, []
        for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                unit = json.loads(line)
            except json.JSONDecodeError:
                break
            units[unit["id"]] = unit
            good.append(line)
        atomic_write_text(self.path, "".join(good))
        return units

    def append(self, unit: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(unit, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def remove(self) -> None:
        """Delete the log and the folders it leaves empty (up to and including `partial/`)."""
        self.path.unlink(missing_ok=True)
        for folder in list(self.path.parents)[:3]:
            try:
                folder.rmdir()
            except OSError:  # not empty (another checkpoint or suite in progress) or already gone
                break


def _safe(name: str) -> str:
    """A folder name for a run or checkpoint name: the name itself when it is safe, else a cleaned form plus a
    short hash of the name, so two names never share a folder (`x y` and `x/y` both clean to `x__y`)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "__", name).strip("_") or "model"
    if cleaned == name and not name.startswith("."):
        return name
    return f"{cleaned[:80]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
