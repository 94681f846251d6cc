"""The settings of `sftlab eval` (EvalConfig) and the checkpoint choice it validates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sftlab.backends import BACKENDS, SamplingParams
from sftlab.errors import ConfigError, DataError, check_choice
from sftlab.task_adapters import Task, all_tasks, task_of_suite

POLICIES = ("oracle", "random")


@dataclass(frozen=True)
class EvalConfig:
    """Settings of `sftlab eval`.

    model: a model name (smollm2-135m, tiny-random), folder, hub id, or a RUN folder (has run.json); ignored by
        the oracle/random backends. suite: sokoban-eval | gp-eval | countdown-eval |
        crossdomain-eval | safety-eval.
    checkpoints: for a RUN folder, "all" (base + every checkpoint), "last" (base + the last) or a comma list of
        steps / names ("0,40,checkpoint-80", 0 = base). episodes: per tag/split (default: the suite's, 100 / 500).
    backend: hf | vllm | oracle | random. out: the EVAL folder.
    temperature, top_p, top_k, seed: sampling (paper: 0.5, 1, -1). max_new_tokens: default 4096 (Sokoban) / 8192
        (GP, Countdown); with the hf backend on CPU the default is capped at 64 (a notice says so).
    max_turns: Sokoban turns per episode (30). multi_turn / max_attempts: GP/Countdown feedback mode (5 attempts).
    batch_size: prompts per forward pass (hf). run_name: the run name for a plain model (default: its name).
    device: hf device (default cuda if available, else cpu). splits: evaluate only these tags/splits (exact names;
        default all); part of the key, and an episode's trajectory does not depend on which others run with it.
    safety_prompts: safety-eval only, a local CSV/JSONL prompt set (HEx-PHI, AdvBench, XSTest) instead of the
        built-in probe; its sha256 is part of the key. refusal_judge: safety-eval only, a model (name, folder, hub
        id) that judges refusals with the hf backend instead of the pattern classifier.
    """

    model: str
    suite: str
    checkpoints: str = "all"
    episodes: int | None = None
    backend: str = "hf"
    out: str = "eval"
    temperature: float = 0.5
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int | None = None
    seed: int = 0
    max_turns: int = 30
    batch_size: int = 32
    multi_turn: bool = False
    max_attempts: int = 5
    run_name: str | None = None
    device: str | None = None
    splits: tuple[str, ...] | None = None
    safety_prompts: str | None = None
    refusal_judge: str | None = None

    def __post_init__(self) -> None:
        from sftlab.data.suites import SUITES

        check_choice("eval suite", self.suite, SUITES)
        check_choice("backend", self.backend, BACKENDS)
        if self.backend not in POLICIES and not str(self.model or "").strip():
            raise ConfigError(f"the {self.backend} backend needs --model (a model name, folder, hub id or RUN)")
        if self.episodes is not None and (not _is_int(self.episodes) or self.episodes < 1):
            raise ConfigError(f"episodes must be a positive integer, got {self.episodes!r}")
        if not _is_int(self.max_turns) or self.max_turns < 1:
            raise ConfigError(f"max_turns must be a positive integer, got {self.max_turns!r}")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not _is_int(self.max_attempts) or self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be a positive integer, got {self.max_attempts!r}")
        if self.multi_turn and not task_of_suite(self.suite).multi_turn:
            takes = ", ".join(s.name for t in all_tasks() if t.multi_turn for s in t.suites())
            raise ConfigError(f"multi_turn (verifier feedback) applies to {takes}, not {self.suite}")
        parse_checkpoint_choice(self.checkpoints)
        for name in ("safety_prompts", "refusal_judge"):
            if getattr(self, name) is not None and self.suite not in task_of_suite(self.suite).prompt_file_suites:
                raise ConfigError(f"{name} applies to safety-eval only, not {self.suite}")
        if self.safety_prompts is not None and not Path(self.safety_prompts).is_file():
            raise DataError(f"no such safety prompt file: {self.safety_prompts}")
        if self.splits is not None:
            if isinstance(self.splits, str) or not self.splits or not all(isinstance(x, str) for x in self.splits):
                raise ConfigError(f"splits must be a non-empty list of split names, got {self.splits!r}")
            object.__setattr__(self, "splits", tuple(self.splits))
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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
