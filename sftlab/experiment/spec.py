"""Experiment specs: a YAML file validated into frozen dataclasses before any compute.

A spec declares one study: the task, the models, the seeds, the conditions (prompts x demonstrations x method),
the training and evaluation settings and the baselines. Every mistake is reported with the file and the path of
the offending key, e.g. `experiments/x.yaml: conditions[1].demo: unknown value 'cott'; choose one of:
answer-only, cot`. See docs/experiments.md for the full schema.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftlab.data import PRESETS, BuildConfig
from sftlab.errors import SEED_LIMIT, ConfigError, ModelError, check_field_types, check_number, did_you_mean
from sftlab.evaluate.config import EvalConfig
from sftlab.models.resolve import check_name
from sftlab.settings import INT_CEILING, Setting, settings_of, spec_keys
from sftlab.task_adapters import (
    TrainingData,
    all_tasks,
    get_task,
    load_task_module,
    require,
    suites,
    task_of_suite,
)
from sftlab.task_adapters.options import check_keys, declared, names_of, without_others
from sftlab.train.methods import (
    DEFAULT_METHOD,
    DEMONSTRATIONS,
    ROW_KINDS,
    get_method,
    load_method_module,
    method_names,
    unknown_method_message,
)
from sftlab.yamlfile import read_yaml

# A spec's `task` is any registered task with training presets, by name or alias (sokoban, gp/general_points,
# countdown, the reasoning-gym tasks, plugins): see sftlab.task_adapters. A condition's `method` is any registered
# training method (sft, grpo, dpo, plugins): see sftlab.train.methods.
PROMPTS = ("fixed", "diverse")
BASELINES = ("base", "oracle", "random")
BACKENDS = ("hf", "vllm")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME = 100


class SpecError(ConfigError):
    """A spec mistake, reported as `FILE: PATH: message`."""


def _preset_demo(name: str) -> str | None:
    return PRESETS[name].demo


def _preset_kind(name: str) -> str:
    return PRESETS[name].kind


def known_presets() -> tuple[str, ...]:
    """Preset names the data stage can build (every registered task's)."""
    return tuple(PRESETS)


def known_suites() -> tuple[str, ...]:
    """Eval suite names (every registered task's)."""
    return tuple(suites())


# --- dataclasses -----------------------------------------------------------------------------------------------


MAX_PROCESSES = 4096  # a bound on cpus, gpus and training processes per step, so a typo fails at once

@dataclass(frozen=True)
class Resources:
    """What one step needs from the machine (Ray schedules on it; the local executor runs one step at a time)."""

    cpus: float = 1
    gpus: float = 0
    # Training processes of a train step. With more than one, the step runs `accelerate launch --num_processes
    # <processes>` of its own config: one process per GPU, or gloo CPU processes on a machine without GPUs.
    # None: one process, or one per GPU when gpus > 1.
    processes: int | None = None
    # The accelerate config file of that launch (e.g. configs/accelerate/fsdp.yaml; relative to where `sftlab
    # run` is started). None: plain data parallel.
    accelerate_config: str | None = None


# How every training set is built: BuildConfig's spec settings without the preset (which a condition names), as
# a frozen dataclass of the same fields and defaults, so a new build setting needs no edit here.
DataSettings = dataclasses.make_dataclass("DataSettings", [
    (f.name, f.type, field(default=f.default, default_factory=f.default_factory, metadata=f.metadata))
    for f in dataclasses.fields(BuildConfig) if f.metadata.get("spec", True)], frozen=True)
DataSettings.__module__ = __name__
DataSettings.__doc__ = "How every training set is built (BuildConfig's settings but the preset)."


@dataclass(frozen=True)
class Condition:
    """One arm of the study; its training set is `preset` (derived from task, prompts, demo and method)."""

    name: str
    method: str
    preset: str
    prompts: str | None = None
    demo: str | None = None
    data: DataSettings = field(default_factory=DataSettings)
    train: dict = field(default_factory=dict)  # overrides of the method's train settings, for this arm only


@dataclass(frozen=True)
class TrainSettings:
    """Training settings per method (`train.<method>`: keyword arguments of that method's config), plus resources."""

    methods: dict = field(default_factory=dict)  # method name -> its settings (only the methods the spec sets)
    resources: Resources = field(default_factory=lambda: Resources(cpus=1, gpus=0))

    def settings(self, method: str) -> dict:
        """The spec's settings of `method` (empty when it sets none)."""
        return self.methods.get(method, {})


@dataclass(frozen=True)
class EvalSettings:
    """Evaluation settings shared by every eval step (keyword arguments of EvalConfig, plus the plan's own)."""

    suites: tuple[str, ...]
    # Evaluate only these tags/splits: one list for every suite, or {suite: list} (None: whole suites).
    splits: tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    checkpoints: str | tuple[int, ...] = "all"
    baselines: tuple[str, ...] = BASELINES
    backend: str = "hf"
    options: dict = field(default_factory=dict)  # episodes, temperature, max_new_tokens, seed, max_turns, ...
    resources: Resources = field(default_factory=Resources)

    def splits_for(self, suite: str) -> tuple[str, ...] | None:
        """The splits evaluated on `suite` (None: all of them)."""
        if isinstance(self.splits, dict):
            return self.splits.get(suite)
        return self.splits


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment spec. `models` maps a short key (used in names) to a model name or path."""

    name: str
    task: str
    models: dict
    seeds: tuple[int, ...]
    conditions: tuple[Condition, ...]
    train: TrainSettings
    eval: EvalSettings
    report: bool = True
    description: str = ""
    hardware: str = ""
    measured: str = ""
    source: str = "<spec>"
    raw: dict = field(default_factory=dict, compare=False, repr=False)


# --- parsing ---------------------------------------------------------------------------------------------------


class _Ctx:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, message: str) -> SpecError:
        return SpecError(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping of keys ({', '.join(allowed)}), got {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(_join(path, str(key)), f"unknown key{did_you_mean(key, allowed)}; choose one of: "
                                                       f"{', '.join(allowed)}")
        for key in required:
            if key not in value:
                raise self.fail(_join(path, key), "is required")
        return value

    def choice(self, value: Any, path: str, allowed) -> str:
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(path, f"unknown value {value!r}; choose one of: {', '.join(map(str, allowed))}")
        return value

    def integer(self, value: Any, path: str, minimum: int | None = None, optional: bool = False,
                maximum: int | None = None) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer, got {_kind(value)}")
        return self._in_range(value, path, minimum, maximum, integer=True)

    def number(self, value: Any, path: str, minimum: float = 0, maximum: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {_kind(value)}")
        return self._in_range(value, path, minimum, maximum)

    def _in_range(self, value, path: str, minimum, maximum, integer: bool = False):
        try:
            check_number(path.rsplit(".", 1)[-1], value, low=minimum, high=maximum, integer=integer)
        except ConfigError as exc:
            raise self.fail(path, str(exc).split(" must ", 1)[-1].join(("must ", ""))) from None
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def text(self, value: Any, path: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {_kind(value)}")
        return value

    def name(self, value: Any, path: str) -> str:
        value = self.text(value, path)
        if not _NAME.match(value):
            raise self.fail(path, f"{value[:60]!r} is not a usable name (letters, digits, '.', '_', '-')")
        if len(value) > MAX_NAME:  # it names folders: keep it well under the file system's 255 bytes
            raise self.fail(path, f"is {len(value)} characters long; a name has at most {MAX_NAME}")
        return value

    def str_list(self, value: Any, path: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"expected a non-empty list, got {_kind(value)}")
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(value))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


_TOP_KEYS = ("name", "description", "hardware", "measured", "task", "task_module", "method_module", "models", "seeds",
             "data", "conditions", "train", "eval", "report")
_CONDITION_KEYS = ("name", "method", "prompts", "demo", "preset", "data", "train")
_DATA_KEYS = spec_keys(BuildConfig)
_RESOURCE_KEYS = ("cpus", "gpus", "processes", "accelerate_config")
# The plan's own eval keys; every other key is an EvalConfig setting declared spec=True (sftlab.settings), so a new
# evaluator setting is a spec key without an edit here.
_PLAN_EVAL_KEYS = ("suites", "splits", "checkpoints", "baselines", "backend", "resources", "episodes")


_INT_MINIMUM = {"seed": 0, "top_k": -1}  # integer settings whose floor is not 1 (where none is declared)


def _setting_value(ctx: _Ctx, item: Setting, raw: Any, where: str) -> Any:
    """A spec value of a declared config setting (sftlab.settings), checked by its declaration at its key: the
    type, the choices, and the floor; the config's own checks (ranges, relations) follow when it is built."""
    if item.kind is bool:
        return ctx.boolean(raw, where)
    if item.kind is int:
        floor = _INT_MINIMUM.get(item.name, 1) if item.low is None else item.low
        return ctx.integer(raw, where, minimum=floor, optional=True)
    if item.kind is float:
        return ctx.number(raw, where)
    if item.choices:
        return ctx.choice(raw, where, item.choices)
    if raw is None or isinstance(raw, str):
        return raw
    raise ctx.fail(where, f"expected a string, got {_kind(raw)}")


def eval_spec_keys() -> tuple[str, ...]:
    """Every key a spec's `eval` section takes: the plan's, the evaluator's and every task's eval options."""
    own = _PLAN_EVAL_KEYS + tuple(k for k in spec_keys(EvalConfig) if k not in _PLAN_EVAL_KEYS)
    return own + tuple(k for k, (item, _) in declared("eval").items() if item.spec and k not in own)


def _task_options(ctx: _Ctx, section: dict, path: str, kind: str, tasks) -> dict:
    """The task options (`kind`) a spec section sets, typed by their declarations; a key that none of `tasks`
    declares is refused at its path, naming the tasks that do."""
    table, out = declared(kind), {}
    for key in (k for k in section if k in table):
        try:
            check_keys([key], kind, tasks)
        except ConfigError as exc:
            raise ctx.fail(_join(path, key), str(exc)) from None
        out[key] = _setting_value(ctx, table[key][0], section[key], _join(path, key))
    return out


# Keys the plan fills in itself (a method config declares exactly these spec=False): a spec may not set them.
_MANAGED_TRAIN_KEYS = ("model", "data", "out", "seed", "force", "resume")


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a YAML spec; every mistake is a SpecError naming the file and the key's path."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no such spec file: {path}")
    try:
        raw = read_yaml(path)
    except ConfigError as exc:
        raise SpecError(str(exc)) from None
    return parse_spec(raw, source=str(path))


def parse_spec(raw: Any, source: str = "<spec>") -> ExperimentSpec:
    """Validate a spec given as plain data (the parsed YAML)."""
    ctx = _Ctx(source)
    top = ctx.mapping(raw, "", _TOP_KEYS, required=("name", "task", "models", "conditions"))
    name = ctx.name(top["name"], "name")
    if top.get("task_module") is not None:
        _load_module(ctx, "task_module", top["task_module"], load_task_module)
    if top.get("method_module") is not None:
        _load_module(ctx, "method_module", top["method_module"], load_method_module)
    task = _parse_task(ctx, top["task"])

    models = _parse_models(ctx, top["models"])
    seeds_raw = top.get("seeds", [1])
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        seeds_raw = [seeds_raw]
    if not isinstance(seeds_raw, list) or not seeds_raw:
        raise ctx.fail("seeds", f"expected a non-empty list of integers, got {_kind(seeds_raw)}")
    seeds = tuple(ctx.integer(s, f"seeds[{i}]", minimum=0, maximum=SEED_LIMIT - 1) for i, s in enumerate(seeds_raw))
    if len(set(seeds)) != len(seeds):
        raise ctx.fail("seeds", "lists the same seed twice")

    data_defaults = _parse_data(ctx, top.get("data"), "data", DataSettings())
    train = _parse_train(ctx, top.get("train"), task)
    conditions = _parse_conditions(ctx, top["conditions"], task, data_defaults, train)
    eval_settings = _parse_eval(ctx, top.get("eval"), task)
    report = ctx.boolean(top.get("report", True), "report")
    return ExperimentSpec(
        name=name, task=task, models=models, seeds=seeds, conditions=conditions, train=train,
        eval=eval_settings, report=report,
        description=ctx.text(top.get("description", ""), "description") or "",
        hardware=ctx.text(top.get("hardware", ""), "hardware") or "",
        measured=ctx.text(top.get("measured", ""), "measured") or "",
        source=source, raw=raw,
    )


def _parse_models(ctx: _Ctx, value: Any) -> dict:
    if isinstance(value, str):
        value = [value]
    models: dict[str, str] = {}
    if isinstance(value, list) and value:
        for i, item in enumerate(value):
            model = ctx.text(item, f"models[{i}]")
            key = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(model).name if "/" in model else model).strip("-")
            if not key:
                raise ctx.fail(f"models[{i}]", f"cannot derive a short name from {model!r}; use a mapping")
            if key in models:
                raise ctx.fail(f"models[{i}]", f"two models share the short name {key!r}; use a mapping")
            models[key] = _check_model(ctx, f"models[{i}]", model)
    elif isinstance(value, dict) and value:
        for key, model in value.items():
            ctx.name(key, f"models.{key}")
            models[key] = _check_model(ctx, f"models.{key}", ctx.text(model, f"models.{key}"))
    else:
        raise ctx.fail("models", f"expected a list of model names or a mapping short-name: model, got {_kind(value)}")
    return models


