"""Task-owned settings across the registry: which task declares which option, and the checks every entry point
(CLI flags, `--option KEY=VALUE`, spec keys, YAML configs, Python callers) shares.

A task declares its eval options and its reward options as `TaskOptions` dataclasses (`Task.eval_options`,
`Rewards.reward_options` for a task with the Rewards capability); the shared configs hold none of them.
`EvalConfig.options` is the suite's task's eval options object; `GrpoConfig.reward_options` maps each given reward
option to its value, and every row's task gets its own reward options object from it (`options_for`). A key no
task of the run declares is refused in one line naming the tasks that do, or the nearest declared name.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from typing import Any

from sftlab.errors import ConfigError, check_field_types, did_you_mean
from sftlab.settings import Setting, cli_parameters, settings_of
from sftlab.task_adapters import Rewards, all_tasks
from sftlab.task_adapters.base import NoOptions, Task, TaskOptions

KINDS = ("eval", "reward")
OPTION_FLAG = "option"  # the parameter name of the repeatable `--option KEY=VALUE`


def option_class(task: Task, kind: str) -> type[TaskOptions]:
    """The TaskOptions class of `task`'s `kind` ("eval" | "reward") options (a task without Rewards: none)."""
    if kind == "eval":
        return task.eval_options
    return task.reward_options if isinstance(task, Rewards) else NoOptions


def names_of(task: Task, kind: str) -> tuple[str, ...]:
    """The option names `task` declares of `kind`."""
    return tuple(s.name for s in settings_of(option_class(task, kind)))


def declared(kind: str) -> dict[str, tuple[Setting, tuple[Task, ...]]]:
    """Every option of `kind` any registered task declares: name -> (its declaration, the tasks declaring it)."""
    out: dict[str, tuple[Setting, tuple[Task, ...]]] = {}
    for task in all_tasks():
        for item in settings_of(option_class(task, kind)):
            first, owners = out.get(item.name, (item, ()))
            out[item.name] = (first, (*owners, task))
    return out


def check_keys(keys, kind: str, tasks=None) -> None:
    """Refuse a key that none of `tasks` (None: any registered task) declares as a `kind` option: one line naming
    the tasks that do declare it, or, for a name no task declares, the nearest declared name ("did you mean")."""
    table = declared(kind)
    mine = list(table) if tasks is None else [n for t in tasks for n in names_of(t, kind)]
    these = "any task" if tasks is None else ", ".join(t.name for t in tasks)
    for key in keys:
        if key in mine:
            continue
        if key in table:
            article = "an" if kind[0] in "aeiou" else "a"
            raise ConfigError(f"{key} is {article} {kind} option of {', '.join(t.name for t in table[key][1])}, "
                              f"not of {these}")
        hint = did_you_mean(key, mine or table)
        raise ConfigError(f"unknown {kind} option {key!r}{hint}; the {kind} options of {these}: "
                          f"{', '.join(mine) or 'none'}")


def pick(task: Task, kind: str, values: Mapping) -> dict:
    """The entries of `values` that `task` declares as `kind` options."""
    names = names_of(task, kind)
    return {k: v for k, v in values.items() if k in names}


def options_for(task: Task, kind: str, given=None) -> TaskOptions:
    """`task`'s `kind` options object from `given`: None (its defaults), an instance of its class, or a mapping
    key -> value. A key the task does not declare is refused (`check_keys`); a value of the wrong type or out of
    its declared range or choices is a ConfigError naming the key."""
    cls = option_class(task, kind)
    if given is None:
        return cls()
    if isinstance(given, cls):
        return given
    if dataclasses.is_dataclass(given) and not isinstance(given, type):
        given = dataclasses.asdict(given)
    if not isinstance(given, Mapping):
        raise ConfigError(f"{task.name} {kind} options must be a mapping of option: value, got {given!r}")
    check_keys(given, kind, [task])
    check_field_types(cls, dict(given), f"{task.name} {kind}")
    return cls(**given)


def check_values(kind: str, values: Mapping, tasks=None) -> dict:
    """`values` (option -> value) checked for `tasks` (None: every registered task): each key declared by one of
    them, each value valid for every one of them declaring it. Returns them as a plain dict."""
    check_keys(values, kind, tasks)
    for task in all_tasks() if tasks is None else tasks:
        options_for(task, kind, pick(task, kind, values))
    return dict(values)


