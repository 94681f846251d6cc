"""Sokoban, as in the Debunk paper (spec 1): generation, optimal solutions, play, rendering, eval variants.

    from sftlab.tasks.sokoban import generate, solve, SokobanGame, render, get_variant
    p = generate(dim=(6, 6), num_boxes=1, seed=0)     # p.rows (XSB), p.solution ("Up", ...)
    g = SokobanGame(p.rows)
    for a in p.solution:
        g.step(a)
    assert g.solved

Pure Python + numpy; see docs/sokoban.md.
"""

from __future__ import annotations

from sftlab.tasks.sokoban.game import SokobanGame, StepResult
from sftlab.tasks.sokoban.generate import Puzzle, generate
from sftlab.tasks.sokoban.render import parse_rendered, render
from sftlab.tasks.sokoban.solve import DIRECTIONS, is_optimal_step, shortest_length, solve
from sftlab.tasks.sokoban.variants import (
    ALIASES,
    EVAL_TAGS,
    VARIANTS,
    Variant,
    answer_span,
    eval_seeds,
    extract_answer,
    get_variant,
    parse_action,
)
from sftlab.tasks.sokoban.xsb import dump_xsb, load_xsb

__all__ = [
    "ALIASES",
    "DIRECTIONS",
    "EVAL_TAGS",
    "VARIANTS",
    "Puzzle",
    "SokobanGame",
    "StepResult",
    "Variant",
    "answer_span",
    "eval_seeds",
    "extract_answer",
    "generate",
    "get_variant",
    "is_optimal_step",
    "dump_xsb",
    "load_xsb",
    "parse_action",
    "parse_rendered",
    "render",
    "shortest_length",
    "show",
    "solve",
]


def show(seed: int = 0, variant: str | None = None) -> str:
    """The puzzle for `seed` in `variant` (default SimpleSokoban) as the model sees it, the labels, and the solution.

    The solution is written in the variant's prompt labels (what a model following the instruction should answer).
    """
    v = get_variant(variant or "SimpleSokoban")
    p = generate(dim=v.dim, num_boxes=v.num_boxes, seed=seed, search_depth=v.search_depth)
    to_label = dict(zip(DIRECTIONS, v.prompt_labels, strict=True))
    lines = [
        f"{v.name} (seed {seed}): {v}",
        "",
        render(p.rows),
        "",
        "labels shown:  " + ", ".join(f"{lab} = {d}" for lab, d in zip(v.prompt_labels, DIRECTIONS, strict=True)),
    ]
    if v.accepted_labels != v.prompt_labels:
        lines.append("labels accepted by the env: " + ", ".join(v.accepted_labels))
    lines.append(f"solution ({len(p.solution)} moves): " + " ".join(to_label[a] for a in p.solution))
    return "\n".join(lines)