def _check_model(ctx: _Ctx, path: str, model: str) -> str:
    """`model` when it names a known model, an existing model folder or a hub id, else the error, now."""
    try:
        check_name(model)
    except ModelError as exc:
        raise ctx.fail(path, str(exc)) from None
    return model


def _parse_data(ctx: _Ctx, value: Any, path: str, base: DataSettings) -> DataSettings:
    data = ctx.mapping(value, path, _DATA_KEYS)
    kwargs = {item.name: _setting_value(ctx, item, data[item.name], _join(path, item.name))
              for item in settings_of(BuildConfig) if item.name in data and item.name != "options"}
    if "options" in data:
        options = data["options"] or {}
        if not isinstance(options, dict):
            raise ctx.fail(_join(path, "options"), f"expected a mapping of preset options, got {_kind(options)}")
        kwargs["options"] = {**base.options, **options}
    return dataclasses.replace(base, **kwargs)


def _check_build(ctx: _Ctx, path: str, preset: str, data: DataSettings) -> None:
    """Let the data stage validate the build settings, so bad values fail now."""
    try:
        BuildConfig(preset=preset, **dataclasses.asdict(data))
    except ConfigError as exc:
        raise ctx.fail(path, str(exc)) from None


def _parse_resources(ctx: _Ctx, value: Any, path: str, base: Resources) -> Resources:
    res = ctx.mapping(value, path, _RESOURCE_KEYS)
    kwargs = {}
    for key in ("cpus", "gpus"):
        if key in res:
            kwargs[key] = ctx.number(res[key], _join(path, key), maximum=MAX_PROCESSES)
    if "processes" in res:
        kwargs["processes"] = ctx.integer(res["processes"], _join(path, "processes"), minimum=1, optional=True,
                                          maximum=MAX_PROCESSES)
    if "accelerate_config" in res:
        kwargs["accelerate_config"] = ctx.text(res["accelerate_config"], _join(path, "accelerate_config"),
                                               optional=True)
    out = dataclasses.replace(base, **kwargs)
    if out.processes and out.processes > 1 and 0 < out.gpus < out.processes:
        raise ctx.fail(_join(path, "processes"), f"{out.processes} processes need {out.processes} GPUs (one per "
                                                 f"process), got gpus {out.gpus:g}")
    return out


