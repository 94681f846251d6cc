"""Countdown (the toy game of the Rethinking paper): reach a target with given numbers, each used at most once.

    from sftlab.tasks.countdown import generate, solve, verify, CountdownConfig
    p = generate(3)                                    # Problem(numbers=(...), target=..., solution='...')
    verify(f"\\\\boxed{{{p.solution}}}", p.numbers, p.target).reward   # 1

The prompt text lives in `sftlab.prompts.countdown`. Details and decisions: docs/countdown.md.
"""

from __future__ import annotations

from sftlab.errors import check_choice
from sftlab.tasks.expr import Verdict, feedback_turn

from .generate import CountdownConfig, Problem, generate
from .solve import solve
from .verify import extract_answer, verify

#: Difficulty knobs: name -> config. "4num" is the reasoning-gym / Debunk `rg_dataset` default.
PRESETS: dict[str, CountdownConfig] = {
    "3num": CountdownConfig(num_numbers=3),
    "4num": CountdownConfig(num_numbers=4),
    "5num": CountdownConfig(num_numbers=5),
    "6num": CountdownConfig(num_numbers=6),
    "large": CountdownConfig(num_numbers=4, max_value=1000, min_target=1000, max_target=9999),
}

VARIANTS: dict[str, str] = {
    "3num": "3 numbers in 1-100, target 100-999 (easier)",
    "4num": "4 numbers in 1-100, target 100-999 (default)",
    "5num": "5 numbers in 1-100, target 100-999",
    "6num": "6 numbers in 1-100, target 100-999",
    "large": "4 numbers in 1-1000, target 1000-9999 (larger values)",
}


def config_for(variant: str | None) -> CountdownConfig:
    """The config of a difficulty variant (default "4num")."""
    name = variant or "4num"
    check_choice("Countdown variant", name, PRESETS)
    return PRESETS[name]


def show(seed: int = 0, variant: str | None = None) -> str:
    """The problem a variant generates for `seed`, with its construction and a shortest solution."""
    name = variant or "4num"
    problem = generate(seed, config_for(name))
    shortest = solve(problem.numbers, problem.target)
    return "\n".join(
        [
            f"Countdown, variant {name!r} ({VARIANTS[name]}), seed {seed}",
            f"Numbers: {list(problem.numbers)}   Target: {problem.target}",
            f"Solution (construction, all numbers): {problem.solution}",
            f"Solution (fewest numbers): {shortest}",
        ]
    )


__all__ = [
    "PRESETS",
    "VARIANTS",
    "CountdownConfig",
    "Problem",
    "Verdict",
    "config_for",
    "extract_answer",
    "feedback_turn",
    "generate",
    "show",
    "solve",
    "verify",
]
