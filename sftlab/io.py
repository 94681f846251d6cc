"""Files that are never half-written: atomic writes, staged output folders, JSONL, manifests.

Every output folder sftlab writes has a `manifest.json` with the full config, the package version, row counts and
a sha256 per file. Manifests hold no timestamps, so the same config and seed give byte-identical folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sftlab import __version__
from sftlab.errors import DataError

MANIFEST = "manifest.json"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same folder and a rename: readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """Canonical JSON for files: sorted keys, 2-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write `obj` as canonical JSON."""
    return atomic_write_text(path, dumps_json(obj))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Atomically write one JSON object per line (keys in the given order); return the row count."""
    lines = [json.dumps(row, ensure_ascii=False, default=_json_default) for row in rows]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSONL file; a missing file or a malformed line is a DataError naming the line."""
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the objects of a JSONL file one by one, skipping blank lines."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_writable(out: str | os.PathLike, force: bool) -> Path:
    """Fail with a DataError if `out` exists and is not empty, unless `force`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise DataError(f"{out} already exists; pass --force to overwrite it")
    return out


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temp folder beside `out`; on success it replaces `out` in one rename, on failure it is removed.

    A partial output is therefore never left looking complete. An existing `out` is kept unless `force`.
    """
    out = ensure_writable(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        trash = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, trash)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def count_rows(path: Path) -> int | None:
    """Rows in a JSONL or parquet file, else None."""
    if path.suffix == ".jsonl":
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def write_manifest(folder: str | os.PathLike, config: dict, **extra: Any) -> dict:
    """Write `folder/manifest.json`: config, sftlab version, and per file its sha256 and row count."""
    folder = Path(folder)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        entry = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        rows = count_rows(path)
        if rows is not None:
            entry["rows"] = rows
        files[path.relative_to(folder).as_posix()] = entry
    manifest = {"sftlab_version": __version__, "config": config, "files": files, **extra}
    atomic_write_json(folder / MANIFEST, manifest)
    return manifest


def read_manifest(folder: str | os.PathLike) -> dict:
    """Read `folder/manifest.json`; a folder without one is a DataError."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{folder} has no {MANIFEST}; is it an sftlab output folder?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg})") from None
