"""The only exceptions a user should ever see.

Every user mistake (a config typo, a missing file, an unknown name) raises a subclass of `SftlabError` with one
sentence that says what is wrong and what is allowed. The CLI prints it as `error: <sentence>` and exits 2.
"""

import dataclasses
import math
import reprlib


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
    import types
    import typing

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
