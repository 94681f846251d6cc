"""General Points (the 24-game) as a pipeline task: presets, the 9-split suite, the 5 / -1 / -2 / -3 reward.

The canonical name is `general_points`; `gp` is an alias (and the prefix of its preset and suite names).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from sftlab.settings import setting
from sftlab.task_adapters import gp_rows
from sftlab.task_adapters._arith import (
    FORMULA,
    answer_numbers_target,
    numbers_ground_truth,
    random_formula,
    replace_last,
    row_numbers_target,
)
from sftlab.task_adapters.base import (
    MAX_RESPONSE_CHARS,
    Preset,
    RewardResult,
    SplitMetric,
    Suite,
    Task,
    TaskOptions,
)
from sftlab.task_adapters.capabilities import ReferencePolicies, TrainingData, VerlExport
from sftlab.task_adapters.gp_rows import hand_key
from sftlab.tasks.general_points import SPLITS, solve, verify
from sftlab.tasks.general_points import score as gp_score
from sftlab.tasks.general_points.verify import ARITHMETIC

GP_MIN, GP_MAX = -3, 5
_GP = "4 cards, target 24"


def general_points_score(response: str, answer: Any, rescale: bool = False, arithmetic: str = "exact") -> RewardResult:
    """The 24-game reward 5 / -1 / -2 / -3 for `answer` = {"numbers": card values, "target": 24}.

    With `rescale`, the reward is mapped to [0, 1] as (r + 3) / 8. `arithmetic`: "exact" (Fractions) or "float"
    (the original's float eval, so 8/(3-8/3) is -1; docs/fidelity.md).
    """
    numbers, target = answer_numbers_target(answer, "General Points")
    if not response or len(response) > MAX_RESPONSE_CHARS:
        raw = GP_MIN
    else:
        raw = int(gp_score(response, numbers, target, arithmetic))
    reason = {5: "correct", -1: "wrong value", -2: "wrong numbers", -3: "illegal formula"}.get(raw, str(raw))
    reward = (raw - GP_MIN) / (GP_MAX - GP_MIN) if rescale else float(raw)
    return RewardResult(float(reward), reason)


@dataclass(frozen=True)
class GeneralPointsEvalOptions(TaskOptions):
    """General Points' eval options (`sftlab eval --gp-arithmetic`, a spec's `eval.gp_arithmetic`)."""

    gp_arithmetic: str = setting(
        "exact", "gp-eval: exact (formulas evaluated exactly, so 8/(3-8/3) is 24) or float (the original's float "
        "eval; that formula scores -1). Part of the gp-eval key.", choices=ARITHMETIC)


@dataclass(frozen=True)
class GeneralPointsRewardOptions(TaskOptions):
    """General Points' reward options (`sftlab train grpo --gp-rescale --gp-arithmetic`, `train.grpo` keys)."""

    gp_rescale: bool = setting(False, "General Points reward (r + 3) / 8 in [0, 1] instead of 5 / -1 / -2 / -3.")
    gp_arithmetic: str = setting(
        "exact", "General Points reward: exact (8/(3-8/3) is 24, +5) or float (the original's float eval: -1).",
        choices=ARITHMETIC)


def gp_json(cards, numbers, formula: str) -> str:
    """The paper's JSON answer format."""
    return "{\n" + f'"cards": {json.dumps(list(cards))},\n "number": {list(numbers)},\n' \
        + f' "formula": {json.dumps(formula)}\n' + "}"


