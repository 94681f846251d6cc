"""The settings of `sftlab eval` (EvalConfig) and the checkpoint choice it validates."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sftlab.backends import BACKENDS, SamplingParams
from sftlab.data.suites import SUITES, check_suite_units, suite_splits
from sftlab.errors import SEED_LIMIT, ConfigError, DataError, check_choice, check_positive
from sftlab.settings import check_numbers, setting
from sftlab.task_adapters import ReferencePolicies, Task, TaskOptions, all_tasks, require, task_of_suite
from sftlab.task_adapters.options import options_for, takes_task_options
from sftlab.tasks.safety import load_prompts

POLICIES = ("oracle", "random")


@takes_task_options("eval", "options")
@dataclass(frozen=True)
class EvalConfig:
    """Settings of `sftlab eval`.

    model: a model name (smollm2-135m, tiny-random), folder, hub id, or a RUN folder (has run.json); ignored by
        the oracle/random backends. suite: sokoban-eval | gp-eval | countdown-eval |
        crossdomain-eval | safety-eval.
    checkpoints: for a RUN folder, "all" (base + every checkpoint), "last" (base + the last) or a comma list of
        steps / names ("0,40,checkpoint-80", 0 = base). episodes: per tag/split (default: the suite's, 100 / 500);
        the total over the tags/splits is at most sftlab.data.suites.MAX_UNITS (checked here, before any work).
    backend: hf | vllm | oracle | random. out: the EVAL folder.
    temperature, top_p, top_k, seed: sampling (paper: 0.5, 1, -1). max_new_tokens: default 4096 (Sokoban) / 8192
        (GP, Countdown); with the hf backend on CPU the default is capped at 64 (a notice says so).
    max_turns: turns per episode of a closed-loop environment (Sokoban: the paper allows 30). multi_turn /
        max_attempts: GP/Countdown feedback mode (5 attempts). batch_size: prompts per forward pass (hf).
    run_name: the run name for a plain model or a policy (default: its name).
    device: hf device (default cuda if available, else cpu). splits: evaluate only these tags/splits (exact names;
        default all); part of the key, and an episode's trajectory does not depend on which others run with it.
    safety_prompts: safety-eval only, a local CSV/JSONL prompt set (HEx-PHI, AdvBench, XSTest) instead of the
        built-in probe; its sha256 is part of the key. refusal_judge: safety-eval only, a model (name, folder, hub
        id) that judges refusals with the hf backend instead of the pattern classifier.
    options: the suite's task's eval options (`Task.eval_options`, e.g. Sokoban's prompt_protocol, General Points'
        gp_arithmetic): a mapping, or each option by its own name (`EvalConfig(..., prompt_protocol="clean")`);
        after construction, the task's options object.
    """

    LABEL: ClassVar[str] = "eval"  # how error messages name this config

    model: str = setting(help="Model name, folder, hub id, or a RUN folder (has run.json).", spec=False,
                         why="the plan evaluates each condition's run and the baselines")
    suite: str = setting(help="sokoban-eval, gp-eval, countdown-eval, crossdomain-eval, safety-eval, ... "
                         "(see `sftlab data list`).", spec=False, why="eval.suites lists them")
    checkpoints: str = setting("all", "For a RUN: all, last, or a list of steps like 0,40,80.")
    episodes: int | None = setting(None, "Episodes per Sokoban tag / rows per split (the suite's: 100 / 500).")
    backend: str = setting("hf", "hf, vllm, oracle or random.")
    out: str = setting("eval", "The EVAL folder (results.sqlite, samples, aggregates).", spec=False,
                       why="the plan's outputs/eval folder")
    temperature: float = setting(0.5, "Sampling temperature (0 = greedy).", low=0)
    top_p: float = setting(1.0, "Nucleus sampling mass (1 = off).", low=0, high=1)
    top_k: int = setting(-1, "Top-k sampling (-1 = off).")
    max_new_tokens: int | None = setting(
        None, "(by task: 4096 Sokoban, 8192 GP/Countdown; 64 with hf on CPU).", low=1, high=1 << 20)
    seed: int = setting(0, "Sampling seed.", low=0, high=SEED_LIMIT - 1)
    max_turns: int = setting(30, "Turns per episode of a closed-loop environment (Sokoban, plugin environments).",
                             low=1, high=10_000)
    batch_size: int = setting(32, "Prompts per forward pass (hf).", low=1, high=1 << 20)
    multi_turn: bool = setting(False, "GP/Countdown: verifier feedback, up to max-attempts attempts.")
    max_attempts: int = setting(5, "Attempts per row with --multi-turn.", low=1, high=1000)
    run_name: str | None = setting(None, "Run name for a plain model or a policy (its name).", spec=False,
                                   why="the plan names runs after conditions and models")
    device: str | None = setting(None, "hf device, e.g. cpu or cuda (cuda if available).")
    splits: tuple[str, ...] | None = setting(None, "Only these tags/splits, comma-separated (all).", commas=True)
    safety_prompts: str | None = setting(
        None, "safety-eval: a local CSV/JSONL set (HEx-PHI, AdvBench, XSTest).", spec=False,
        why="applies to safety-eval only, while a spec's eval settings apply to every suite")
    refusal_judge: str | None = setting(
        None, "safety-eval: a model that judges refusals (patterns).", spec=False,
        why="applies to safety-eval only, while a spec's eval settings apply to every suite")
    options: TaskOptions | dict | None = setting(
        None, "The suite's task's own eval options (e.g. Sokoban's prompt_protocol).", cli=False, spec=False,
        why="each task declares its eval options (Task.eval_options): their flags, --option KEY=VALUE and spec "
            "keys are derived from that declaration (sftlab.task_adapters.options)")

    def __post_init__(self) -> None:
        check_numbers(self)
        check_choice("eval suite", self.suite, SUITES)
        # the suite's task's options object; a key it does not declare is refused, naming the tasks that do
        object.__setattr__(self, "options", options_for(self.adapter, "eval", self.options))
        check_choice("backend", self.backend, BACKENDS)
        if self.backend in POLICIES:
            require(self.adapter, ReferencePolicies)  # the oracle / random answers are the task's
        if self.backend not in POLICIES and not str(self.model or "").strip():
            raise ConfigError(f"the {self.backend} backend needs --model (a model name, folder, hub id or RUN)")
        if self.episodes is not None:
            check_positive("episodes", self.episodes, integer=True)
        if not isinstance(self.out, (str, os.PathLike)) or not str(self.out).strip():
            raise ConfigError(f"out (the EVAL folder) must be a non-empty path, got {self.out!r}")
        for name in ("max_turns", "batch_size", "max_attempts"):
            check_positive(name, getattr(self, name), integer=True)
        if self.multi_turn and not task_of_suite(self.suite).multi_turn:
            takes = ", ".join(s.name for t in all_tasks() if t.multi_turn for s in t.suites())
            raise ConfigError(f"multi_turn (verifier feedback) applies to {takes}, not {self.suite}")
        parse_checkpoint_choice(self.checkpoints)
        for name in ("safety_prompts", "refusal_judge"):
            if getattr(self, name) is not None and self.suite not in task_of_suite(self.suite).prompt_file_suites:
                raise ConfigError(f"{name} applies to safety-eval only, not {self.suite}")
        if self.safety_prompts is not None:
            if not Path(self.safety_prompts).is_file():
                raise DataError(f"no such safety prompt file: {self.safety_prompts}")
            load_prompts(self.safety_prompts)  # an empty or malformed set fails here, before any model loads
        if self.splits is not None:
            if isinstance(self.splits, str) or not self.splits or not all(isinstance(x, str) for x in self.splits):
                raise ConfigError(f"splits must be a non-empty list of split names, got {self.splits!r}")
            object.__setattr__(self, "splits", tuple(self.splits))
            names = suite_splits(self.suite)
            unknown = [x for x in self.splits if x not in names]
            if unknown:
                raise ConfigError(f"{self.suite} has no split(s) {unknown}; choose from: {', '.join(names)}")
        if self.episodes is not None:
            check_suite_units(self.suite, self.episodes, self.splits)  # the total is bounded, not each split
        SamplingParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                       max_new_tokens=self.max_new_tokens or 1, seed=self.seed)

    @property
    def task(self) -> str:
        """The canonical name of the suite's task."""
        return task_of_suite(self.suite).name

    @property
    def adapter(self) -> Task:
        """The suite's task adapter."""
        return task_of_suite(self.suite)


def parse_checkpoint_choice(choice: str) -> str | list[str]:
    """"all", "last", or a list of steps/names; ConfigError for anything else."""
    text = str(choice).strip()
    if text in ("all", "last"):
        return text
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or not all(re.fullmatch(r"\d+|base|checkpoint-\d+", t) for t in items):
        raise ConfigError(f"checkpoints must be all, last, or a comma list of steps like 0,40,80 "
                          f"(names base / checkpoint-N also work), got {choice!r}")
    return items


def _step_of(item: str) -> int:
    return 0 if item == "base" else int(item.removeprefix("checkpoint-"))