def _check_train_overrides(ctx: _Ctx, value: Any, path: str, method: str, task: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a mapping of {method} settings, got {_kind(value)}")
    config = get_method(method).config
    fields = tuple(f.name for f in dataclasses.fields(config))
    kind, holder = config.task_options if hasattr(config, "task_options") else (None, None)
    options = _task_options(ctx, value, path, kind, [get_task(task)]) if kind else {}
    # the fields declared spec=False (sftlab.settings) are the plan's to set, but the one holding the task options
    # (each given by its own name)
    managed = tuple(s.name for s in settings_of(config) if not s.spec and s.name != holder)
    fields = tuple(f for f in fields if f != holder)
    for key in value:
        if key in managed:
            raise ctx.fail(_join(path, str(key)), "is set by the plan (from models, seeds and the condition); "
                                                  "remove it")
        if key not in fields and key not in options:
            allowed = [*(f for f in fields if f not in managed), *(names_of(get_task(task), kind) if kind else ())]
            raise ctx.fail(_join(path, str(key)), f"unknown {method} setting{did_you_mean(key, allowed)}; choose "
                                                  f"one of: {', '.join(allowed)}")
    try:  # let the method check the values too (placeholders for what the plan fills in)
        check_field_types(config, {k: v for k, v in value.items() if k not in options}, method)
        config(model="model", data="data", out="out", **value)
    except ConfigError as exc:
        raise ctx.fail(path, str(exc)) from None
    except TypeError as exc:
        raise ctx.fail(path, f"invalid {method} settings: {exc}") from None
    return dict(value)


def _parse_train(ctx: _Ctx, value: Any, task: str) -> TrainSettings:
    methods = method_names()
    for key in value if isinstance(value, dict) else ():
        if key not in methods and key != "resources":
            raise ctx.fail(f"train.{key}", f"{unknown_method_message(key)} (or resources)")
    train = ctx.mapping(value, "train", (*methods, "resources"))
    return TrainSettings(
        methods={m: _check_train_overrides(ctx, train[m], f"train.{m}", m, task) for m in methods if m in train},
        resources=_parse_resources(ctx, train.get("resources"), "train.resources", Resources(cpus=1, gpus=0)),
    )


def derive_preset(task: str, method: str, prompts: str | None, demo: str | None) -> str:
    """The data preset of a condition: e.g. sokoban + diverse + cot + sft -> `sokoban-diverse-cot`."""
    return require(get_task(task), TrainingData).derive_preset(get_method(method).rows, prompts, demo)


def _training_tasks() -> list:
    return [t for t in all_tasks() if isinstance(t, TrainingData) and any(p.kind in ROW_KINDS for p in t.presets())]


def _parse_task(ctx: _Ctx, value: Any) -> str:
    """The canonical name of the spec's task (an alias such as `gp` is accepted)."""
    try:
        adapter = get_task(value) if isinstance(value, str) else None
    except ConfigError:
        adapter = None
    if adapter is not None:
        try:
            require(adapter, TrainingData)  # a known task without training data: say so, not "unknown"
        except ConfigError as exc:
            raise ctx.fail("task", str(exc)) from None
    if adapter is None or adapter not in _training_tasks():
        shown = ", ".join(t.prefix for t in _training_tasks())
        raise ctx.fail("task", f"unknown value {value!r}; choose one of: {shown}")
    return adapter.name


def _load_module(ctx: _Ctx, key: str, value: Any, load) -> None:
    """Load the plugin file a spec's `task_module` / `method_module` names (relative to the spec)."""
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(key, f"expected the path of a Python file, got {_kind(value)}")
    path = Path(value).expanduser()
    if not path.is_absolute() and ctx.source not in ("<spec>", ""):
        path = Path(ctx.source).parent / path
    try:
        load(path)
    except ConfigError as exc:
        raise ctx.fail(key, str(exc)) from None


def _demos(task: str) -> tuple[str, ...]:
    adapter = require(get_task(task), TrainingData)
    return adapter.spec_demos or tuple(dict.fromkeys(p.demo for p in adapter.presets() if p.kind == DEMONSTRATIONS))


def _parse_method(ctx: _Ctx, value: Any, path: str) -> str:
    if not isinstance(value, str) or value not in method_names():
        raise ctx.fail(path, unknown_method_message(value))
    return value


def _parse_conditions(ctx: _Ctx, value: Any, task: str, data_defaults: DataSettings,
                      train: TrainSettings) -> tuple[Condition, ...]:
    if not isinstance(value, list) or not value:
        raise ctx.fail("conditions", f"expected a non-empty list of conditions, got {_kind(value)}")
    presets = known_presets()
    conditions = []
    seen = set()
    for i, item in enumerate(value):
        path = f"conditions[{i}]"
        cond = ctx.mapping(item, path, _CONDITION_KEYS, required=("name",))
        name = ctx.name(cond["name"], f"{path}.name")
        if name in seen or name in BASELINES:
            why = "is used twice" if name in seen else "is reserved for a baseline"
            raise ctx.fail(f"{path}.name", f"{name!r} {why}; give each condition its own name")
        seen.add(name)
        method = _parse_method(ctx, cond.get("method", DEFAULT_METHOD), f"{path}.method")
        rows = get_method(method).rows
        prompts = cond.get("prompts")
        demo = cond.get("demo")
        if prompts is not None:
            ctx.choice(prompts, f"{path}.prompts", PROMPTS)
            if prompts == "diverse" and not require(get_task(task), TrainingData).diverse_prompts:
                raise ctx.fail(f"{path}.prompts", f"{task} has no diverse-prompt sets; use fixed or leave it out")
        if demo is not None:
            ctx.choice(demo, f"{path}.demo", _demos(task))
            if not get_method(method).uses_demonstrations:
                raise ctx.fail(f"{path}.demo", f"{method} learns from rewards, not demonstrations; remove demo")
        data = _parse_data(ctx, cond.get("data"), f"{path}.data", data_defaults)
        if "preset" in cond:
            preset = ctx.choice(cond["preset"], f"{path}.preset", presets)
            if demo is not None or prompts is not None:
                raise ctx.fail(f"{path}.preset", "give either preset or prompts/demo, not both")
        else:
            if get_method(method).uses_demonstrations and demo is None:
                raise ctx.fail(f"{path}.demo", f"is required for {method}; choose one of: {', '.join(_demos(task))}")
            preset = derive_preset(task, method, prompts or "fixed", demo)
            if preset not in presets:
                raise ctx.fail(path, f"no data preset {preset!r} for this combination; "
                                     f"choose a preset explicitly: {', '.join(presets)}")
        if preset.endswith("-eval"):
            raise ctx.fail(f"{path}.preset", f"{preset!r} is an eval suite, not a training set")
        if _preset_kind(preset) != rows:
            raise ctx.fail(f"{path}.preset", f"{method} needs {ROW_KINDS[rows]}, got {preset!r}")
        if preset in presets and _preset_demo(preset) == "teacher" and not data.teacher:
            raise ctx.fail(f"{path}.demo", "'teacher' needs a teacher model: set data.teacher")
        _check_build(ctx, f"{path}.data" if "data" in cond else "data", preset, data)
        overrides = _check_train_overrides(ctx, cond.get("train"), f"{path}.train", method, task)
        conditions.append(Condition(name=name, method=method, preset=preset, prompts=prompts, demo=demo,
                                    data=data, train=overrides))
    return tuple(conditions)


def _parse_eval(ctx: _Ctx, value: Any, task: str) -> EvalSettings:
    ev = ctx.mapping(value, "eval", eval_spec_keys())
    suites = ctx.str_list(ev.get("suites", [get_task(task).default_suite()]), "eval.suites")
    known = known_suites()
    for i, suite in enumerate(suites):
        ctx.choice(suite, f"eval.suites[{i}]", known)
    splits = ev.get("splits")
    if isinstance(splits, dict):
        for key in splits:
            ctx.choice(key, "eval.splits", suites)
        splits = {suite: ctx.str_list(names, f"eval.splits.{suite}") for suite, names in splits.items()}
    elif splits is not None:
        splits = ctx.str_list(splits, "eval.splits")
    checkpoints = ev.get("checkpoints", "all")
    if isinstance(checkpoints, list):
        if not checkpoints:
            raise ctx.fail("eval.checkpoints", "is an empty list, which evaluates no checkpoint; list steps, or "
                                               "write all or last")
        checkpoints = tuple(ctx.integer(c, f"eval.checkpoints[{i}]", minimum=0, maximum=INT_CEILING)
                            for i, c in enumerate(checkpoints))
    else:
        ctx.choice(checkpoints, "eval.checkpoints", ("all", "last"))
    baselines_raw = ev.get("baselines", list(BASELINES))
    baselines = tuple(ctx.choice(b, f"eval.baselines[{i}]", BASELINES)
                      for i, b in enumerate(baselines_raw or []))
    backend = ctx.choice(ev.get("backend", "hf"), "eval.backend", BACKENDS)
    options = {}
    if isinstance(ev.get("episodes"), dict):  # per suite: {suite: n}
        for key in ev["episodes"]:
            ctx.choice(key, "eval.episodes", suites)
        options["episodes"] = {suite: ctx.integer(n, f"eval.episodes.{suite}", minimum=1)
                               for suite, n in ev["episodes"].items()}
    if "episodes" in ev and "episodes" not in options:
        options["episodes"] = ctx.integer(ev["episodes"], "eval.episodes", minimum=1, optional=True)
    for item in settings_of(EvalConfig):  # the evaluator's own settings, typed by their declarations
        if item.name in _PLAN_EVAL_KEYS or not item.spec or item.name not in ev:
            continue
        options[item.name] = _setting_value(ctx, item, ev[item.name], f"eval.{item.name}")
    # the tasks' own eval options: each suite's task takes its own, and one no suite's task declares is refused
    options.update(_task_options(ctx, ev, "eval", "eval", list(dict.fromkeys(task_of_suite(s) for s in suites))))
    resources = _parse_resources(ctx, ev.get("resources"), "eval.resources", Resources())
    if resources.processes is not None:
        raise ctx.fail("eval.resources.processes", "only training runs several processes; remove it")
    fields = (*(f.name for f in dataclasses.fields(EvalConfig)), *declared("eval"))
    wanted = [k for k in options if k not in fields]  # settings the evaluator does not take fail now, not mid-run
    if wanted:
        raise ctx.fail(f"eval.{wanted[0]}", "is not supported by this sftlab version's evaluator")
    settings = EvalSettings(suites=suites, splits=splits, checkpoints=checkpoints, baselines=baselines,
                            backend=backend, options=options, resources=resources)
    _check_eval_configs(ctx, settings)
    return settings


def _check_eval_configs(ctx: _Ctx, ev: EvalSettings) -> None:
    """Let the evaluator validate every suite's settings now (splits, episode limits ...), not when a step runs."""
    for suite in ev.suites:
        options = dict(ev.options)
        if isinstance(options.get("episodes"), dict):
            options["episodes"] = options["episodes"].get(suite)
        options = without_others(task_of_suite(suite), "eval", options)
        try:
            EvalConfig(model="model", suite=suite, backend=ev.backend, splits=ev.splits_for(suite), **options)
        except ConfigError as exc:
            raise ctx.fail("eval", str(exc)) from None
