"""Settings declared once: a config dataclass field carries its help text, and the CLI options and spec keys are
derived from it, so adding a setting is one edit (the field).

    learning_rate: float = setting(1e-5, "Peak learning rate.", flag="--lr")

`flag` overrides the option name (default `--field-name`; booleans get `--x/--no-x`); `cli=False` / `spec=False`
keep a field off the command line / out of experiment specs, and `why` says why (a test checks that every field
has a flag and a spec key or a reason). `commas=True` turns a CLI value "a,b" into a tuple.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import MISSING, dataclass
from typing import Any

from sftlab.errors import check_number, check_seed


def setting(default: Any = MISSING, help: str = "", *, flag: str | None = None, cli: bool = True,  # noqa: A002
            spec: bool = True, why: str = "", commas: bool = False, choices: tuple[str, ...] = (),
            low: float | None = None, high: float | None = None, factory: Any = MISSING) -> Any:
    """A dataclass field with the metadata the CLI and the spec parser read (see the module docstring);
    `choices` lists the allowed values of a string setting (the spec parser checks them); `low` / `high` bound
    a numeric setting (`check_numbers` enforces them, and finiteness for every numeric setting, and the spec
    parser reports a value out of them at its key); `factory` makes a mutable default (e.g. `dict`)."""
    meta = {"help": help, "flag": flag, "cli": cli, "spec": spec, "why": why, "commas": commas, "choices": choices,
            "low": low, "high": high}
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Setting:
    """One declared setting: field name, CLI option, help, the Python type the CLI parses, default, where it goes."""

    name: str
    flag: str
    help: str
    kind: type
    default: Any
    cli: bool
    spec: bool
    why: str
    commas: bool
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


# An integer setting without a declared `high` stays below this (seeds: below numpy's 2**32, see check_seed): no
# step count, batch or token budget of a study comes near it, and past it torch and numpy counters overflow,
# failing hours into a run instead of at once.
INT_CEILING = 2**31 - 1


def check_numbers(config) -> None:
    """Raise ConfigError naming the first numeric setting of a config dataclass that is not a finite number
    within its declared `low` / `high` (NaN, infinity, 10**18 turns). Every config calls this first in its
    `__post_init__`, so flags, spec keys (and `sftlab run --dry-run`) and Python callers share one check."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        meta = f.metadata
        integer = _kind(f.type) is int and isinstance(value, int)
        high = meta.get("high")
        if high is None and integer and (f.name == "seed" or f.name.endswith("_seed")):
            check_seed(f.name, value)  # numpy's seed range, with the message every seed check gives
            continue
        if high is None and integer:
            high = INT_CEILING
        check_number(f.name, value, low=meta.get("low"), high=high, integer=integer)


def _kind(annotation: str) -> type:
    """The type a CLI option parses for a field annotation (a string under postponed evaluation, else the type: a
    plugin's options class may be declared without `from __future__ import annotations`)."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    for name, kind in (("bool", bool), ("int", int), ("float", float)):
        if text.split("|")[0].strip() == name:
            return kind
    return str


def settings_of(cls) -> list[Setting]:
    """The declared settings of a config dataclass, in field order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        kind = _kind(f.type)
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        if kind is bool and "/" not in flag:
            flag = f"{flag}/--no-{flag[2:]}"
        default = f.default if f.default is not MISSING else None
        if default is None:  # a training method's value of a shared field it leaves None (sftlab.train.config)
            default = getattr(cls, "DEFAULTS", {}).get(f.name)
        out.append(Setting(f.name, flag, meta.get("help", ""), kind, default, meta.get("cli", True),
                           meta.get("spec", True), meta.get("why", ""), meta.get("commas", False),
                           tuple(meta.get("choices", ())), meta.get("low"), meta.get("high")))
    return out


def cli_parameters(cls, exclude: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """Typer keyword parameters, one per CLI setting of `cls`: every default is None (= "not given", so a YAML value
    or the dataclass default applies); the help shows the dataclass default."""
    import typer

    params = []
    for s in settings_of(cls):
        if not s.cli or s.name in exclude:
            continue
        shown = "" if s.default in (None, "") or s.kind is bool and s.default is False else f" [{s.default}]"
        option = typer.Option(None, *s.flag.split(" "), help=(s.help + shown).strip(), show_default=False)
        annotation = typing.Optional[s.kind]  # noqa: UP045 - typer reads typing.Optional
        params.append(inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=annotation))
    return params


def given_values(cls, values: dict) -> dict:
    """The CLI values the user gave (None dropped), with comma lists split into tuples where declared."""
    commas = {s.name for s in settings_of(cls) if s.commas}
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if name in commas and isinstance(value, str):
            value = tuple(x.strip() for x in value.split(",") if x.strip())
        out[name] = value
    return out


def with_settings(cls, extra: list[inspect.Parameter], exclude: tuple[str, ...] = ()):
    """Decorate `fn(values: dict, **extra)` into a Typer command whose options are `extra` plus the CLI settings
    of `cls`; `values` receives the given settings (see `given_values`)."""
    names = [p.name for p in extra]

    def wrap(fn):
        def command(**kwargs):
            own = {k: kwargs.pop(k) for k in names}
            return fn(given_values(cls, kwargs), **own)

        command.__signature__ = inspect.Signature([*extra, *cli_parameters(cls, exclude)])
        command.__doc__ = fn.__doc__
        command.__name__ = fn.__name__
        return command

    return wrap


def spec_keys(cls, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The spec keys of `cls` (its spec settings, minus `exclude`)."""
    return tuple(s.name for s in settings_of(cls) if s.spec and s.name not in exclude)
