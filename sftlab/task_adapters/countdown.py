"""Countdown as a pipeline task: the reasoning-SFT data arms on the same queries, the eval suite, 1 / 0 reward."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sftlab.errors import ConfigError
from sftlab.settings import setting
from sftlab.task_adapters import countdown_rows
from sftlab.task_adapters._arith import (
    BOXED,
    answer_numbers_target,
    numbers_ground_truth,
    random_formula,
    replace_last,
    row_numbers_target,
)
from sftlab.task_adapters.base import MAX_RESPONSE_CHARS, Preset, RewardResult, Suite, Task, TaskOptions
from sftlab.task_adapters.capabilities import ReferencePolicies, TrainingData, VerlExport
from sftlab.task_adapters.countdown_rows import query_key
from sftlab.tasks.countdown import PRESETS, VARIANTS, extract_answer, solve, verify

_CD = "same queries in every Countdown arm"
_LOWQ_MIXED = (("style", "short"), ("wrong_answer_fraction", 0.25), ("wrong_step_fraction", 0.25))


@dataclass(frozen=True)
class CountdownRewardOptions(TaskOptions):
    """Countdown's reward options (`sftlab train grpo --countdown-format-score`, `train.grpo` keys)."""

    countdown_format_score: float = setting(0.0, "Reward for a wrong but well-formed Countdown answer.", low=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.countdown_format_score < 1:
            raise ConfigError(f"countdown_format_score must be in [0, 1), below the reward for a correct answer, "
                              f"got {self.countdown_format_score}")


def countdown_score(response: str, answer: Any, format_score: float = 0.0) -> RewardResult:
    """Countdown: 1.0 for a verified expression; else `format_score` if an answer was extracted; else 0.0."""
    numbers, target = answer_numbers_target(answer, "Countdown")
    if not response or len(response) > MAX_RESPONSE_CHARS:
        return RewardResult(0.0, "empty" if not response else "too long")
    if extract_answer(response) is None:
        return RewardResult(0.0, "no answer")
    verdict = verify(response, numbers, target)
    if float(verdict.reward) >= 1.0:
        return RewardResult(1.0, "correct")
    return RewardResult(float(format_score), "wrong")


class CountdownTask(Task, TrainingData, VerlExport, ReferencePolicies):
    name = "countdown"
    label = "Countdown"
    description = "Reach a target with given numbers, each used at most once (Rethinking paper)."
    multi_turn = True
    reward_options = CountdownRewardOptions
    table_metrics = ("acc", "parsed", "response_tokens", "reflection_rate")
    cot_options = ("dead_ends",)
    teacher_defaults = {"teacher_samples": 4, "teacher_temperature": 0.6, "teacher_top_p": 0.95,
                        "teacher_max_new_tokens": 4096, "teacher_batch_size": 8}
    leakage_key_text = "sorted numbers + target"
    ability = "arithmetic"
    spec_demos = ("cot", "nocot", "lowq", "teacher")

    def presets(self) -> list[Preset]:
        return [
            Preset("countdown-eval", "countdown", "eval", None, False, 500,
                   "Countdown eval suite: held-out queries (in-domain) and the difficulty variants"),
            Preset("countdown-cot", "countdown", "sft", "cot", False, 20_480,
                   f"Countdown long CoT: verified search traces with dead ends, backtracking, self-check; {_CD}",
                   (("dead_ends", 2),)),
            Preset("countdown-nocot", "countdown", "sft", "nocot", False, 20_480,
                   f"Countdown without reasoning: short summary + \\boxed{{answer}} only; {_CD}"),
            Preset("countdown-lowq", "countdown", "sft", "lowq", False, 20_480,
                   f"Countdown low quality: terse solutions, 25% wrong answers, 25% wrong steps; {_CD}",
                   _LOWQ_MIXED),
            Preset("countdown-lowq-unverified", "countdown", "sft", "lowq", False, 20_480,
                   f"Countdown low quality: full CoT but 50% of final answers wrong (unverified); {_CD}",
                   (("style", "cot"), ("wrong_answer_fraction", 0.5), ("wrong_step_fraction", 0.0),
                    ("dead_ends", 2))),
            Preset("countdown-lowq-corrupted", "countdown", "sft", "lowq", False, 20_480,
                   f"Countdown low quality: full CoT, right answers, 50% of rows with wrong steps; {_CD}",
                   (("style", "cot"), ("wrong_answer_fraction", 0.0), ("wrong_step_fraction", 0.5),
                    ("dead_ends", 2))),
            Preset("countdown-lowq-short", "countdown", "sft", "lowq", False, 20_480,
                   f"Countdown low quality: right answers with a terse, incomplete justification; {_CD}",
                   (("style", "short"), ("wrong_answer_fraction", 0.0), ("wrong_step_fraction", 0.0))),
            Preset("countdown-teacher", "countdown", "sft", "teacher", False, 20_480,
                   f"Countdown teacher CoT: rejection-sampled from --teacher MODEL; {_CD}"),
            Preset("countdown-rl", "countdown", "rl", None, False, 20_480,
                   f"Countdown RL prompts with {{numbers, target}} ground truth; {_CD}"),
        ]

    def suites(self) -> list[Suite]:
        return [Suite("countdown-eval", "Countdown: held-out queries (in-domain) and difficulty variants", 500, 0)]

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        return list(countdown_rows.eval_rows(n, seed, progress, splits))

    def split_order(self, suite: str) -> list[str]:
        return list(VARIANTS)

    def suite_splits(self, suite: str) -> tuple[str, ...]:
        return (countdown_rows.TRAIN_VARIANT, *(v for v in PRESETS if v != countdown_rows.TRAIN_VARIANT))

    def train_rows(self, config, keys, progress, skip_keys):
        return countdown_rows.train_rows(config, keys, progress, skip_keys)

    def verify_row(self, row: dict) -> bool:
        return countdown_rows.verify_row(row)

    def leakage_key(self, row: dict) -> str:
        return query_key(row)

    def judge(self, response: str, answer, refused=None, options=None):
        return verify(response, answer["numbers"], int(answer.get("target", 24)))

    def has_answer(self, response: str, verdict) -> bool:
        # the verifier also judges a bare expression, so its verdict alone cannot tell
        return extract_answer(response) is not None

    def reward(self, response, answer, metadata, *, prefill="", options=None, whole_sequence=False) -> RewardResult:
        return countdown_score(response, answer, format_score=(options or CountdownRewardOptions()).countdown_format_score)

    def wrong_response(self, row: dict, rng: random.Random) -> str | None:
        """The demonstration with its boxed expression changed by one operator or number (sftlab.demos.corrupt)."""
        return replace_last(row["completion"][0]["content"], BOXED, rng)

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        numbers, target = row_numbers_target(row)
        expression = solve(numbers, target) or "+".join(str(n) for n in numbers)
        return f"<think> Found it: {expression} = {target}. </think>\n\\boxed{{{expression}}}"

    def random_answer(self, row: dict, rng: random.Random) -> str:
        numbers, _target = row_numbers_target(row)
        return f"<think> A guess. </think>\n\\boxed{{{random_formula(numbers, rng)}}}"

    def ground_truth(self, row: dict):
        return numbers_ground_truth(row)
