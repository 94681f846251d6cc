"""Sokoban's closed-loop evaluation in one call, for scripts, benchmarks and the fidelity replay.

`play` is the Sokoban environment (`sftlab.task_adapters.sokoban_env`, where the rules and metrics are written)
on the evaluation engine (`sftlab.evaluate.episodes`), exactly what `sftlab eval` runs for sokoban-eval through
the task's `environment()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sftlab.backends import Backend, SamplingParams
from sftlab.evaluate import episodes
from sftlab.task_adapters.sokoban_env import SokobanEnvironment, aggregate, score_action

__all__ = ["aggregate", "play", "score_action"]


def play(backend: Backend, rows: Sequence[dict], params: SamplingParams, *, seed: int = 0, max_turns: int = 30,
         skip: frozenset[str] = frozenset(), on_done: Callable[[dict], None] | None = None,
         on_turn: Callable[[int, int], None] | None = None, prompt_protocol: str = "paper") -> list[dict]:
    """Play every sokoban-eval row's episode (except ids in `skip`) to the end; the units in suite order
    (`sftlab.evaluate.episodes.play`). `prompt_protocol`: "paper" (the original eval prompt, byte for byte) or
    "clean"."""
    return episodes.play(SokobanEnvironment(max_turns, prompt_protocol), backend, rows, params, seed=seed, skip=skip,
                         on_done=on_done, on_turn=on_turn)
