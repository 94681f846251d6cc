"""A plugin task fails in one line: its errors name the plugin and the method, and it cannot end the process.

`guard(task)` wraps every public method a plugin's Task class defines: an exception (or `sys.exit()`) inside it
becomes a `PluginError` "task plugin 'x' (MyTask in my_task.py): judge() failed: ValueError: ...", and the
result of the methods other code relies on is checked for its shape (rows with an `id`, a Verdict, a string),
so a wrong return value is named where it is made, not as a traceback three modules later.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable

from sftlab.errors import ConfigError
from sftlab.task_adapters.base import Preset, RewardResult, Suite, Task, Verdict
from sftlab.task_adapters.capabilities import CAPABILITIES
from sftlab.task_adapters.environment import Environment


class PluginError(ConfigError):
    """A plugin task raised, tried to exit, or returned something of the wrong shape."""


def _list_of(kind: type, what: str) -> Callable:
    def check(value) -> str | None:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, kind) for v in value)
        return None if ok else what
    return check


def _rows_with(*keys: str) -> Callable:
    def check(value) -> str | None:
        wanted = f"a list of row dicts, each with {' and '.join(repr(k) for k in keys)}"
        if not isinstance(value, list):
            return wanted
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                return f"{wanted} (row {i} is a {type(row).__name__})"
            missing = [k for k in keys if k not in row]
            if missing:
                return f"{wanted} (row {i} has no {missing[0]!r})"
        return None
    return check


def _train_rows(value) -> str | None:
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict)):
        return "a tuple (rows, info dict)"
    problem = _rows_with("id", "task")(value[0])
    return None if problem is None else f"(rows, info) with rows {problem[len('a '):]}"


def _instance(kind: type, what: str) -> Callable:
    return lambda value: None if isinstance(value, kind) else what


# The shape other code relies on, per method (the others are passed through unchecked).
RESULTS = {
    "presets": _list_of(Preset, "a list of Preset"),
    "suites": _list_of(Suite, "a list of Suite"),
    "split_order": _list_of(str, "a list of split names"),
    "suite_splits": _list_of(str, "a tuple of split names"),
    "suite_rows": _rows_with("id", "split"),
    "train_rows": _train_rows,
    "judge": _instance(Verdict, "a Verdict"),
    "reward": _instance(RewardResult, "a RewardResult"),
    "oracle_answer": _instance(str, "a string"),
    "random_answer": _instance(str, "a string"),
    "environment": _instance(Environment, "an Environment"),
    # a plugin's Environment (guarded as its task is)
    "messages": _list_of(dict, "a list of chat messages"),
    "step": _instance(dict, "a dict of the turn's verdict fields"),
    "summary": _instance(dict, "a dict"),
}


def plugin_label(task_or_class) -> str:
    """"'name' (ClassName in /path/file.py)": how errors name a plugin."""
    cls = task_or_class if isinstance(task_or_class, type) else type(task_or_class)
    module = sys.modules.get(cls.__module__)
    where = getattr(module, "__file__", None) or cls.__module__
    return f"{getattr(cls, 'name', '?')!r} ({cls.__name__} in {where})"


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def call_plugin(label: str, method: str, fn: Callable, *args, **kwargs):
    """`fn(*args, **kwargs)`, with its failure or its `sys.exit()` turned into a one-line PluginError."""
    try:
        return fn(*args, **kwargs)
    except PluginError:
        raise
    except SystemExit as exc:
        raise PluginError(f"task plugin {label}: {method}() tried to end the process (sys.exit({exc.code!r})); "
                          "a plugin must return or raise") from None
    except Exception as exc:
        raise PluginError(f"task plugin {label}: {method}() failed: {_one_line(exc)}") from None


def _guarded(label: str, name: str, method: Callable) -> Callable:
    check = RESULTS.get(name)

    @functools.wraps(method)
    def call(*args, **kwargs):
        value = call_plugin(label, name, method, *args, **kwargs)
        problem = check(value) if check is not None else None
        if problem is not None:
            shown = (f"{len(value)} items" if isinstance(value, (list, tuple)) else repr(value)[:60])
            raise PluginError(f"task plugin {label}: {name}() returned {type(value).__name__} {shown}; "
                              f"expected {problem}")
        if name == "environment" and is_plugin(value):
            _wrap(value, (Environment,), label)
        return value

    return call


def guard(task: Task) -> Task:
    """Wrap, on the instance, each public method the plugin's class defines or overrides (see the module doc);
    so is each method of the Environment its `environment()` returns."""
    return _wrap(task, (Task, *CAPABILITIES), plugin_label(task))


def _wrap(obj, bases: tuple[type, ...], label: str):
    for name, member in inspect.getmembers(type(obj), inspect.isfunction):
        if name.startswith("_") or any(getattr(base, name, None) is member for base in bases):
            continue
        object.__setattr__(obj, name, _guarded(label, name, getattr(obj, name)))
    return obj


def is_plugin(task_or_class) -> bool:
    """True for a task class that is not one of sftlab's own."""
    cls = task_or_class if isinstance(task_or_class, type) else type(task_or_class)
    return not cls.__module__.startswith("sftlab.")
