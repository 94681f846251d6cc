"""The Task interface's core: what every task has, and the value types tasks hand the pipeline.

The core is what evaluation needs: the task's names and labels, its eval suites (rows, splits, units), its eval
options, the verdict of a response or a closed-loop environment, and the display (`sftlab tasks`). What else a task
has (training data, rewards, reference policies, verl export) are capabilities it opts into
(`sftlab.task_adapters.capabilities`). The pure worlds stay in `sftlab/tasks/`; an adapter connects one of them to
the pipeline. No module outside `sftlab/task_adapters/` branches on a task name: it asks the registry
(`sftlab.task_adapters.get_task`) for the adapter and calls it.

Adding a task = subclassing `Task` (and the capabilities it has) and registering an instance
(docs/adding-a-task.md).
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any

from sftlab.errors import SEED_LIMIT, ConfigError, check_choice
from sftlab.settings import check_numbers, settings_of
from sftlab.task_adapters.environment import Environment
from sftlab.task_adapters.feedback_env import FeedbackEnvironment
from sftlab.tasks.expr import Verdict  # noqa: F401  (re-exported: what judge() returns)

# Longer responses are scored as failures without parsing: 4096 tokens are ~16k characters, so this bound is
# generous, and it keeps every scorer fast on pathological input.
MAX_RESPONSE_CHARS = 65_536


@dataclass(frozen=True)
class RewardResult:
    """One scored response: the reward and a short reason ("correct", "format", "wrong action", ...)."""

    reward: float
    reason: str


@dataclass(frozen=True)
class TaskOptions:
    """Base of a task's own settings (its `eval_options` or `reward_options` class): a frozen dataclass whose fields
    are declared with `sftlab.settings.setting()`, so each one's help, CLI flag and spec key are derived from it
    (docs/adding-a-task.md). Building one checks every number (finite, within `low` / `high`) and every `choices`."""

    def __post_init__(self) -> None:
        check_numbers(self)
        for item in settings_of(type(self)):
            if item.choices:
                check_choice(item.name, getattr(self, item.name), item.choices)


@dataclass(frozen=True)
class NoOptions(TaskOptions):
    """The options of a task that declares none of a kind."""


@dataclass(frozen=True)
class Preset:
    """A dataset preset: task, kind of rows (sft | rl | eval), demonstration format, prompts, default size, knobs."""

    name: str
    task: str  # the canonical task name (see sftlab.task_adapters)
    kind: str  # "sft" | "rl" | "pairs" (preference pairs over a demonstration set) | "eval"
    demo: str | None  # "answer-only" | "cot" | "nocot" | "lowq" | "teacher" | None (RL and eval rows)
    diverse: bool
    default_n: int  # puzzles (Sokoban), hands (GP), queries (Countdown); eval suites: per tag/split
    description: str
    options: tuple[tuple[str, object], ...] = ()  # default knob values, see sftlab.data.presets.OPTION_TYPES

    @property
    def split(self) -> str:
        """The file stem the rows go to: `test` for eval suites, else `train`."""
        return "test" if self.kind == "eval" else "train"

    def default_options(self) -> dict:
        return dict(self.options)


@dataclass(frozen=True)
class Suite:
    """An eval suite: its name, one-line description and defaults (items per split, base seed)."""

    name: str
    description: str
    default_n: int
    default_seed: int = 0


@dataclass(frozen=True)
class SplitMetric:
    """A per-split metric of single-turn units: `kind` "rate" counts truthy `of(summary)`, "mean" averages it."""

    name: str
    kind: str
    of: Any = field(compare=False)


class Task:
    """One task as the pipeline sees it: the core every task has. Subclass it, set the class attributes, override
    what differs; add what else the task has by listing capabilities as bases (`sftlab.task_adapters.capabilities`:
    TrainingData, Rewards, ReferencePolicies, VerlExport).

    Required: `name`, `suites()`, `suite_rows()`, and `judge()` (scored rows) or `environment()` (a closed-loop
    task's own episodes).
    """

    name: str = ""
    aliases: tuple[str, ...] = ()
    label: str = ""  # human name, e.g. "General Points"
    description: str = ""
    preset_prefix: str = ""  # preset names start with it (default: the name)
    data_source_prefixes: tuple[str, ...] = ()  # prefixes of free-form labels naming it (verl data_source, ...)
    # evaluation
    multi_turn: bool = False  # single-turn rows may retry with the verifier's feedback (--multi-turn)
    max_new_tokens: int = 8192  # the suite's paper default
    table_metrics: tuple[str, ...] = ("acc", "parsed", "response_tokens")
    split_metrics: tuple[SplitMetric, ...] = (SplitMetric("parsed", "rate", lambda s: s.get("parsed", True)),)
    prompt_file_suites: tuple[str, ...] = ()  # suites whose built-in prompts a local file may replace
    refusal_task: bool = False  # its rows can be judged by a refusal judge
    # The task's own eval settings (a TaskOptions dataclass): `sftlab eval` / a spec's `eval:` take them and hand
    # them over as EvalConfig.options, which `judge(..., options=)` and `environment()` read.
    eval_options: type[TaskOptions] = NoOptions

    # --- names --------------------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """The preset-name prefix (e.g. `gp` for General Points)."""
        return self.preset_prefix or self.name

    def matches_loose(self, text: str) -> bool:
        """Whether a free-form task label (a verl data_source, a row's task) names this task."""
        return any(text.startswith(p) for p in (self.data_source_prefixes or (self.name,)))

    # --- display: `sftlab tasks`, docs/data.md ------------------------------------------------------------------
    def world(self):
        """The pure task package under sftlab.tasks of this task (None for tasks without one)."""
        try:
            return importlib.import_module(f"sftlab.tasks.{self.name}")
        except ModuleNotFoundError:
            return None

    def variants(self) -> dict[str, str]:
        """Variant (or split) name -> one-line description."""
        world = self.world()
        if world is not None and hasattr(world, "VARIANTS"):
            return dict(world.VARIANTS)
        return {}

    def show(self, seed: int = 0, variant: str | None = None) -> str:
        """One instance as the model sees it, plus its solution."""
        world = self.world()
        if world is not None and hasattr(world, "show"):
            return world.show(seed=seed, variant=variant)
        suite = self.default_suite()
        if suite is None:
            return f"{self.name}: no eval suite to show an instance from"
        rows = self.suite_rows(suite, 1, seed, False, [variant] if variant else None, None)
        if not rows:
            return f"{self.name}: no instance for split {variant!r}"
        row = rows[0]
        return f"{row['prompt'][-1]['content']}\n\nanswer: {row['answer']}"

    def example_row(self, preset: Preset, rows: list[dict]) -> dict:
        """The row docs/data.md shows for a preset."""
        return next((r for r in rows if r["metadata"].get("lowq") == "wrong_step"), rows[0])

    # --- presets and suites -------------------------------------------------------------------------------------
    def presets(self) -> list[Preset]:
        """The datasets `sftlab data build` makes: by default one eval preset per suite (a task with
        `TrainingData` lists its training presets too)."""
        return [Preset(s.name, self.name, "eval", None, False, s.default_n, s.description) for s in self.suites()]

    def suites(self) -> list[Suite]:
        """The eval suites of this task."""
        return []

    def default_suite(self) -> str | None:
        """The eval suite training sets are checked against for leakage and evaluated on by default."""
        suites = self.suites()
        return suites[0].name if suites else None

    def suite_rows(self, suite: str, n: int, seed: int, progress: bool, splits, source) -> list[dict]:
        """The rows of `suite`: n per split from base seed `seed` (only `splits` when given)."""
        raise NotImplementedError(f"task {self.name} has no eval suites")

    def split_order(self, suite: str) -> list[str]:
        """The suite's splits in display order (the paper's); [] when unknown."""
        return []

    def suite_splits(self, suite: str) -> tuple[str, ...]:
        """The suite's split names in row order, for checks made before any row is built (default: the display
        order, else the splits of one row per split)."""
        names = self.split_order(suite)
        if names:
            return tuple(names)
        default = next(s for s in self.suites() if s.name == suite)
        rows = self.suite_rows(suite, 1, default.default_seed, False, None, None)
        return tuple(dict.fromkeys(r["split"] for r in rows))

    def suite_units(self, suite: str, n: int, splits=None) -> int:
        """How many units (episodes or rows) `suite` plans with `n` per split, at most (only `splits` when given;
        default: n per split), computed without building a row."""
        return n * len(splits if splits is not None else self.suite_splits(suite))

    def seed_limit(self, kind: str, n: int) -> int:
        """The exclusive upper bound of a build seed for rows of `kind` (sft | rl | eval) with `n` items: the
        instance seeds derived from it must stay in range (default: numpy's 2**32). Eval suites use it too."""
        return SEED_LIMIT

    # --- evaluation ---------------------------------------------------------------------------------------------
    def eval_settings(self, config) -> dict:
        """Task-specific entries of an evaluation's settings (part of its key) from the EvalConfig: by default every
        eval option of the task (`config.options`, an instance of `eval_options`) by its name."""
        return dataclasses.asdict(config.options)

    def environment(self, config, refusal_judge=None) -> Environment:
        """How an evaluation (an EvalConfig) plays this task's suite rows: the Environment the engine runs
        (sftlab.task_adapters.environment). Default: scored rows, one answer each, or up to `max_attempts` with the
        verifier's feedback under `multi_turn`, each judged with `config.options`. A closed-loop task returns its
        own (Sokoban: SokobanEnvironment). `refusal_judge(rows, responses)`: the evaluation's refusal judge, for a
        `refusal_task`."""
        return FeedbackEnvironment(self, config.max_attempts if config.multi_turn else None,
                                   options=config.options, refusal_judge=refusal_judge)

    def judge(self, response: str, answer: Any, refused: bool | None = None, options: TaskOptions | None = None):
        """The verifier's verdict (reward, reason, formula, value, correct) for one raw response; never raises on
        model output. `options`: an instance of this task's `eval_options` (None: its defaults)."""
        raise ConfigError(f"task {self.name} has no verifier: it defines neither judge() nor its own environment() "
                          "(see docs/adding-a-task.md)")

    def has_answer(self, response: str, verdict) -> bool:
        """Whether the response states a final answer in the task's format."""
        return verdict.formula is not None
