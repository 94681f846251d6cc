"""The original's Sokoban RL reward and teacher filter (`debunk_sft/utils/reward_score/sokoban.py`).

`original_reward` is `compute_score_with_action_sequence_and_diverse_prompt`, the function the original's GRPO
script (`scripts/sokoban/sokoban_grpo.sh`) trains on and its teacher filter keeps samples with:

1. `solution` is the prompt followed by the response (the original's `complete` reward manager decodes both with
   special tokens). It is split at the first `Assistant:`, else at the first `<|im_start|>assistant`; with neither
   the reward is 0. What follows must hold exactly one each of `<think>`, `</think>`, `<answer>`, `</answer>`, in
   that order (the prompt's prefilled `<think>` counts).
2. The last `<answer>...</answer>` (or `<action>...</action>`) on one line is split at commas, semicolons and
   whitespace; each piece maps to an action id through the prompt's labels: `n(label)` -> n, a label in any case ->
   its id, a bare `1`-`4` -> that id (a label that is itself a digit wins), anything else 0. The labels are read
   back from the prompt's `Answers:` line unless given.
3. Reward 1.0 when the first pieces equal the ground truth's action ids (extra pieces after it are ignored).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_TEACHER_CHARS = 200_000  # longer texts score 0 unread (the regexes below are per-line lazy scans)
ASSISTANT_MARKERS = ("Assistant:", "<|im_start|>assistant")  # the original tries them in this order
_DIRECTIONS = ("Up", "Down", "Left", "Right")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_LAST_ANSWER = re.compile(r"<answer>(.*?)</answer>|<action>(.*?)</action>")  # no DOTALL, as the original
_SPLIT = re.compile(r"[,;\s]+")
_ANSWERS = re.compile(r"Answers:\s*(?:\n)?\s*<answer>\s*(.*?)\s*</answer>\s*\|\s*<answer>\s*(.*?)\s*</answer>\s*\|"
                      r"\s*<answer>\s*(.*?)\s*</answer>\s*\|\s*<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)


def original_reward(solution, ground_truth: Sequence[int], labels: Sequence[str] | None = None) -> float:
    """The original's Sokoban GRPO reward (module docstring) of `solution` = prompt + response: 1.0 or 0.0.

    `ground_truth` is the horizon's action ids (1 Up, 2 Down, 3 Left, 4 Right). `labels` (Up, Down, Left, Right
    order) replace the labels the original reads from the prompt's `Answers:` line, for callers whose solution
    holds no prompt. Anything that is not text, or is longer than MAX_TEACHER_CHARS, scores 0.0.
    """
    if not isinstance(solution, str) or len(solution) > MAX_TEACHER_CHARS:
        return 0.0
    marker = next((m for m in ASSISTANT_MARKERS if m in solution), None)
    if marker is None:
        return 0.0
    prompt, processed = solution.split(marker, 1)
    positions = [processed.find(tag) for tag in _TAGS]
    if any(processed.count(tag) != 1 for tag in _TAGS) or positions != sorted(positions):
        return 0.0
    matches = list(_LAST_ANSWER.finditer(processed))
    final = (matches[-1].group(1) or matches[-1].group(2)) if matches else None
    if not final:
        return 0.0
    mapping = label_ids(labels) if labels is not None else prompt_label_ids(prompt)
    if mapping is None:
        return 0.0
    actions = [action_id(piece, mapping) for piece in _SPLIT.split(final.strip()) if piece]
    horizon = list(ground_truth)
    return 1.0 if len(actions) >= len(horizon) and actions[: len(horizon)] == horizon else 0.0


def label_ids(labels: Sequence[str]) -> dict[str, int]:
    """The original's action mapping `{label: id}` for labels in Up, Down, Left, Right order (a repeated label keeps
    the later id, as the original's dict literal does)."""
    return {str(label).strip(): i + 1 for i, label in enumerate(labels)}


def prompt_label_ids(prompt: str) -> dict[str, int] | None:
    """The original's `extract_action_mapping`: the 4 labels of the prompt's `Answers:` line, or None."""
    match = _ANSWERS.search(prompt)
    return label_ids([group.strip() for group in match.groups()]) if match else None


def action_id(word: str, mapping: dict[str, int]) -> int:
    """The original's `extract_action`: 1-4 for `n(label)`, a label (any case), or a bare digit 1-4; else 0."""
    normalized = {label.strip().lower(): value for label, value in mapping.items()}
    alt = "(?:" + "|".join(re.escape(label) for label in mapping) + ")"
    match = re.fullmatch(rf"^\s*(([1-4])\s*\(({alt})\)|({alt})|([1-4]))\s*$", word.strip(), flags=re.IGNORECASE)
    if match:
        if match.group(2):
            return int(match.group(2))
        if match.group(4):
            return normalized.get(match.group(4).strip().lower(), 0)
        if match.group(5):
            return int(match.group(5))
    return normalized.get(word.strip().lower(), 0)


def direction_ids(answer) -> list[int] | None:
    """A Sokoban answer (a direction, an action id, or a list of them) as the original's ground-truth ids."""
    items = answer if isinstance(answer, (list, tuple)) else [answer]
    ids = [_DIRECTIONS.index(a) + 1 if a in _DIRECTIONS else a for a in items]
    if not ids or any(isinstance(i, bool) or i not in (1, 2, 3, 4) for i in ids):
        return None
    return ids


def sokoban_accepts(response, labels: Sequence[str], answer: str, prefill: str = "") -> bool:
    """The original's Sokoban teacher filter: `original_reward` of the response (after the prompt's `prefill`,
    `<think>` when the prompt ends with it) for the one-step ground truth `answer` (a base direction), with the
    prompt's `labels` in Up, Down, Left, Right order. Anything that is not text is rejected.
    """
    if not isinstance(response, str) or not isinstance(prefill, str) or answer not in _DIRECTIONS:
        return False
    solution = ASSISTANT_MARKERS[1] + "\n" + prefill + response
    return original_reward(solution, [_DIRECTIONS.index(answer) + 1], labels) == 1.0


def sokoban_teacher_verify(row: dict, text: str) -> bool:
    """The teacher filter for a Sokoban row: `sokoban_accepts` with the row's prompt labels and expert action."""
    meta = row.get("metadata") or {}
    return sokoban_accepts(text, meta.get("labels") or _DIRECTIONS, row.get("answer"), _prefill(row.get("prompt")))


def _prefill(prompt) -> str:
    """`<think>` when the prompt (a string, or messages ending with an assistant prefill) ends with it."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        prompt = prompt[-1].get("content") if prompt[-1].get("role") == "assistant" else ""
    return "<think>" if isinstance(prompt, str) and prompt.rstrip().endswith("<think>") else ""
