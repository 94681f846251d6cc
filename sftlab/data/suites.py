"""Evaluation suites: the rows an evaluator plays or scores (docs/contracts.md; no `completion`).

- `sokoban-eval`: the paper's 8 tags (SimpleSokoban ... FakeSokobanNumerical) x 100 episodes; episode j of tag t
  uses puzzle seed 123 + 100 t + j as in the original (stride n instead of 100 when n > 100). One row per
  episode: its initial state, prompt labels, accepted labels; `answer` is the full shortest solution.
- `gp-eval`: the 9 test splits x 500 hands, hand i of a split dealt with seed 42 + i (spec 2).
- `countdown-eval`: held-out Countdown queries (seeds 0.., disjoint from every training seed) for the in-domain
  split, plus the task's difficulty variants.
- `crossdomain-eval`: reasoning-gym items, n per task, split = domain (sftlab.data.reasoning_rows; needs the
  `reasoning` extra).
- `safety-eval`: the built-in harmful / harmless look-alike probe, at most n per split.

`n` is per tag/split and `seed` the base seed; both default to the paper's values.
"""

from __future__ import annotations

from sftlab.errors import ConfigError, check_choice

SUITES: dict[str, str] = {
    "sokoban-eval": "Sokoban closed-loop episodes: 8 tags x 100 (initial states, labels shown and accepted)",
    "gp-eval": "General Points: 9 test splits x 500 hands",
    "countdown-eval": "Countdown: held-out queries (in-domain) and difficulty variants",
    "crossdomain-eval": "Cross-domain: reasoning-gym tasks by domain (arithmetic, logic, algorithmic, planning)",
    "safety-eval": "Safety probe: harmful requests (refuse) and harmless look-alikes (answer)",
}
SUITE_TASK = {"sokoban-eval": "sokoban", "gp-eval": "general_points", "countdown-eval": "countdown",
              "crossdomain-eval": "crossdomain", "safety-eval": "safety"}
DEFAULTS: dict[str, tuple[int, int]] = {"sokoban-eval": (100, 123), "gp-eval": (500, 42), "countdown-eval": (500, 0),
                                        "crossdomain-eval": (20, 0), "safety-eval": (20, 0)}


def suite_splits(name: str) -> tuple[str, ...]:
    """The tag/split names of eval suite `name`, in row order, without building a row (for checks up front)."""
    check_choice("eval suite", name, SUITES)
    if name == "sokoban-eval":
        from sftlab.tasks.sokoban import EVAL_TAGS

        return tuple(EVAL_TAGS)
    if name == "gp-eval":
        from sftlab.tasks.general_points import SPLITS

        return tuple(SPLITS)
    if name == "countdown-eval":
        from sftlab.data.countdown_rows import TRAIN_VARIANT
        from sftlab.tasks.countdown import PRESETS

        return (TRAIN_VARIANT, *(v for v in PRESETS if v != TRAIN_VARIANT))
    if name == "crossdomain-eval":
        from sftlab.tasks.crossdomain import DOMAINS

        return tuple(DOMAINS)
    return ("harmful", "harmless")


def suite_rows(name: str, n: int | None = None, seed: int | None = None, progress: bool = False,
               splits=None, source=None) -> list[dict]:
    """The rows of eval suite `name`, `n` per tag/split (default: the paper's), from base seed `seed`.

    `splits` (optional) keeps only those tags/splits; the others' seeds do not change. `source` (safety-eval
    only) is a local prompt file that replaces the built-in probe.
    Deterministic: the same arguments give the same rows in any process.
    """
    check_choice("eval suite", name, SUITES)
    if source is not None and name != "safety-eval":
        raise ConfigError(f"a prompt file applies to safety-eval only, not {name}")
    default_n, default_seed = DEFAULTS[name]
    n = default_n if n is None else n
    seed = default_seed if seed is None else seed
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n (items per tag/split) must be a positive integer, got {n!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if name == "sokoban-eval":
        from sftlab.data.sokoban_rows import eval_rows

        return list(eval_rows(n, seed, progress, splits))
    if name == "gp-eval":
        from sftlab.data.gp_rows import eval_rows

        return list(eval_rows(n, seed, progress, splits))
    if name == "countdown-eval":
        from sftlab.data.countdown_rows import eval_rows

        return list(eval_rows(n, seed, progress, splits))
    from sftlab.data import reasoning_rows

    if name == "crossdomain-eval":
        return list(reasoning_rows.crossdomain_rows(n, seed, progress, splits))
    return list(reasoning_rows.safety_rows(n, seed, progress, splits, source))
