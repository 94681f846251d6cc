"""The only exceptions a user should ever see.

Every user mistake (a config typo, a missing file, an unknown name) raises a subclass of `SftlabError` with one
sentence that says what is wrong and what is allowed. The CLI prints it as `error: <sentence>` and exits 2.
"""

import dataclasses
import difflib
import errno
import math
import os
import re
import reprlib
import types
import typing


class SftlabError(Exception):
    """A user-facing error: its message is one sentence a user understands."""


class ConfigError(SftlabError, ValueError):
    """A configuration value is invalid (unknown name, out of range, conflicting options)."""


class DataError(SftlabError):
    """A file or folder is missing, malformed or would be overwritten."""


class ModelError(SftlabError):
    """A model name or checkpoint cannot be resolved or loaded."""


def did_you_mean(value, choices) -> str:
    """` (did you mean X?)` for the choice closest to `value` (difflib), or "" when none is close."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def check_choice(name: str, value, allowed) -> None:
    """Raise ConfigError naming the allowed values unless `value` is one of `allowed`."""
    allowed = list(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {shown}")


def check_positive(name: str, value, integer: bool = False) -> None:
    """Raise ConfigError unless `value` is a positive integer (`integer`) or a positive finite number."""
    if integer:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")


def check_number(name: str, value, *, low=None, high=None, integer: bool = False) -> None:
    """Raise ConfigError unless `value` is a finite number (an integer when `integer`) within [low, high].

    NaN and infinity are refused by name: a `< 0` test lets NaN through (every comparison with NaN is false).
    """
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise ConfigError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        shown = {bound: f"{bound:g}" if isinstance(bound, float) else str(bound) for bound in (low, high)}
        span = (f"between {shown[low]} and {shown[high]}" if low is not None and high is not None
                else f">= {shown[low]}" if low is not None else f"<= {shown[high]}")
        raise ConfigError(f"{name} must be {span}, got {value!r}")


def config_from_mapping(cls, values: dict, label: str):
    """`cls(**values)` for a config dataclass; an unknown key or a missing one is a ConfigError naming it."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {label} config key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
    check_field_types(cls, values, label)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"incomplete {label} config: {exc}") from None


def check_field_types(cls, values: dict, label: str) -> None:
    """Raise ConfigError naming the field and the expected type when a value in `values` (YAML or flags for the
    config dataclass `cls`) does not fit the field's annotation, e.g. `learning_rate: "fast"`.

    int, float (an int is accepted), str, bool, None, tuple/list and dict are checked, the union of them too;
    other annotations are left to the dataclass. Only the outer type is checked: ranges stay the config's job.
    """
    hints = _field_hints(cls)
    for key, value in values.items():
        allowed = hints.get(key)
        if allowed and not any(_fits(value, kind) for kind in allowed):
            wanted = " or ".join(dict.fromkeys(_TYPE_WORDS[kind] for kind in allowed))
            shown = f"{type(value).__name__} {reprlib.repr(value)}"[:80]
            raise ConfigError(f"{label} config: {key} must be {wanted}, got {shown}")


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               type(None): "null (unset)", tuple: "a list", list: "a list", dict: "a mapping"}


def _field_hints(cls) -> dict[str, tuple[type, ...]]:
    """{field: the plain types its annotation allows}; fields with any other annotation are left out."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: leave the checking to the dataclass
        return {}
    out = {}
    for name, hint in hints.items():
        is_union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
        parts = typing.get_args(hint) if is_union else (hint,)
        kinds = tuple(typing.get_origin(p) or p for p in parts)
        if kinds and all(k in _TYPE_WORDS for k in kinds):
            out[name] = kinds
    return out


def _fits(value, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in (tuple, list):
        return isinstance(value, (tuple, list))
    return isinstance(value, kind)


# numpy's legacy seeding (np.random.seed, RandomState, which Sokoban and transformers' set_seed use) takes seeds
# below 2**32; every seed a user gives is checked against this once, before any work.
SEED_LIMIT = 2**32


def check_seed(name: str, value, limit: int = SEED_LIMIT, why: str = "") -> None:
    """Raise ConfigError unless `value` is an integer in [0, limit) (default: numpy's seed range).

    `why` (e.g. " for sokoban-answer-only, whose puzzle seeds ...") is added to the message.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise ConfigError(f"{name} must be a non-negative integer up to {limit - 1}{why}, got {value!r}")


# errno values that say "the file system refused", never "sftlab has a bug": a full or read-only disk, no
# permission, or a file standing where a folder is needed.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_REFUSED = {  # errno -> (verb, why)
    errno.EPERM: ("access", "permission denied"),
    errno.EACCES: ("access", "permission denied"),
    errno.EROFS: ("write", "read-only file system"),
    errno.EISDIR: ("write", "it is a folder, not a file"),
    errno.EEXIST: ("create", "a file stands where a folder is needed"),
    errno.ENOTDIR: ("create", "a file stands where a folder is needed"),
    errno.ENAMETOOLONG: ("create", "the name is too long for the file system"),
}


def _user_path(filename):
    """The path the user named for a staged path or its lock (`dir/.out.x1y2.partial`, `dir/.out.lock` -> `dir/out`)."""
    if filename is None:
        return None
    head, tail = os.path.split(os.fsdecode(filename))
    match = re.fullmatch(r"\.(.+)\.[^.]+\.(?:partial|tmp)|\.(.+)\.lock", tail)  # staged folder or its lock
    return os.path.join(head, match.group(1) or match.group(2)) if match else os.fsdecode(filename)


def disk_full_message(where) -> str:
    """The one message for running out of disk space while writing into `where`."""
    into = f" into {where}" if where else ""
    return (f"out of disk space while writing{into}; free some space and re-run the same command (finished work "
            "is kept, and a run resumes from its last complete checkpoint)")


def environment_error(exc: BaseException) -> SftlabError | None:
    """A one-line SftlabError for a file-system refusal (disk full, read-only, permission, file in the way), or None.

    Only these specific conditions are mapped, so a real bug still shows its traceback. Libraries that wrap an
    OSError (sqlite3, torch, safetensors) are recognised by their error code or their "No space left" text.
    """
    import sqlite3

    if isinstance(exc, OSError) and exc.errno is not None:
        where = _user_path(exc.filename)
        if exc.errno in _DISK_FULL:
            return DataError(disk_full_message(where))
        if exc.errno in _REFUSED:
            verb, why = _REFUSED[exc.errno]
            if exc.errno == errno.EEXIST and where is not None and os.path.isdir(where):
                why = "it already exists"
            return DataError(f"cannot {verb} {where or 'a file'}: {why}")
        return None
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL:
            return DataError(disk_full_message(None))
        if code == sqlite3.SQLITE_READONLY:
            return DataError(f"cannot write the results store: {exc}")
        return None
    if isinstance(exc, Exception) and "No space left on device" in str(exc):  # torch, safetensors, pyarrow wrap it
        return DataError(disk_full_message(None))
    return None
