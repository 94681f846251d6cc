"""The Task interface: everything the pipeline needs to know about one task, in one object.

A task adapter owns its name and aliases, its presets and eval suites (with their defaults), how rows are built and
verified, the leakage key, the scoring of a response (verdict, reward, split metrics), the oracle and random
answers, the verl data_source/ability and the labels the tables use. The pure worlds stay in `sftlab/tasks/`;
an adapter connects one of them to the pipeline. No module outside `sftlab/task_adapters/` branches on a task name:
it asks the registry (`sftlab.task_adapters.get_task`) for the adapter and calls it.

Adding a task = subclassing `Task` and registering an instance (docs/adding-a-task.md).
"""

from __future__ import annotations

import dataclasses
import importlib
import random
from dataclasses import dataclass, field
from typing import Any

from sftlab.errors import SEED_LIMIT, check_choice
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
    """One task as the pipeline sees it. Subclass it, set the class attributes, override what differs.

    Required for any use: `name`, `suites()`, `suite_rows()`, `judge()` (or, for a closed-loop task, an
    `environment()`). Training data needs `presets()` and
    `train_rows()`; RL needs `reward()`; the reference policies need `oracle_answer()` / `random_answer()`.
    """

    name: str = ""
    aliases: tuple[str, ...] = ()
    label: str = ""  # human name, e.g. "General Points"
    description: str = ""
    preset_prefix: str = ""  # preset names start with it (default: the name)
    # evaluation
    multi_turn: bool = False  # single-turn rows may retry with the verifier's feedback (--multi-turn)
    max_new_tokens: int = 8192  # the suite's paper default
    table_metrics: tuple[str, ...] = ("acc", "parsed", "response_tokens")
    split_metrics: tuple[SplitMetric, ...] = (SplitMetric("parsed", "rate", lambda s: s.get("parsed", True)),)
    prompt_file_suites: tuple[str, ...] = ()  # suites whose built-in prompts a local file may replace
    refusal_task: bool = False  # its rows can be judged by a refusal judge
    # The task's own settings (TaskOptions dataclasses): `sftlab eval` / a spec's `eval:` take eval_options and hand
    # them over as EvalConfig.options; `sftlab train grpo` / `train.grpo` take reward_options and `reward()` gets them.
    eval_options: type[TaskOptions] = NoOptions
    reward_options: type[TaskOptions] = NoOptions
    # data
    paper_seeds: bool = False  # has the original's training seeds (--paper-seeds)
    cot_options: tuple[str, ...] = ()  # knobs a non-teacher CoT build takes (e.g. dead_ends)
    teacher_defaults: dict | None = None  # None: no teacher sampling for this task
    teacher_options: tuple[str, ...] = ()  # build options that `teacher_accepts` takes as keywords
    leakage_key_text: str = ""  # what "the same item" means, for the manifest
    # RL and exports
    grpo_max_completion: int = 4096
    # What the original's RL prompts had already written of the response (Sokoban: `<think>`); a GRPO run with
    # prompt_prefill on ends each rendered prompt with it, and the reward counts it.
    rl_prefill: str = ""
    rl_options: tuple[str, ...] = ()  # build options a diverse RL preset takes (Sokoban: action_spaces)
    answer_only_options: tuple[str, ...] = ()  # build options an answer-only preset takes
    ability: str = "reasoning"
    data_source_prefixes: tuple[str, ...] = ()  # verl data_source prefixes recognised (default: the name)
    # experiment specs
    spec_demos: tuple[str, ...] = ()  # demo values a spec condition may ask for
    diverse_prompts: bool = False  # has diverse-prompt presets

    # --- names --------------------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """The preset-name prefix (e.g. `gp` for General Points)."""
        return self.preset_prefix or self.name

    def matches_loose(self, text: str) -> bool:
        """Whether a free-form task label (a verl data_source, a row's task) names this task."""
        return any(text.startswith(p) for p in (self.data_source_prefixes or (self.name,)))

    # --- the CLI's `sftlab tasks` ---------------------------------------------------------------------------------
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

    # --- presets and suites -------------------------------------------------------------------------------------
    def presets(self) -> list[Preset]:
        """The dataset presets of this task (training sets and eval suites)."""
        return [Preset(s.name, self.name, "eval", None, False, s.default_n, s.description) for s in self.suites()]

    def pair_presets(self) -> list[Preset]:
        """A preference-pair preset `<preset>-pairs` over each demonstration preset whose demonstrations are
        verified (not the deliberately low-quality arms): the rows DPO trains on."""
        return [Preset(f"{p.name}-pairs", p.task, "pairs", p.demo, p.diverse, p.default_n,
                       f"Preference pairs over {p.name}: chosen its verified demonstration, rejected one the "
                       "verifier fails", p.options)
                for p in self.presets() if p.kind == "sft" and p.demo != "lowq"]

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
        instance seeds derived from it must stay in range (default: numpy's 2**32)."""
        return SEED_LIMIT

    def eval_settings(self, config) -> dict:
        """Task-specific entries of an evaluation's settings (part of its key) from the EvalConfig: by default every
        eval option of the task (`config.options`, an instance of `eval_options`) by its name."""
        return dataclasses.asdict(config.options)

    def judge_options(self, config) -> dict:
        """Keyword options `judge()` gets during an evaluation with this EvalConfig (e.g. GP's arithmetic, read
        from `config.options`)."""
        return {}

    def environment(self, config, refusal_judge=None) -> Environment:
        """How an evaluation (an EvalConfig) plays this task's suite rows: the Environment the engine runs
        (sftlab.task_adapters.environment). Default: scored rows, one answer each, or up to `max_attempts` with the
        verifier's feedback under `multi_turn`. A closed-loop task returns its own (Sokoban: SokobanEnvironment).
        `refusal_judge(rows, responses)`: the evaluation's refusal judge, for a `refusal_task`."""
        return FeedbackEnvironment(self, config.max_attempts if config.multi_turn else None,
                                   judge_options=self.judge_options(config), refusal_judge=refusal_judge)

    # --- training rows ------------------------------------------------------------------------------------------
    def train_rows(self, config, keys: set, progress: bool, skip_keys: bool) -> tuple[list[dict], dict]:
        """(rows, counts) of a training build `config` (a BuildConfig); rows whose leakage key is in `keys` are
        skipped when `skip_keys`."""
        raise NotImplementedError(f"task {self.name} has no training presets")

    def verify_row(self, row: dict) -> bool:
        """Whether a row's completion is a correct demonstration (the task's own verifier)."""
        return True

    def teacher_accepts(self, row: dict, text: str, **options) -> bool:
        """Whether a teacher model's sampled response makes a demonstration for `row` (default: `verify_row`).
        `options`: the build's values of the task's `teacher_options`."""
        return self.verify_row({**row, "completion": [{"role": "assistant", "content": text}]})

    def leakage_key(self, row: dict) -> str:
        """The content key of a row: two rows with the same key are the same item."""
        return f"{row.get('task')}|{row.get('id')}"

    def problem_key(self, row: dict) -> str | None:
        """A coarser "same problem" key reported for information only (None: not defined)."""
        return None

    def leakage_eval_splits(self) -> list[str] | None:
        """The splits of the default suite a training set could leak into (None: all)."""
        return None

    def example_row(self, preset: Preset, rows: list[dict]) -> dict:
        """The row docs/data.md shows for a preset."""
        return next((r for r in rows if r["metadata"].get("lowq") == "wrong_step"), rows[0])

    # --- scoring ------------------------------------------------------------------------------------------------
    def judge(self, response: str, answer: Any, refused: bool | None = None):
        """The verifier's verdict (reward, reason, formula, value, correct) for one raw response; never raises."""
        raise NotImplementedError

    def has_answer(self, response: str, verdict) -> bool:
        """Whether the response states a final answer in the task's format."""
        return verdict.formula is not None

    def reward(self, response: str, answer: Any, metadata: dict, *, prefill: str = "",
               options: TaskOptions | None = None, whole_sequence: bool = False) -> RewardResult:
        """The RL reward of one response (TRL and verl alike); never raises on model output. `options`: an instance
        of this task's `reward_options` (None: its defaults); `whole_sequence`: `response` is the decoded prompt
        followed by the response (verl's `complete` reward manager)."""
        if not response or len(response) > MAX_RESPONSE_CHARS:
            return RewardResult(0.0, "empty" if not response else "too long")
        verdict = self.judge(response, answer)
        return RewardResult(float(verdict.reward), "correct" if verdict.correct else "wrong")

    # --- preference pairs ---------------------------------------------------------------------------------------
    def wrong_response(self, row: dict, rng: random.Random) -> str | None:
        """A candidate rejected response for a demonstration row (default: the random policy's answer); tasks
        that can corrupt the demonstration itself (a wrong action, a wrong final expression) override it."""
        try:
            return self.random_answer(row, rng)
        except NotImplementedError:
            return None

    def rejected_response(self, row: dict, rng: random.Random, tries: int = 20) -> str | None:
        """A response to `row` that the task's verifier fails: it scores below the row's demonstration (the
        reward() of both), or None when `tries` candidates of `wrong_response` found none."""
        answer, metadata = row["answer"], row.get("metadata") or {}
        chosen = row["completion"][0]["content"]
        best = self.reward(chosen, answer, metadata).reward
        for _ in range(tries):
            text = self.wrong_response(row, rng)
            if text is not None and text != chosen and self.reward(text, answer, metadata).reward < best:
                return text
        return None

    # --- reference policies -------------------------------------------------------------------------------------
    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        """A correct answer to the row, in the task's answer format."""
        raise NotImplementedError(f"task {self.name} has no oracle")

    def random_answer(self, row: dict, rng: random.Random) -> str:
        """A random answer in the task's format (a baseline)."""
        raise NotImplementedError(f"task {self.name} has no random policy")

    # --- verl ---------------------------------------------------------------------------------------------------
    def data_source(self, row: dict) -> str:
        """verl's `data_source` for a row."""
        return f"{self.name}_{row['split']}"

    def ground_truth(self, row: dict):
        """verl's `reward_model.ground_truth` for a row."""
        return row["answer"]

    def verl_inputs(self, ground_truth, extra_info: dict, metadata: dict) -> tuple[Any, dict]:
        """(answer, metadata) for `reward()` from a verl rollout's ground truth and extra_info."""
        answer = ground_truth
        if isinstance(ground_truth, dict) and "answer" in ground_truth:
            answer = ground_truth["answer"]
        return answer, metadata

    # --- experiment specs ---------------------------------------------------------------------------------------
    def derive_preset(self, rows: str, prompts: str | None, demo: str | None) -> str:
        """The data preset of a spec condition whose method trains on `rows` (a preset kind), e.g. sokoban + sft
        rows + diverse + cot -> `sokoban-diverse-cot`; rl -> `sokoban-diverse-rl`; pairs -> `sokoban-diverse-cot-pairs`.
        """
        diverse = "diverse-" if prompts == "diverse" else ""
        names = {"rl": f"{self.prefix}-{diverse}rl", "pairs": f"{self.prefix}-{diverse}{demo}-pairs"}
        return names.get(rows, f"{self.prefix}-{diverse}{demo}")
