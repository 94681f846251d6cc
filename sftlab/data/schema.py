"""Shape checks for what a data folder holds: its manifest and its rows (docs/contracts.md).

A folder edited by hand, written by another tool or by an older sftlab gets a DataError naming the file and what
is wrong, before a command indexes into it.
"""

from __future__ import annotations

from pathlib import Path

from sftlab.errors import DataError
from sftlab.io import MANIFEST, read_manifest
from sftlab.task_adapters import all_tasks

_ROW_KEYS = ("id", "task", "split", "variant", "seed", "prompt", "answer", "metadata")


def read_data_manifest(folder: str | Path) -> dict:
    """The manifest of a data folder, checked: a mapping whose `files` maps names to entries with a `sha256`."""
    try:
        manifest = read_manifest(folder)
    except RecursionError:
        raise DataError(f"{Path(folder) / MANIFEST} is nested too deeply to read") from None
    where = Path(folder) / MANIFEST
    if not isinstance(manifest, dict):
        raise DataError(f"{where} holds a {type(manifest).__name__}, not an sftlab manifest; rebuild the folder")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise DataError(f"{where} lists no files (no 'files' mapping); rebuild the folder")
    for name, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise DataError(f"{where}: the entry of {name} has no sha256; rebuild the folder")
    return manifest


def task_names() -> set[str]:
    """The names (and aliases) a row's `task` may hold."""
    return {name for task in all_tasks() for name in (task.name, *task.aliases)}


ROLES = ("system", "user", "assistant", "tool")  # the chat roles chat templates know


def _message_problem(value, what: str) -> str | None:
    if not isinstance(value, list) or not value:
        return f"{what} is not a non-empty list of messages"
    for message in value:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) \
                or not isinstance(message.get("role"), str):
            return f"{what} has a message without a text role and content"
        if message["role"] not in ROLES:
            return f"{what} has a message with role {message['role'][:40]!r}; roles are {', '.join(ROLES)}"
    return None


def row_problem(row) -> str | None:
    """What makes `row` not an sftlab row (docs/contracts.md), or None when it is one."""
    if not isinstance(row, dict):
        return f"a {type(row).__name__}, not a row object"
    missing = [k for k in _ROW_KEYS if k not in row]
    if missing:
        return f"no {', '.join(missing)}"
    for key in ("id", "task", "split", "variant"):
        if not isinstance(row[key], str):
            return f"{key} is not a string"
    if row["task"] not in task_names():  # any registered task, plugins included
        return f"unknown task {row['task']!r}"
    if not isinstance(row["metadata"], dict):
        return "metadata is not an object"
    problem = _message_problem(row["prompt"], "prompt")
    for key in ("completion", "chosen", "rejected"):
        if problem is None and key in row:
            problem = _message_problem(row[key], key)
    return problem


def check_rows(rows: list, path: str | Path) -> list[dict]:
    """`rows` unchanged when each is an sftlab row; else a DataError naming the file, the line and the problem."""
    for number, row in enumerate(rows, start=1):
        problem = row_problem(row)
        if problem:
            raise DataError(f"{path}: row {number} is not an sftlab row ({problem}); rebuild the folder")
    return rows
