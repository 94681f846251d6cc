"""The original's Sokoban teacher filter: which sampled teacher responses make a Sokoban CoT demonstration."""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_TEACHER_CHARS = 200_000  # longer samples are rejected unread (the regexes below are per-line lazy scans)
_DIRECTIONS = ("Up", "Down", "Left", "Right")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_LAST_ANSWER = re.compile(r"<answer>(.*?)</answer>|<action>(.*?)</action>")  # no DOTALL, as the original
_SPLIT = re.compile(r"[,;\s]+")


def sokoban_accepts(response, labels: Sequence[str], answer: str, prefill: str = "") -> bool:
    """The original's Sokoban teacher filter (`compute_score_with_action_sequence_and_diverse_prompt == 1`).

    `prefill + response` must hold exactly one each of `<think>`, `</think>`, `<answer>`, `</answer>`, in that
    order (the original counts its prompt's prefilled `<think>`; our chat prompts prefill nothing, so pass
    `prefill="<think>"` only for a prompt that ends with it). The last `<answer>...</answer>` (or
    `<action>...</action>`) on one line is split at commas, semicolons and whitespace; its *first* word must name
    `answer` (a base direction): the label itself (case-insensitive), `n(label)`, or a bare `1`-`4` (Up, Down,
    Left, Right), unless a label is itself that digit (then the label wins, as in the original's regex).
    `labels` are the prompt's 4 labels in Up, Down, Left, Right order. Anything that is not text is rejected.
    """
    if not isinstance(response, str) or not isinstance(prefill, str) or len(response) > MAX_TEACHER_CHARS:
        return False
    text = prefill + response
    positions = [text.find(tag) for tag in _TAGS]
    if any(text.count(tag) != 1 for tag in _TAGS) or positions != sorted(positions):
        return False
    matches = list(_LAST_ANSWER.finditer(text))
    final = (matches[-1].group(1) or matches[-1].group(2)) if matches else None
    if not final or not final.strip():
        return False
    words = [w for w in _SPLIT.split(final.strip()) if w]
    if not words or answer not in _DIRECTIONS:
        return False
    return _action_id(words[0], [str(label) for label in labels]) == _DIRECTIONS.index(answer) + 1


def _action_id(word: str, labels: list[str]) -> int:
    """The original's `extract_action`: 1-4 for `n(label)`, a label, or a bare digit 1-4; else 0."""
    normalized = {label.strip().lower(): i + 1 for i, label in enumerate(labels)}
    alt = "(?:" + "|".join(re.escape(label) for label in labels) + ")"
    match = re.fullmatch(rf"^\s*(([1-4])\s*\(({alt})\)|({alt})|([1-4]))\s*$", word.strip(), flags=re.IGNORECASE)
    if match:
        if match.group(2):
            return int(match.group(2))
        if match.group(4):
            return normalized.get(match.group(4).strip().lower(), 0)
        if match.group(5):
            return int(match.group(5))
    return normalized.get(word.strip().lower(), 0)


def sokoban_teacher_verify(row: dict, text: str) -> bool:
    """The teacher filter for a Sokoban row: `sokoban_accepts` with the row's prompt labels and expert action."""
    meta = row.get("metadata") or {}
    return sokoban_accepts(text, meta.get("labels") or _DIRECTIONS, row.get("answer"), _prefill(row.get("prompt")))


def _prefill(prompt) -> str:
    """`<think>` when the prompt (a string, or messages ending with an assistant prefill) ends with it."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        prompt = prompt[-1].get("content") if prompt[-1].get("role") == "assistant" else ""
    return "<think>" if isinstance(prompt, str) and prompt.rstrip().endswith("<think>") else ""