class GeneralPointsTask(Task, TrainingData, VerlExport, ReferencePolicies):
    name = "general_points"
    aliases = ("gp", "gp_l", "generalpoints")
    label = "General Points"
    description = "The 24-game with stated face-card values (Debunk / SFT-vs-RL papers)."
    preset_prefix = "gp"
    multi_turn = True
    table_metrics = ("acc", "valid", "score", "response_tokens")
    eval_options = GeneralPointsEvalOptions
    reward_options = GeneralPointsRewardOptions
    split_metrics = (SplitMetric("valid", "rate", lambda s: s["reward"] >= -1),
                     SplitMetric("score", "mean", lambda s: s["reward"]))
    paper_seeds = True
    cot_options = ("dead_ends",)
    teacher_options = ("gp_arithmetic",)
    teacher_defaults = {"teacher_samples": 3, "teacher_temperature": 1.0, "teacher_top_p": 1.0,
                        "teacher_max_new_tokens": 4096, "teacher_batch_size": 8}
    leakage_key_text = "cards as shown (in order) + stated mapping + target"
    ability = "arithmetic"
    data_source_prefixes = ("general_points", "gp")
    spec_demos = ("answer-only", "cot")
    diverse_prompts = True

    def presets(self) -> list[Preset]:
        out = []
        for diverse in (False, True):
            tag = "diverse-" if diverse else ""
            maps = "the 8 face-card mappings of the 'mixed' preset" if diverse else "J/Q/K count as 10"
            out += [
                Preset(f"gp-{tag}answer-only", self.name, "sft", "answer-only", diverse, 10_000,
                       f"General Points SFT, {maps}, JSON answer only; {_GP}"),
                Preset(f"gp-{tag}cot", self.name, "sft", "cot", diverse, 10_000,
                       f"General Points SFT, {maps}, search CoT with backtracking (or --teacher CoT); {_GP}",
                       (("dead_ends", 2),)),
                Preset(f"gp-{tag}rl", self.name, "rl", None, diverse, 10_000,
                       f"General Points RL prompts, {maps}; {_GP}"),
            ]
        return out + [Preset("gp-eval", self.name, "eval", None, False, 500,
                             "General Points eval suite: the 9 test splits x 500 hands, seeds 42+i")]

    def suites(self) -> list[Suite]:
        return [Suite("gp-eval", "General Points: 9 test splits x 500 hands", 500, 42)]

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        return list(gp_rows.eval_rows(n, seed, progress, splits))

    def split_order(self, suite: str) -> list[str]:
        return list(SPLITS)

    def train_rows(self, config, keys, progress, skip_keys):
        return gp_rows.train_rows(config, keys, progress, skip_keys)

    def verify_row(self, row: dict) -> bool:
        return gp_rows.verify_row(row)

    def teacher_accepts(self, row: dict, text: str, **options) -> bool:
        """A +5 score, computed with the build's `gp_arithmetic` option ("float": the original's filter, its float
        eval; default "exact")."""
        arithmetic = options.get("gp_arithmetic", "exact")
        return verify(text, row["answer"]["numbers"], row["answer"]["target"], arithmetic).reward == 5

    def leakage_key(self, row: dict) -> str:
        return hand_key(row)

    def problem_key(self, row: dict) -> str | None:
        values = ",".join(str(v) for v in sorted(row["answer"]["numbers"]))
        return f"{row['metadata']['mapping']}|{row['answer']['target']}|{values}"

    def leakage_eval_splits(self) -> list[str] | None:
        # training hands have 4 cards, so the 5-card split cannot match and is not dealt
        return [name for name, spec in SPLITS.items() if spec.num_cards == 4]

    def eval_settings(self, config) -> dict:
        return {"arithmetic": config.options.gp_arithmetic}  # the key's name since before tasks owned options

    def judge(self, response: str, answer, refused=None, options=None):
        """`options.gp_arithmetic`: "exact" or "float" (the original's float eval, docs/fidelity.md)."""
        arithmetic = (options or GeneralPointsEvalOptions()).gp_arithmetic
        return verify(response, answer["numbers"], int(answer.get("target", 24)), arithmetic)

    def reward(self, response, answer, metadata, *, prefill="", options=None, whole_sequence=False) -> RewardResult:
        options = options or GeneralPointsRewardOptions()
        return general_points_score(response, answer, rescale=options.gp_rescale, arithmetic=options.gp_arithmetic)

    def wrong_response(self, row: dict, rng: random.Random) -> str | None:
        """The demonstration with its formula changed by one operator or number (sftlab.demos.corrupt)."""
        return replace_last(row["completion"][0]["content"], FORMULA, rng)

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        numbers, target = row_numbers_target(row)
        solutions = solve(numbers, target)
        formula = solutions[0] if solutions else "+".join(str(n) for n in numbers)
        return gp_json((row.get("metadata") or {}).get("cards", numbers), numbers, formula)

    def random_answer(self, row: dict, rng: random.Random) -> str:
        numbers, _target = row_numbers_target(row)
        formula = random_formula(numbers, rng)
        return gp_json((row.get("metadata") or {}).get("cards", numbers), numbers, formula)

    def data_source(self, row: dict) -> str:
        if row["split"] != "train":
            return f"gp_l_{row['split']}"
        return f"gp-l-{row['metadata']['mapping']}"

    def ground_truth(self, row: dict):
        return numbers_ground_truth(row)
