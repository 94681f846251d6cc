"""Countdown problems: reach a target with given numbers, each used at most once, with + - * / ( ).

A problem is made by construction, so it is always solvable: draw `num_numbers` values, combine all of them in a
random order with random operators whose every intermediate result is a positive integer (the classic Countdown
rule: subtract the smaller from the larger, divide only exactly), and keep the result as the target when it lies
in [min_target, max_target]; otherwise draw again from the same `random.Random(seed)`. The construction is the
`solution`. Players may use any subset of the numbers (the verifier checks "at most once").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from numbers import Integral

from sftlab.errors import ConfigError
from sftlab.tasks.expr import BinOp, Expr, Num, format_expr

MAX_ATTEMPTS = 20_000


@dataclass(frozen=True)
class CountdownConfig:
    """How Countdown problems are drawn.

    num_numbers: how many numbers the player gets (2-6).
    min_value, max_value: the range of each number (inclusive, >= 1).
    min_target, max_target: the range of the target (inclusive, >= 1).
    """

    num_numbers: int = 4
    min_value: int = 1
    max_value: int = 100
    min_target: int = 100
    max_target: int = 999

    def __post_init__(self) -> None:
        if not isinstance(self.num_numbers, int) or not 2 <= self.num_numbers <= 6:
            raise ConfigError(f"num_numbers must be an integer from 2 to 6, got {self.num_numbers!r}")
        if not 1 <= self.min_value <= self.max_value:
            raise ConfigError(
                f"need 1 <= min_value <= max_value, got min_value={self.min_value}, max_value={self.max_value}"
            )
        if not 1 <= self.min_target <= self.max_target:
            raise ConfigError(
                f"need 1 <= min_target <= max_target, got min_target={self.min_target}, "
                f"max_target={self.max_target}"
            )
        if self.max_value**self.num_numbers < self.min_target:
            raise ConfigError(
                f"min_target {self.min_target} is out of reach: {self.num_numbers} numbers of at most "
                f"{self.max_value} multiply to at most {self.max_value**self.num_numbers}"
            )


@dataclass(frozen=True)
class Problem:
    """One Countdown problem: the numbers, the target, the seed it came from and one solution."""

    numbers: tuple[int, ...]
    target: int
    seed: int
    solution: str


def _random_tree(rng: random.Random, numbers: list[int]) -> tuple[int, Expr]:
    pool: list[tuple[int, Expr]] = [(n, Num(n)) for n in numbers]
    while len(pool) > 1:
        i, j = rng.sample(range(len(pool)), 2)
        (a, ea), (b, eb) = pool[i], pool[j]
        if a < b:
            (a, ea), (b, eb) = (b, eb), (a, ea)
        ops = ["+", "*"]
        if a > b:
            ops.append("-")
        if b > 1 and a % b == 0:
            ops.append("/")
        op = rng.choice(ops)
        value = {"+": a + b, "*": a * b, "-": a - b, "/": a // b if b else 0}[op]
        pool = [p for k, p in enumerate(pool) if k not in (i, j)] + [(value, BinOp(op, ea, eb))]
    return pool[0]


def generate(seed: int, config: CountdownConfig | None = None) -> Problem:
    """The problem for `seed`: deterministic, always solvable (its `solution` uses every number once)."""
    config = config or CountdownConfig()
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    rng = random.Random(seed)
    for _ in range(MAX_ATTEMPTS):
        numbers = [rng.randint(config.min_value, config.max_value) for _ in range(config.num_numbers)]
        value, tree = _random_tree(rng, numbers)
        if config.min_target <= value <= config.max_target:
            return Problem(tuple(numbers), value, seed, format_expr(tree))
    raise ConfigError(
        f"no Countdown problem with a target in [{config.min_target}, {config.max_target}] was found in "
        f"{MAX_ATTEMPTS} draws from {config.num_numbers} numbers in [{config.min_value}, {config.max_value}]; "
        "widen the target range"
    )
