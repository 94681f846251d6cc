"""Files that are never half-written: atomic writes, staged output folders, JSONL, manifests.

Every output folder sftlab writes has a `manifest.json` with the full config, the package version, row counts and
a sha256 per file. Manifests hold no timestamps, so the same config and seed give byte-identical folders.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sftlab import __version__
from sftlab.errors import DataError, environment_error

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
    """Yield the objects of a JSONL file one by one, skipping blank lines; a `.gz` file is read through gzip."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    with (gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")) as fh:
        for number, raw in enumerate(_lines(fh, path), start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{number}: not UTF-8 text (byte {exc.start} of the line)") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise DataError(f"{path}:{number}: nested too deeply to be a data row") from None
            yield row


def _lines(fh, path: Path) -> Iterator[bytes]:
    try:
        yield from fh
    except (OSError, EOFError) as exc:  # a damaged gzip stream
        raise DataError(f"{path}: unreadable ({exc})") from None


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


def check_output_path(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                      flag: str = "--out", replaces: bool = True) -> Path:
    """Refuse (one-line DataError) an output path that would destroy what the command reads or stands in: one that
    is, contains or sits inside any of `inputs` (the data a training reads, the model it starts from), and, for a
    command that `replaces` its output as a whole, one that is or contains the current folder or is a results
    store. Returns `out` as a Path.
    """
    out = Path(out)
    where = out.resolve()
    here = Path.cwd().resolve()
    if replaces and (where == here or where in here.parents):
        raise DataError(f"{flag} {out} is or contains the current folder; choose a new folder for the output")
    for item in inputs:
        if item is None or not Path(item).exists():
            continue
        source = Path(item).resolve()
        if where == source or where in source.parents or source in where.parents:
            relation = "is" if where == source else "contains" if where in source.parents else "is inside"
            raise DataError(f"{flag} {out} {relation} the input {item}; choose an output path apart from the inputs")
    if replaces and is_results_store(where):
        raise DataError(f"{flag} {out} is a results store; choose another path (the store is never overwritten)")
    return out


def is_results_store(path: str | os.PathLike) -> bool:
    """True for an SQLite file (a results store) or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.sqlite"
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# --- one writer per output folder -------------------------------------------------------------------------------
# An output folder `DIR/NAME` is guarded by an flock on `DIR/.NAME.lock`. The lock file is removed on release; a
# process that locked a file which was removed meanwhile notices (the path no longer names its inode) and retries.
# While a process holds the lock, no other live sftlab process writes `DIR/.NAME.*.partial` or `.NAME.old-PID`,
# so such leftovers are a killed writer's debris and are removed.
_HELD: dict[Path, list] = {}  # lock file -> [fd, depth] for the locks this process holds (re-entrant)


def process_rank() -> int:
    """This process's global rank in a distributed launch (`accelerate launch`, torchrun, MPI); 0 when alone."""
    for name in ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "LOCAL_RANK"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def takes_output_locks() -> bool:
    """True on the one process of a launch that locks output folders (rank 0), so ranks never refuse each other."""
    return process_rank() == 0


def lock_file(out: str | os.PathLike) -> Path:
    """The lock file that guards the output folder `out`: a hidden sibling, `.NAME.lock`."""
    out = Path(os.path.abspath(out))
    return Path(os.path.realpath(out.parent)) / f".{out.name}.lock"  # one lock whichever linked path names it


def acquire_output(out: str | os.PathLike, *, wait: bool = False, leader_only: bool = False) -> bool:
    """Take the exclusive inter-process lock on output folder `out`; return whether a lock was taken.

    Another process holding it is a one-line DataError (or, with `wait`, this blocks until it is free). The same
    process may take it again (re-entrant; release as often). With `leader_only`, only rank 0 of a distributed
    launch locks (the other ranks get False). Once held, a killed writer's `.NAME.*.partial` / `.NAME.old-PID`
    leftovers beside `out` are removed. Where fcntl is missing (Windows) nothing is locked.
    """
    if leader_only and not takes_output_locks():
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    path = lock_file(out)
    held = _HELD.get(path)
    if held is not None:
        held[1] += 1
        return True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise DataError(
                    f"{out} is being written by another sftlab process{_holder(path)}; wait for it to finish or "
                    "choose another --out"
                ) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder removed this file while we waited for it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        raise environment_error(exc) or DataError(f"cannot write into {path.parent}: {exc.strerror or exc}") from None
    _HELD[path] = [fd, 1]
    _remove_stale_siblings(Path(os.path.abspath(out)))
    return True


def release_output(out: str | os.PathLike) -> None:
    """Release one `acquire_output(out)`; the last release removes the lock file. Not holding it is a no-op."""
    path = lock_file(out)
    held = _HELD.get(path)
    if held is None:
        return
    held[1] -= 1
    if held[1] > 0:
        return
    del _HELD[path]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # before closing: whoever locks the old file next sees it is gone and retries
    os.close(held[0])


@contextlib.contextmanager
def output_lock(out: str | os.PathLike, *, wait: bool = False, leader_only: bool = False) -> Iterator[None]:
    """Hold `acquire_output(out, ...)` for the `with` block (see there)."""
    taken = acquire_output(out, wait=wait, leader_only=leader_only)
    try:
        yield
    finally:
        if taken:
            release_output(out)


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        return f" (pid {int(path.read_text().strip())})"
    return ""


def _remove_stale_siblings(out: Path) -> None:
    # mkdtemp's random part is 8 characters of [a-z0-9_], so `.run.v2.abcd1234.partial` never matches "run"
    debris = re.compile(rf"^\.{re.escape(out.name)}\.([a-z0-9_]{{8}}\.partial|old-\d+)$")
    with contextlib.suppress(OSError):
        for child in out.parent.iterdir():
            if debris.match(child.name):
                _remove(child)


def _remove(path: Path) -> None:
    """Delete a file, link or folder tree; errors are ignored (best-effort cleanup)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike, force: bool = False,
               inputs: Iterable[str | os.PathLike | None] = ()) -> Iterator[Path]:
    """Yield a temp folder beside `out`; on success it replaces `out` in one rename, on failure it is removed.

    A partial output is therefore never left looking complete. An existing `out` is kept unless `force`. The
    output lock is held throughout, so a second writer of `out` is refused instead of silently replacing it.
    `out` may not be the current folder, a results store or overlap `inputs` (see `check_output_path`).
    """
    check_output_path(out, inputs)
    with output_lock(out):
        out = ensure_writable(out, force)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if out.exists() or out.is_symlink():
            trash = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, trash)
            os.replace(tmp, out)
            _remove(trash)
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
