"""Evaluation suites: the rows an evaluator plays or scores (docs/contracts.md; no `completion`).

- `sokoban-eval`: the paper's 8 tags (SimpleSokoban ... FakeSokobanNumerical) x 100 episodes; episode j of tag t
  uses puzzle seed 123 + 100 t + j as in the original (stride n instead of 100 when n > 100). One row per
  episode: its initial state, prompt labels, accepted labels; `answer` is the full shortest solution.
- `gp-eval`: the 9 test splits x 500 hands, hand i of a split dealt with seed 42 + i (spec 2).
- `countdown-eval`: held-out Countdown queries (seeds 0.., disjoint from every training seed) for the in-domain
  split, plus the task's difficulty variants.
- `crossdomain-eval`: reasoning-gym items, n per task, split = domain (sftlab.task_adapters.reasoning_rows; needs the
  `reasoning` extra).
- `safety-eval`: the built-in harmful / harmless look-alike probe, at most n per split.

`n` is per tag/split and `seed` the base seed; both default to the paper's values.
"""

from __future__ import annotations

from collections.abc import Mapping

from sftlab.errors import SEED_LIMIT, ConfigError, check_choice, check_seed
from sftlab.task_adapters import LiveView, suites, task_of_suite

# A view of the registry (sftlab.task_adapters): every registered task's suites, plugins included.
SUITES: Mapping[str, str] = LiveView(lambda: {name: s.description for name, s in suites().items()})


def suite_splits(name: str) -> tuple[str, ...]:
    """The tag/split names of eval suite `name`, in row order, without building a row (for checks up front)."""
    check_choice("eval suite", name, SUITES)
    return tuple(task_of_suite(name).suite_splits(name))


MAX_UNITS = 1_000_000  # episodes or rows one suite evaluation may plan (the sum over its tags/splits)


def check_suite_units(name: str, n: int, splits=None) -> int:
    """The units (episodes or rows) suite `name` plans with `n` per tag/split (only `splits` when given); more
    than MAX_UNITS is a ConfigError naming the total and the limit, raised before any row is built."""
    check_choice("eval suite", name, SUITES)
    total = task_of_suite(name).suite_units(name, n, splits)
    if total > MAX_UNITS:
        raise ConfigError(f"{name} with {n} episodes per tag/split plans {total} units in all; the limit is "
                          f"{MAX_UNITS} units per evaluation: lower --episodes or choose fewer --splits")
    return total


def suite_rows(name: str, n: int | None = None, seed: int | None = None, progress: bool = False,
               splits=None, source=None) -> list[dict]:
    """The rows of eval suite `name`, `n` per tag/split (default: the paper's), from base seed `seed`.

    `splits` (optional) keeps only those tags/splits; the others' seeds do not change. `source` (suites that take
    a prompt file, e.g. safety-eval) is a local prompt file that replaces the built-in prompts.
    Deterministic: the same arguments give the same rows in any process.
    """
    check_choice("eval suite", name, SUITES)
    task = task_of_suite(name)
    if source is not None and name not in task.prompt_file_suites:
        raise ConfigError(f"a prompt file applies to safety-eval only, not {name}")
    suite = suites()[name]
    default_n, default_seed = suite.default_n, suite.default_seed
    n = default_n if n is None else n
    seed = default_seed if seed is None else seed
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n (items per tag/split) must be a positive integer, got {n!r}")
    limit = task.seed_limit("eval", n)
    check_seed("seed", seed, limit, "" if limit == SEED_LIMIT else f" for {name} with n={n} (numpy's seed range)")
    return list(task.suite_rows(name, n, seed, progress, splits, source))
