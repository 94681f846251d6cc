"""The only exceptions a user should ever see.

Every user mistake (a config typo, a missing file, an unknown name) raises a subclass of `SftlabError` with one
sentence that says what is wrong and what is allowed. The CLI prints it as `error: <sentence>` and exits 2.
"""


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
