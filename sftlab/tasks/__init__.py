"""Task worlds: pure Python (+numpy), no ML framework imports anywhere under this package.

Each task package exposes the same two things for the CLI:
- `VARIANTS`: an ordered dict, variant (or split) name -> one-line description;
- `show(seed: int = 0, variant: str | None = None) -> str`: the instance as the model sees it, plus its solution.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sftlab.errors import check_choice

TASKS = {
    "sokoban": "Push boxes onto targets on a grid (Debunk paper); closed-loop, one action per turn.",
    "general_points": "The 24-game with stated face-card values (Debunk / SFT-vs-RL papers).",
    "countdown": "Reach a target with given numbers, each used at most once (Rethinking paper).",
    "crossdomain": "Procedural reasoning-gym tasks by domain, for cross-domain transfer (Rethinking paper).",
    "safety": "Harmful requests and harmless look-alikes, for the refusal probe (Rethinking paper).",
}


def get_task(name: str) -> ModuleType:
    """Import a task package by name; an unknown name is a ConfigError listing the tasks."""
    check_choice("task", name, TASKS)
    return importlib.import_module(f"sftlab.tasks.{name}")
