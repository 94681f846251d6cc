"""The dataset presets: one name per dataset condition of the papers, plus the eval suites.

A preset fixes the task, the kind of rows (SFT with a completion, RL without one, or an eval suite), the
demonstration format, whether prompts are diverse, the default size and the default knobs. `BuildConfig` is the
validated, frozen description of one build (preset + seed + size + flags + knob overrides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from sftlab.demos.answer_only import SOKOBAN_CONVERTERS
from sftlab.demos.solver_cot import BOARD_COPIES
from sftlab.errors import SEED_LIMIT, ConfigError, check_choice, check_field_types, check_seed
from sftlab.settings import check_numbers, setting
from sftlab.task_adapters import LiveView, Preset, TrainingData, all_tasks, get_task, require
from sftlab.task_adapters import presets as registry_presets
from sftlab.task_adapters.sokoban_rows import parse_action_spaces

# Every registered task's presets (sftlab.task_adapters); plugins registered later appear too.
PRESETS: Mapping[str, Preset] = LiveView(registry_presets)

# Knobs a build may override (`--option KEY=VALUE`), with their types and checks.
OPTION_TYPES: dict[str, type] = {
    "dead_ends": int,  # search CoT: dead-end branches explored (and abandoned) before the solution branch
    "style": str,  # lowq: "short" (terse) or "cot" (full search trace)
    "wrong_answer_fraction": float,  # lowq: fraction of rows whose final answer is wrong
    "wrong_step_fraction": float,  # lowq: fraction of rows with wrong intermediate steps (answer right)
    "corrupt_steps": float,  # lowq: share of the arithmetic steps of a corrupted row that are made wrong
    "teacher_samples": int,  # teacher: samples per prompt (n)
    "teacher_temperature": float,
    "teacher_top_p": float,
    "teacher_max_new_tokens": int,
    "teacher_batch_size": int,
    "gp_arithmetic": str,  # teacher (General Points): the filter's arithmetic, "exact" or "float" (the original's)
    "action_spaces": str,  # Sokoban diverse RL: random-words, or named spaces mixed like base+cardinal
    "answer_only_converter": str,  # Sokoban answer-only: the original converter's form, 778bcc4 or 077d4cf
    "cot_board": str,  # Sokoban solver CoT: "positions" (default), "rows", "indexed-rows" or "squares" (board copied)
}

MAX_N = 1_000_000


def get_preset(name: str) -> Preset:
    """The preset called `name`; an unknown name is a ConfigError listing the presets, or, for a name starting
    with the preset prefix of a task without training data, saying so."""
    if name not in PRESETS:
        for task in all_tasks():
            if str(name).startswith(f"{task.prefix}-"):
                require(task, TrainingData)
    check_choice("preset", name, PRESETS)
    return PRESETS[name]


def parse_options(pairs) -> dict:
    """Turn `KEY=VALUE` strings (or a mapping) into typed knob values; unknown keys are a ConfigError."""
    items = pairs.items() if isinstance(pairs, dict) else [_split_pair(p) for p in pairs or ()]
    out = {}
    for key, value in items:
        check_choice("option", key, OPTION_TYPES)
        kind = OPTION_TYPES[key]
        try:
            out[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"option {key} must be a {kind.__name__}, got {value!r}") from None
    return out


def _split_pair(text: str) -> tuple[str, str]:
    if "=" not in str(text):
        raise ConfigError(f"options are KEY=VALUE, got {text!r}")
    key, value = str(text).split("=", 1)
    return key.strip(), value.strip()


@dataclass(frozen=True)
class BuildConfig:
    """One build: a preset, the seed of every random choice, the size, the flags and the knob values.

    Each build setting is declared once here (sftlab.settings): `sftlab data build` takes its flags and a spec's
    `data:` section its keys from these fields, and both are checked by this class.
    """

    preset: str = setting(help="The preset to build (`sftlab data list`).", cli=False, spec=False,
                          why="the command's argument; a spec condition's preset (or prompts/demo/method)")
    n: int | None = setting(None, "Puzzles / hands / queries (eval suites: per tag or split); default: the "
                                  "preset's.", low=1, high=MAX_N)
    seed: int = setting(0, "Seed of every random choice (eval suites: base seed, 0 = the paper's).")
    teacher: str | None = setting(None, "Rejection-sample the CoT from this model.")
    paper_seeds: bool = setting(False, "Use the original's training seeds (42..), which replay eval items; needs "
                                       "--allow-overlap.")
    allow_overlap: bool = setting(False, "Build even if eval items appear in the training rows.")
    options: dict = setting(help="The preset's knob values, e.g. dead_ends: 4 (see OPTION_TYPES).", factory=dict,
                            cli=False, why="repeatable --option KEY=VALUE, typed by parse_options")

    def __post_init__(self) -> None:
        check_field_types(BuildConfig, {f.name: getattr(self, f.name) for f in fields(self)}, "build")
        check_numbers(self)
        preset = get_preset(self.preset)
        limit = get_task(preset.task).seed_limit(preset.kind, self.n or preset.default_n)
        why = "" if limit == SEED_LIMIT else f" for {preset.name} (its instance seeds must stay below numpy's 2**32)"
        check_seed("seed", self.seed, limit, why)
        if self.teacher is not None and preset.demo not in ("cot", "teacher"):
            raise ConfigError(
                f"--teacher only applies to CoT presets (*-cot, countdown-teacher), not to {preset.name}"
            )
        if preset.demo == "teacher" and not self.teacher:
            raise ConfigError(f"{preset.name} samples its CoT from a model: pass --teacher MODEL")
        if self.paper_seeds and preset.kind == "eval":
            raise ConfigError(
                "--paper-seeds changes training seeds only; the eval suites always use the paper's eval seeds"
            )
        task = get_task(preset.task)
        if self.paper_seeds and not (isinstance(task, TrainingData) and task.paper_seeds):
            with_seeds = " and ".join(t.label for t in _tasks_with_paper_seeds())
            raise ConfigError(f"--paper-seeds applies to {with_seeds}; {task.label} has no paper seeds")
        user = parse_options(self.options)
        allowed = _applicable(preset, bool(self.teacher))
        for key in user:
            if key not in allowed:
                shown = ", ".join(sorted(allowed)) or "none"
                raise ConfigError(f"option {key} does not apply to {preset.name} (options it takes: {shown})")
        opts = {**preset.default_options(), **user}
        if self.teacher:
            opts = {k: v for k, v in opts.items() if k != "dead_ends"}
            opts = {**(require(task, TrainingData).teacher_defaults or {}), **opts}
        _check_option_values(opts)
        object.__setattr__(self, "options", dict(sorted(opts.items())))

    @property
    def spec(self) -> Preset:
        return PRESETS[self.preset]

    @property
    def size(self) -> int:
        return self.n if self.n is not None else self.spec.default_n

    def to_dict(self) -> dict:
        """The config as written to the manifest."""
        return {
            "preset": self.preset, "task": self.spec.task, "kind": self.spec.kind, "demo": self.spec.demo,
            "diverse": self.spec.diverse, "seed": self.seed, "n": self.size, "teacher": self.teacher,
            "paper_seeds": self.paper_seeds, "allow_overlap": self.allow_overlap, "options": self.options,
        }


def _applicable(preset: Preset, teacher: bool) -> set[str]:
    if preset.kind == "eval":
        return set()
    task = require(get_task(preset.task), TrainingData)
    keys = set()
    if preset.demo == "lowq":
        keys |= {"style", "wrong_answer_fraction", "wrong_step_fraction", "corrupt_steps", "dead_ends"}
    if preset.demo == "cot" and not teacher:
        keys |= set(task.cot_options)
    if teacher:
        keys |= {k for k in OPTION_TYPES if k.startswith("teacher_")} | set(task.teacher_options)
    if preset.kind == "rl" and preset.diverse:
        keys |= set(task.rl_options)
    if preset.demo == "answer-only":
        keys |= set(task.answer_only_options)
    return keys


def _tasks_with_paper_seeds():
    return [t for t in all_tasks() if isinstance(t, TrainingData) and t.paper_seeds]


def _check_option_values(opts: dict) -> None:
    for key in ("wrong_answer_fraction", "wrong_step_fraction", "corrupt_steps", "teacher_top_p"):
        if key in opts and not 0.0 <= opts[key] <= 1.0:
            raise ConfigError(f"option {key} must be between 0 and 1, got {opts[key]}")
    if "wrong_answer_fraction" in opts and opts["wrong_answer_fraction"] + opts.get("wrong_step_fraction", 0) > 1:
        raise ConfigError("wrong_answer_fraction + wrong_step_fraction must not exceed 1")
    if "dead_ends" in opts and not 0 <= opts["dead_ends"] <= 50:
        raise ConfigError(f"option dead_ends must be between 0 and 50, got {opts['dead_ends']}")
    if "style" in opts:
        check_choice("lowq style", opts["style"], ("short", "cot"))
    if "gp_arithmetic" in opts:
        check_choice("option gp_arithmetic", opts["gp_arithmetic"], ("exact", "float"))
    if "answer_only_converter" in opts:
        check_choice("option answer_only_converter", opts["answer_only_converter"], SOKOBAN_CONVERTERS)
    if "action_spaces" in opts:
        parse_action_spaces(opts["action_spaces"])
    if "cot_board" in opts:
        check_choice("option cot_board", opts["cot_board"], BOARD_COPIES)
    for key in ("teacher_samples", "teacher_max_new_tokens", "teacher_batch_size"):
        if key in opts and opts[key] < 1:
            raise ConfigError(f"option {key} must be at least 1, got {opts[key]}")
    if "teacher_temperature" in opts and opts["teacher_temperature"] < 0:
        raise ConfigError(f"option teacher_temperature must be >= 0, got {opts['teacher_temperature']}")
