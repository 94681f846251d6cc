"""Content fingerprints of model folders, memoised on disk (EVAL/fingerprints.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sftlab.io import atomic_write_text, sha256_file
from sftlab.models import resolve
from sftlab.models.resolve import adapter_base, is_adapter_dir

_SKIP_FILES = {"optimizer.pt", "scheduler.pt", "trainer_state.json", "training_args.bin", "COMPLETE", "README.md"}


class FingerprintCache:
    """sha256 of a model folder's weight, config and tokenizer files, memoised by (path, size, mtime_ns).

    Hashing is exact (a copied or moved checkpoint is recognised as the same content) and paid once per file: a
    rerun only stats the files. Training-state files (optimizer, scheduler, trainer state) are left out.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._cache = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, json.JSONDecodeError):
            self._cache = {}
        self._dirty = False

    def of_model(self, name) -> str:
        """A fingerprint for a model name, folder or hub id (hub ids: the id itself; they are not hashed)."""
        location = resolve(name)
        folder = Path(location)
        if not folder.is_dir():
            return f"hub:{location}"
        digest = hashlib.sha256()
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and self._counts(p, folder)):
            digest.update(f"{file.relative_to(folder).as_posix()}\0{self._file_sha(file)}\n".encode())
        if is_adapter_dir(folder):
            digest.update(f"base\0{self.of_model(adapter_base(folder))}\n".encode())
        self.save()
        return "sha256:" + digest.hexdigest()

    @staticmethod
    def _counts(path: Path, root: Path) -> bool:
        parts = path.relative_to(root).parts
        name = path.name
        return not (any(p.startswith(".") for p in parts) or name in _SKIP_FILES or name.startswith("rng_state"))

    def _file_sha(self, path: Path) -> str:
        stat = path.stat()
        key = str(path.resolve())
        entry = self._cache.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        sha = sha256_file(path)
        self._cache[key] = [stat.st_size, stat.st_mtime_ns, sha]
        self._dirty = True
        return sha

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self.path, json.dumps(self._cache, sort_keys=True) + "\n")
            self._dirty = False
