"""The task registry: one `Task` adapter per task, found by name, alias, preset or suite.

Built-in tasks: sokoban, general_points (alias gp), countdown, crossdomain, safety, and the reasoning-gym training
tasks (`rg_<dataset>`). User tasks come from

- a Python entry point in the group `sftlab.tasks` (an installed package; the object is a Task instance, a Task
  subclass, or a list of them), or
- a file: `sftlab --task-module my_task.py ...` (every verb), the spec key `task_module`, or the environment
  variable SFTLAB_TASK_MODULES (paths separated by os.pathsep). The file defines `TASK` (or `TASKS`), or calls
  `register()` itself. Loaded files are added to SFTLAB_TASK_MODULES so that worker processes see them too.

A task has the core (`Task`) and the capabilities it opts into (`TrainingData`, `Rewards`, `ReferencePolicies`,
`VerlExport`); code that needs one asks `require(task, Capability)`. See docs/adding-a-task.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from sftlab.errors import ConfigError
from sftlab.plugins import entry_point_objects, load_file, unload_file
from sftlab.task_adapters.base import (
    MAX_RESPONSE_CHARS,
    NoOptions,
    Preset,
    RewardResult,
    SplitMetric,
    Suite,
    Task,
    TaskOptions,
    Verdict,
)
from sftlab.task_adapters.capabilities import (
    CAPABILITIES,
    ReferencePolicies,
    Rewards,
    TrainingData,
    VerlExport,
    capabilities_of,
    require,
)
from sftlab.task_adapters.guard import call_plugin, guard, is_plugin, plugin_label
from sftlab.task_adapters.rows import make_row

ENTRY_POINT_GROUP = "sftlab.tasks"
ENV_VAR = "SFTLAB_TASK_MODULES"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_tasks: dict[str, Task] = {}
_aliases: dict[str, str] = {}
_loaded_files: dict[str, list[str]] = {}  # resolved path -> names of the tasks it registered
_state = {"builtins": False, "version": 0}


def _builtins() -> list[Task]:
    from sftlab.task_adapters.countdown import CountdownTask
    from sftlab.task_adapters.crossdomain import CrossdomainTask, SafetyTask
    from sftlab.task_adapters.general_points import GeneralPointsTask
    from sftlab.task_adapters.reasoning_gym import builtin_tasks
    from sftlab.task_adapters.sokoban import SokobanTask

    return [SokobanTask(), GeneralPointsTask(), CountdownTask(), CrossdomainTask(), SafetyTask(), *builtin_tasks()]


def _ensure() -> None:
    if _state["builtins"]:
        return
    _state["builtins"] = True
    for task in _builtins():
        register(task)
    _load_entry_points()
    for path in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        load_task_module(path)


def _normal(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def register(task: Task | type[Task], *, replace: bool = False) -> Task:
    """Add a task to the registry and return it; a clash of names, aliases, presets or suites is a ConfigError."""
    _ensure()
    if isinstance(task, type) and issubclass(task, Task):
        task = call_plugin(plugin_label(task), "__init__", task) if is_plugin(task) else task()
    if not isinstance(task, Task):
        raise ConfigError(f"a registered task must be a sftlab.task_adapters.Task, got {type(task).__name__}")
    if is_plugin(task) and not getattr(task, "_sftlab_guarded", False):
        guard(task)  # its failures become one line naming it and the method
        object.__setattr__(task, "_sftlab_guarded", True)
    if not _NAME.match(task.name or ""):
        raise ConfigError(f"task name {task.name!r} must be lower-case letters, digits and _, starting with a letter")
    if task.name in _tasks and _tasks[task.name] is task:
        return task
    if not replace:
        for name in (task.name, *task.aliases):
            owner = _tasks.get(name) or _tasks.get(_aliases.get(_normal(name), ""))
            if owner is not None:
                raise ConfigError(f"task name {name!r} of {type(task).__name__} is already taken by task {owner.name}")
        taken_presets, taken_suites = presets(), suites()
        for preset in _presets_of(task):
            if preset.name in taken_presets:
                raise ConfigError(f"preset {preset.name!r} of task {task.name} already exists")
            if preset.task != task.name:
                raise ConfigError(f"preset {preset.name!r} of task {task.name} names task {preset.task!r}")
            _check_preset_capabilities(task, preset)
        for suite in task.suites():
            if suite.name in taken_suites:
                raise ConfigError(f"eval suite {suite.name!r} of task {task.name} already exists")
    _tasks[task.name] = task
    for alias in task.aliases:
        _aliases[_normal(alias)] = task.name
    _state["version"] += 1
    return task


def _presets_of(task: Task) -> list[Preset]:
    """Every preset of `task`: its `presets()` and, with TrainingData, its preference-pair presets."""
    return [*task.presets(), *(task.pair_presets() if isinstance(task, TrainingData) else ())]


def _check_preset_capabilities(task: Task, preset: Preset) -> None:
    """A training preset needs TrainingData (its rows), an RL one Rewards too (its reward): one line otherwise."""
    needs = {"sft": (TrainingData,), "pairs": (TrainingData,), "rl": (TrainingData, Rewards)}.get(preset.kind, ())
    for capability in needs:
        if not isinstance(task, capability):
            raise ConfigError(f"task {task.name} declares the {preset.kind} preset {preset.name!r} but does not opt "
                              f"into {capability.__name__} (see docs/adding-a-task.md)")


def unregister(name: str) -> None:
    """Remove a task (tests and interactive sessions)."""
    task = _tasks.pop(name, None)
    if task is not None:
        for alias in task.aliases:
            _aliases.pop(_normal(alias), None)
        _state["version"] += 1


def unload_task_module(path: str | os.PathLike) -> None:
    """Forget a loaded task file: unregister its tasks and drop it from SFTLAB_TASK_MODULES (tests, notebooks)."""
    unload_file(path, loaded=_loaded_files, unregister=unregister, env_var=ENV_VAR)


def get_task(name: str) -> Task:
    """The task called `name` (or one of its aliases); an unknown name is a ConfigError listing the tasks."""
    _ensure()
    if name in _tasks:
        return _tasks[name]
    key = _normal(name)
    if key in _tasks:
        return _tasks[key]
    if key in _aliases:
        return _tasks[_aliases[key]]
    raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(_tasks)}")


def find_task(label: str) -> Task | None:
    """The task a free-form label names (a row's task, a verl data_source prefix such as `gp_l_...`), or None."""
    _ensure()
    try:
        return get_task(label)
    except ConfigError:
        pass
    key = _normal(label)
    for task in sorted(_tasks.values(), key=lambda t: -max(len(p) for p in (t.data_source_prefixes or (t.name,)))):
        if task.matches_loose(key):
            return task
    return None


def all_tasks() -> list[Task]:
    """Every registered task, built-ins first, in registration order."""
    _ensure()
    return list(_tasks.values())


def reward_task_names() -> tuple[str, ...]:
    """The tasks with the Rewards capability: the ones whose rewards TRL and verl train on."""
    return tuple(t.name for t in all_tasks() if isinstance(t, Rewards))


def canonical(name: str) -> str:
    """The canonical name of a task name or alias (e.g. `gp` -> `general_points`)."""
    return get_task(name).name


_cache: dict[str, tuple[int, dict]] = {}


def _cached(kind: str, build) -> dict:
    _ensure()
    hit = _cache.get(kind)
    if hit is None or hit[0] != _state["version"]:
        hit = (_state["version"], build())
        _cache[kind] = hit
    return hit[1]


def presets() -> dict[str, Preset]:
    """Every preset of every registered task, by name."""
    return _cached("presets", lambda: {p.name: p for t in _tasks.values() for p in _presets_of(t)})


def suites() -> dict[str, Suite]:
    """Every eval suite of every registered task, by name."""
    return _cached("suites", lambda: {s.name: s for t in _tasks.values() for s in t.suites()})


def task_of_suite(suite: str) -> Task:
    """The task that owns eval suite `suite`; an unknown suite is a ConfigError listing the suites."""
    owners = _cached("suite_task", lambda: {s.name: t for t in _tasks.values() for s in t.suites()})
    if suite not in owners:
        raise ConfigError(f"unknown eval suite {suite!r}; choose one of: {', '.join(owners)}")
    return owners[suite]


class LiveView(Mapping):
    """A read-only mapping recomputed from the registry, so plugins registered later appear in it."""

    def __init__(self, build):
        self._build = build

    def __getitem__(self, key):
        return self._build()[key]

    def __iter__(self) -> Iterator:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def __repr__(self) -> str:
        return repr(dict(self._build()))


# --- plugins ------------------------------------------------------------------------------------------------------
def _register_from(obj, origin: str) -> list[Task]:
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    out = []
    for item in items:
        if not (isinstance(item, Task) or (isinstance(item, type) and issubclass(item, Task))):
            raise ConfigError(f"{origin} provides {item!r}, which is not a sftlab Task")
        out.append(register(item))
    return out


def _load_entry_points() -> None:
    for name, obj in entry_point_objects(ENTRY_POINT_GROUP, "task"):
        _register_from(obj, f"entry point {name!r}")


def load_task_module(path: str | os.PathLike) -> list[Task]:
    """Import a task file and register what it defines (`TASK`, `TASKS`, or its own register() calls).

    Loading the same file twice is a no-op. The path is added to SFTLAB_TASK_MODULES for child processes.
    """
    _ensure()
    names = load_file(path, what="task", names=("TASKS", "TASK"), example="MyTask()", registry=_tasks,
                      loaded=_loaded_files, env_var=ENV_VAR, register_found=_register_from)
    return [_tasks[name] for name in names]


__all__ = [
    "CAPABILITIES", "ENTRY_POINT_GROUP", "MAX_RESPONSE_CHARS", "LiveView", "NoOptions", "Preset", "ReferencePolicies",
    "RewardResult", "Rewards", "SplitMetric", "Suite", "Task", "TaskOptions", "TrainingData", "Verdict", "VerlExport",
    "all_tasks", "capabilities_of", "make_row", "canonical", "find_task", "get_task", "load_task_module", "presets",
    "register", "require", "reward_task_names", "suites", "task_of_suite", "unload_task_module", "unregister",
]
