"""The only exceptions a user should ever see.

Every user mistake (a config typo, a missing file, an unknown name) raises a subclass of `SftlabError` with one
sentence that says what is wrong and what is allowed. The CLI prints it as `error: <sentence>` and exits 2.
"""

import dataclasses
import math


class SftlabError(Exception):
    """A user-facing error: its message is one sentence a user understands."""


class ConfigError(SftlabError, ValueError):
    """A configuration value is invalid (unknown name, out of range, conflicting options)."""


class DataError(SftlabError):
    """A file or folder is missing, malformed or would be overwritten."""


class ModelError(SftlabError):
    """A model name or checkpoint cannot be resolved or loaded."""


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


def config_from_mapping(cls, values: dict, label: str):
    """`cls(**values)` for a config dataclass; an unknown key or a missing one is a ConfigError naming it."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {label} config key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"incomplete {label} config: {exc}") from None
