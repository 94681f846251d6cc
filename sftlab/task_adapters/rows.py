"""Building blocks shared by the row builders: the row shape of docs/contracts.md and per-row random generators."""

from __future__ import annotations

import random

import numpy as np

# Training seeds live far from every eval seed (Sokoban eval 123.., GP eval 42.., Countdown eval 0..): build seed s
# uses TRAIN_SEED_BASE * (s + 1) + i for its i-th candidate instance.
TRAIN_SEED_BASE = 1_000_000
PAPER_TRAIN_SEED = 42  # the original's training seeds: 42, 43, ... (Sokoban puzzles, GP hands)


def train_seed_base(seed: int, paper_seeds: bool) -> int:
    """The first candidate instance seed of a training build."""
    return PAPER_TRAIN_SEED if paper_seeds else TRAIN_SEED_BASE * (seed + 1)


def row_rng(seed: int, index: int, stream: int = 0) -> random.Random:
    """A random generator for row `index` of a build with `seed`: independent of every other row and stream."""
    state = np.random.SeedSequence([int(seed), int(index), int(stream)]).generate_state(2, dtype=np.uint32)
    return random.Random(int(state[0]) << 32 | int(state[1]))


def make_row(*, id: str, task: str, split: str, variant: str, seed: int, prompt: str, completion: str | None,
             answer, metadata: dict) -> dict:
    """One dataset row in TRL's conversational prompt-completion shape (no `completion` key for RL/eval rows)."""
    row = {"id": id, "task": task, "split": split, "variant": variant, "seed": int(seed),
           "prompt": [{"role": "user", "content": prompt}]}
    if completion is not None:
        row["completion"] = [{"role": "assistant", "content": completion}]
    row["answer"] = answer
    row["metadata"] = metadata
    return row


def user_text(row: dict) -> str:
    """The user message of a row."""
    return row["prompt"][-1]["content"]


def completion_text(row: dict) -> str | None:
    """The assistant message of a row, or None for RL/eval rows."""
    completion = row.get("completion")
    return completion[-1]["content"] if completion else None