def takes_task_options(kind: str, field: str):
    """Class decorator of a config dataclass whose `field` holds task options of `kind`: its constructor also
    takes each declared option by its own name (`GrpoConfig(..., sokoban_reward="strict")`, as before tasks owned
    their settings), gathered into `field`, and reading an option's name off the config gives its value."""
    def wrap(cls):
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):  # noqa: N807
            init(self, *args, **gather_options(cls, kwargs))

        def __getattr__(self, name: str) -> Any:  # noqa: N807 - only called for names that are not attributes
            if name.startswith("_") or name not in declared(kind):
                raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
            given = getattr(self, field)
            if isinstance(given, TaskOptions):
                return getattr(given, name)
            return given[name] if name in given else declared(kind)[name][0].default

        cls.__init__, cls.__getattr__ = __init__, __getattr__
        cls.task_options = (kind, field)
        return cls
    return wrap


def gather_options(cls, values: Mapping) -> dict:
    """`values` (keyword arguments of `cls`, a `takes_task_options` config) with each declared task option moved
    into the options field. Another unknown key is left for the caller's own message, unless it is close to a
    declared option's name: that is a ConfigError asking "did you mean"."""
    kind, field = cls.task_options
    fields = [f.name for f in dataclasses.fields(cls)]
    table = declared(kind)
    extra = {k: v for k, v in values.items() if k not in fields and k in table}
    for key in (k for k in values if k not in fields and k not in table):
        hint = did_you_mean(key, table)
        if hint:
            raise ConfigError(f"unknown {kind} option {key!r}{hint}")
    if not extra:
        return dict(values)
    kept = {k: v for k, v in values.items() if k not in extra}
    given = kept.get(field) or {}
    if isinstance(given, TaskOptions):
        given = dataclasses.asdict(given)
    return {**kept, field: {**given, **extra}}


def without_others(task: Task, kind: str, values: Mapping) -> dict:
    """`values` without the `kind` options that other tasks declare and `task` does not: a spec's eval options apply
    to all its suites, and each suite's task takes its own."""
    mine = names_of(task, kind)
    table = declared(kind)
    return {k: v for k, v in values.items() if k not in table or k in mine}


# --- the CLI ----------------------------------------------------------------------------------------------------


def option_parameters(kind: str, taken=()) -> list[inspect.Parameter]:
    """Typer options for the `kind` options of the tasks registered now: one flag per declared name (derived from
    its declaration, e.g. `--gp-arithmetic`; names in `taken` are left to the command), and a repeatable
    `--option KEY=VALUE` that reaches any task's option, a plugin's loaded by --task-module too."""
    import typer  # the CLI's library, as in sftlab.settings.cli_parameters

    params, seen = [], set(taken)
    for task in all_tasks():
        for param in cli_parameters(option_class(task, kind)):
            if param.name not in seen:
                seen.add(param.name)
                params.append(param)
    option = typer.Option(None, "--option", "-o", help=f"A task's {kind} option KEY=VALUE (repeatable), e.g. one a "
                          "plugin task declares.")
    params.append(inspect.Parameter(OPTION_FLAG, inspect.Parameter.KEYWORD_ONLY, default=option,
                                    annotation=list[str]))
    return params


def given_options(kind: str, flags: dict) -> dict:
    """The options a command line gave: the derived flags that were set, and each `--option KEY=VALUE` typed by
    the declaration of KEY (a key no task declares is refused, with "did you mean")."""
    out = {k: v for k, v in flags.items() if k != OPTION_FLAG and v is not None}
    table = declared(kind)
    for text in flags.get(OPTION_FLAG) or ():
        key, sep, raw = str(text).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"--option takes KEY=VALUE, got {text!r}")
        check_keys([key], kind)
        out[key] = _typed(table[key][0], raw.strip())
    return out


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _typed(item: Setting, raw: str) -> Any:
    """A `--option` value as its declaration's type."""
    try:
        if item.kind is bool:
            return _BOOLEANS[raw.lower()]
        return item.kind(raw)
    except (KeyError, ValueError):
        words = {bool: "true or false", int: "an integer", float: "a number"}
        raise ConfigError(f"option {item.name} must be {words[item.kind]}, got {raw!r}") from None
