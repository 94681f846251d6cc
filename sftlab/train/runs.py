"""Reading run folders (see docs/contracts.md): run.json and the complete checkpoints; and writing run.json.

```
RUN/run.json                   kind, base_model, data, config, status, sftlab_version, plan
RUN/checkpoints/checkpoint-N/  a loadable HF model folder (LoRA: adapter folder), COMPLETE written last
RUN/logs/log_history.jsonl     one JSON object per logging step
```
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from sftlab.errors import DataError
from sftlab.io import atomic_write_json, process_rank, read_jsonl

RUN_JSON = "run.json"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
LOG_HISTORY = "log_history.jsonl"
COMPLETE = "COMPLETE"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def read_run(run: str | os.PathLike) -> dict:
    """The run's `run.json` as a dict; a folder without one is a DataError."""
    path = Path(run) / RUN_JSON
    if not path.is_file():
        raise DataError(f"{run} is not a run folder (no {RUN_JSON})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg})") from None
    except (UnicodeDecodeError, RecursionError):
        raise DataError(f"{path} is not a readable JSON file") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} holds a {type(data).__name__}, not a run record; restore it or train again with "
                        "--force")
    return data


def complete_checkpoints(run: str | os.PathLike) -> list[tuple[int, Path]]:
    """`(step, folder)` of every checkpoint with a COMPLETE marker, sorted by step (no base entry)."""
    folder = Path(run) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = _CHECKPOINT.match(child.name)
        if match and child.is_dir() and (child / COMPLETE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def list_checkpoints(run: str | os.PathLike) -> list[tuple[int, str]]:
    """`[(0, base_model_name_or_path), (N1, path1), ...]` sorted by step; only complete checkpoints are listed.

    Step 0 is the base model the run started from (not copied into the run), named as the user gave it, so
    `sftlab.models.load` accepts every entry.
    """
    info = read_run(run)
    base = info.get("base_model")
    if not base:
        raise DataError(f"{Path(run) / RUN_JSON} names no base_model")
    return [(0, str(base))] + [(step, str(path)) for step, path in complete_checkpoints(run)]


def read_log_history(run: str | os.PathLike) -> list[dict]:
    """The training log of a run, one dict per logging step (empty if nothing was logged yet)."""
    path = Path(run) / LOGS / LOG_HISTORY
    return read_jsonl(path) if path.is_file() else []


def write_run_json(run: Path, info: dict) -> None:
    """Atomically (re)write RUN/run.json."""
    atomic_write_json(run / RUN_JSON, info)


def update_run_json(run: Path, **fields) -> None:
    """Merge `fields` into RUN/run.json (main process only: global rank 0, the one that holds the run's lock)."""
    if process_rank() != 0:
        return
    info = read_run(run)
    info.update(fields)
    write_run_json(run, info)
