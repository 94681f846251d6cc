"""Sokoban as a pipeline task: presets, the closed-loop eval suite, the single-step reward, the oracle.

Rewards (docs/training.md "GRPO"), chosen by the `sokoban_reward` option:
- `original` (the default, the paper's): the original's `compute_score_with_action_sequence_and_diverse_prompt`
  (`sokoban_teacher.original_reward`): the format counted from the prompt's assistant prefill, the last answer split
  into actions, each a label, `n(label)` or a bare 1-4, the first ones equal to the expert's.
- `strict`: the same format, and the whole stripped `<answer>` content must be one of the prompt's own 4 labels
  (case-insensitive, the eval env's rule via `sftlab.tasks.sokoban.parse_action`): what the evaluation accepts.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from sftlab.errors import SEED_LIMIT, DataError
from sftlab.prompts.sokoban import EVAL_PROTOCOLS
from sftlab.settings import setting
from sftlab.task_adapters import sokoban_rows
from sftlab.task_adapters.base import MAX_RESPONSE_CHARS, Preset, RewardResult, Suite, Task, TaskOptions
from sftlab.task_adapters.capabilities import ReferencePolicies, TrainingData, VerlExport
from sftlab.task_adapters.rows import TRAIN_SEED_BASE
from sftlab.task_adapters.sokoban_env import SokobanEnvironment
from sftlab.task_adapters.sokoban_teacher import (
    ASSISTANT_MARKERS,
    direction_ids,
    original_reward,
    sokoban_teacher_verify,
)
from sftlab.tasks.expr import Verdict
from sftlab.tasks.sokoban import EVAL_TAGS, parse_action, solve

_ANSWER = re.compile(r"(<answer>\s*)(.*?)(\s*</answer>)", re.DOTALL)  # a demonstration's answer span

DIRECTIONS = ("Up", "Down", "Left", "Right")
SOKOBAN_REWARDS = ("original", "strict")
_TAG_RE = re.compile(r"</?(?:think|answer)>")
_SOK = "6x6, 1 box; one row per state along the shortest path (horizon 1)"


@dataclass(frozen=True)
class SokobanEvalOptions(TaskOptions):
    """Sokoban's eval options (`sftlab eval --prompt-protocol`, a spec's `eval.prompt_protocol`)."""

    prompt_protocol: str = setting(
        "paper", "Sokoban: paper (the original eval prompt byte for byte, stray backslash after `Decide the next "
        "action:` included) or clean (without it, the training prompts' text). Part of the key.",
        choices=EVAL_PROTOCOLS)


@dataclass(frozen=True)
class SokobanRewardOptions(TaskOptions):
    """Sokoban's reward options (`sftlab train grpo --sokoban-reward`, a spec's `train.grpo.sokoban_reward`)."""

    sokoban_reward: str = setting(
        "original", "Sokoban reward: original (the paper's: `4`, `4(Right)`, `Right, Up` count as Right) or strict "
        "(the whole answer must be one prompt label, as the evaluation accepts).", choices=SOKOBAN_REWARDS)


def sokoban_format(text: str) -> tuple[bool, str | None]:
    """(ok, answer content): ok iff exactly one each of <think>, </think>, <answer>, </answer>, in that order."""
    tags = _TAG_RE.findall(text)
    if tags != ["<think>", "</think>", "<answer>", "</answer>"]:
        return False, None
    start = text.index("<answer>") + len("<answer>")
    return True, text[start : text.index("</answer>")]


def sokoban_score(response: str, answer: Any, labels: Any, prefill: str = "") -> RewardResult:
    """The paper's single-step Sokoban reward: 1.0 iff the format is right and the answered label is the action.

    `answer` is the expert direction ("Up"; a list's first element is used), `labels` the prompt's 4 labels in
    Up, Down, Left, Right order (metadata `labels`). `prefill` is prepended before counting tags.
    """
    if isinstance(answer, (list, tuple)):
        answer = answer[0] if answer else None
    if answer not in DIRECTIONS:
        raise DataError(f"a Sokoban row's answer must be one of {', '.join(DIRECTIONS)}, got {answer!r}")
    labels = tuple(labels) if labels is not None else DIRECTIONS
    if len(labels) != 4:
        raise DataError(f"a Sokoban row needs 4 prompt labels (Up, Down, Left, Right order), got {labels!r}")
    text = (prefill or "") + (response or "")
    if len(text) > MAX_RESPONSE_CHARS:
        return RewardResult(0.0, "too long")
    ok, content = sokoban_format(text)
    if not ok:
        return RewardResult(0.0, "format")
    direction = parse_action(content, labels)
    if direction is None:
        return RewardResult(0.0, "invalid label")
    if direction != answer:
        return RewardResult(0.0, "wrong action")
    return RewardResult(1.0, "correct")


def sokoban_original_score(response: str, answer: Any, labels: Any, prefill: str = "",
                           whole_sequence: bool = False) -> RewardResult:
    """The original's Sokoban GRPO reward (`sokoban_teacher.original_reward`) of one response: 1.0 or 0.0.

    `answer` is the expert direction (or the horizon's list of directions / action ids), `labels` the prompt's 4
    labels (Up, Down, Left, Right order), `prefill` what the prompt already wrote of the response (`<think>`).
    With `whole_sequence` the response is the original's whole decoded prompt + response (verl's `complete`
    reward manager): the split and, without `labels`, the labels come from its prompt, as in the original.
    """
    truth = direction_ids(answer)
    if truth is None:
        raise DataError(f"a Sokoban row's answer must be one of {', '.join(DIRECTIONS)} (or a list), got {answer!r}")
    if labels is not None and len(labels) != 4:
        raise DataError(f"a Sokoban row needs 4 prompt labels (Up, Down, Left, Right order), got {labels!r}")
    if isinstance(response, str) and len(response) > MAX_RESPONSE_CHARS:
        return RewardResult(0.0, "too long")
    if not whole_sequence:
        response = ASSISTANT_MARKERS[1] + "\n" + (prefill or "") + (response or "")
    reward = original_reward(response, truth, labels)
    return RewardResult(reward, "correct" if reward else "wrong or malformed")


class SokobanTask(Task, TrainingData, VerlExport, ReferencePolicies):
    name = "sokoban"
    label = "Sokoban"
    description = "Push boxes onto targets on a grid (Debunk paper); closed-loop, one action per turn."
    max_new_tokens = 4096
    table_metrics = ("success", "action_is_valid", "validity_all_episodes", "action_is_effective", "num_actions",
                     "response_tokens")
    eval_options = SokobanEvalOptions
    reward_options = SokobanRewardOptions
    paper_seeds = True
    teacher_defaults = {"teacher_samples": 16, "teacher_temperature": 1.0, "teacher_top_p": 1.0,
                        "teacher_max_new_tokens": 4096, "teacher_batch_size": 8}
    leakage_key_text = "XSB rows of every training state vs each eval episode's initial state"
    grpo_max_completion = 1024
    rl_options = ("action_spaces",)
    answer_only_options = ("answer_only_converter",)
    cot_options = ("cot_board",)
    rl_prefill = "<think>"  # the original's prompt ends `<|im_start|>assistant\n<think>`
    ability = "bfs"
    spec_demos = ("answer-only", "cot")
    diverse_prompts = True

    def matches_loose(self, text: str) -> bool:
        return text.startswith("sokoban")

    def presets(self) -> list[Preset]:
        out = []
        for diverse in (False, True):
            tag = "diverse-" if diverse else ""
            words = "per-row random 4-word action vocabulary" if diverse else "fixed Up/Down/Left/Right prompt"
            out += [
                Preset(f"sokoban-{tag}answer-only", "sokoban", "sft", "answer-only", diverse, 200,
                       f"Sokoban SFT, {words}, answer-only demonstrations; {_SOK}"),
                Preset(f"sokoban-{tag}cot", "sokoban", "sft", "cot", diverse, 200,
                       f"Sokoban SFT, {words}, solver CoT (or --teacher CoT); {_SOK}"),
                Preset(f"sokoban-{tag}rl", "sokoban", "rl", None, diverse, 200,
                       f"Sokoban RL prompts, {words}, expert action as ground truth; {_SOK}"),
            ]
        return out + [Preset("sokoban-eval", "sokoban", "eval", None, False, 100,
                             "Sokoban eval suite: the paper's 8 tags x 100 episodes (initial states), base seed 123")]

    def suites(self) -> list[Suite]:
        return [Suite("sokoban-eval", "Sokoban closed-loop episodes: 8 tags x 100 (initial states, labels shown "
                      "and accepted)", 100, 123)]

    def suite_rows(self, suite, n, seed, progress, splits, source) -> list[dict]:
        return list(sokoban_rows.eval_rows(n, seed, progress, splits))

    def split_order(self, suite: str) -> list[str]:
        return list(EVAL_TAGS)

    def environment(self, config, refusal_judge=None) -> SokobanEnvironment:
        return SokobanEnvironment(config.max_turns, config.options.prompt_protocol)

    def seed_limit(self, kind: str, n: int) -> int:
        # numpy's legacy seeding: training puzzles use TRAIN_SEED_BASE * (seed + 1) + i, eval episodes
        # seed + stride * tag + episode (8 tags, stride max(n, 100))
        if kind == "eval":
            return SEED_LIMIT - 8 * max(n, 100)
        return SEED_LIMIT // TRAIN_SEED_BASE - 1

    def train_rows(self, config, keys, progress, skip_keys):
        return sokoban_rows.train_rows(config, keys, progress, skip_keys)

    def verify_row(self, row: dict) -> bool:
        return sokoban_rows.verify_row(row)

    def teacher_accepts(self, row: dict, text: str, **options) -> bool:
        return sokoban_teacher_verify(row, text)  # the original's filter, not our stricter verify_row

    def leakage_key(self, row: dict) -> str:
        return "\n".join(row["metadata"]["rows"])

    def example_row(self, preset: Preset, rows: list[dict]) -> dict:
        if preset.kind == "eval":
            return rows[-1]  # the Fake probe: prompt labels 1-4, accepted labels the base words
        return super().example_row(preset, rows)

    def judge(self, response: str, answer, refused=None, options=None):
        result = sokoban_score(response, answer if answer else ["Up"], None)
        return Verdict(result.reward, result.reason, correct=result.reward >= 1.0)

    def reward(self, response, answer, metadata, *, prefill="", options=None, whole_sequence=False) -> RewardResult:
        options, metadata = options or SokobanRewardOptions(), metadata or {}
        labels = metadata.get("labels")
        if labels is None and "labels" in metadata and not whole_sequence:
            raise DataError("a Sokoban verl row needs the prompt's labels in extra_info['labels'] (or a solution "
                            "string holding the prompt, as verl's `complete` reward manager decodes it)")
        if options.sokoban_reward == "strict":
            return sokoban_score(response, answer, labels, prefill=prefill)
        return sokoban_original_score(response, answer, labels, prefill=prefill, whole_sequence=whole_sequence)

    def wrong_response(self, row: dict, rng: random.Random) -> str | None:
        """The demonstration with another action label in its answer (the verifier decides whether it is wrong)."""
        chosen = row["completion"][0]["content"]
        found = list(_ANSWER.finditer(chosen))
        labels = [label for label in (row.get("metadata") or {}).get("labels", ()) if found
                  and label != found[-1].group(2)]
        if not labels:
            return None
        last = found[-1]
        return chosen[:last.start(2)] + rng.choice(labels) + chosen[last.end(2):]

    def oracle_answer(self, row: dict, rng: random.Random) -> str:
        meta = row.get("metadata") or {}
        plan = solve(meta["rows"])
        direction = plan[0] if plan else "Up"  # unsolvable or solved: any label, the episode is lost anyway
        label = meta["labels"][DIRECTIONS.index(direction)]
        return f"<think> The shortest plan starts with {direction}. </think> <answer> {label} </answer>"

    def random_answer(self, row: dict, rng: random.Random) -> str:
        label = rng.choice(list((row.get("metadata") or {})["accepted"]))
        return f"<think> Any move will do. </think> <answer> {label} </answer>"

    def data_source(self, row: dict) -> str:
        if row["split"] != "train":
            return f"sokoban_{row['split']}"
        return "sokoban_6x6_1horizon" + ("_random" if row["variant"] == "diverse" else "")

    def ground_truth(self, row: dict):
        answer = row["answer"]
        return list(answer) if isinstance(answer, list) else [answer]

    def verl_inputs(self, ground_truth, extra_info, metadata):
        answer, metadata = super().verl_inputs(ground_truth, extra_info, metadata)
        labels = extra_info.get("labels") or metadata.get("labels")
        if labels is None and isinstance(ground_truth, dict):
            labels = ground_truth.get("labels")
        # None: read from the prompt, which only a whole prompt + response solution string holds (see reward)
        return answer, {**metadata, "labels": None if labels is None else list(labels)}
