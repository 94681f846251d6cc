"""Dealing General Points hands exactly as the Debunk paper's `generate_cards_with_mapping` + `generate_task`.

Card ranks are 1..largest_card (A=1, J/Q/K=11/12/13, 14-19 shown as '14'..'19'); face cards take the values of a
named face-card mapping. With `ood`, the last card is forced into 11..largest (a face card) or, when
largest_card >= 14, into 14..largest; then the hand is shuffled. A hand without a solution is redealt, at most
`max_tries` times after the first deal (as the original), else `deal` returns None.

Randomness: one `random.Random(seed)` per hand. The original seeds the *global* RNG with the same seed and its
solver shuffles the permutation list with it; `deal` replays that consumption (a shuffle of a dummy list of the
same length), so the hands are the original's hands, card for card.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from numbers import Integral

from sftlab.errors import ConfigError, check_choice

from .solve import is_solvable, solve

FACE_CARDS = ("J", "Q", "K")


def _uniform(v: int) -> dict[str, int]:
    return {"J": v, "Q": v, "K": v}


def _three(j: int, q: int, k: int) -> dict[str, int]:
    return {"J": j, "Q": q, "K": k}


#: The 23 face-card mappings of the paper (`face_card_configs.py`), name -> {'J','Q','K'} -> value.
MAPPINGS: dict[str, dict[str, int]] = {
    **{f"all_{v}": _uniform(v) for v in (5, 7, 8, 9, 10, 11, 12, 13)},
    "mixed_9_10_11": _three(9, 10, 11),
    "mixed_10_11_12": _three(10, 11, 12),
    "mixed_8_9_10": _three(8, 9, 10),
    "mixed_11_12_13": _three(11, 12, 13),
    "mixed_9_11_13": _three(9, 11, 13),
    "mixed_7_9_11": _three(7, 9, 11),
    "mixed_8_10_12": _three(8, 10, 12),
    "sequential_7_8_9": _three(7, 8, 9),
    "sequential_8_9_10": _three(8, 9, 10),
    "skip_6_8_10": _three(6, 8, 10),
    "skip_7_9_11": _three(7, 9, 11),
    "skip_8_10_12": _three(8, 10, 12),
    "skip_9_11_13": _three(9, 11, 13),
    "low_range_5_7_9": _three(5, 7, 9),
    "mid_range_8_10_12": _three(8, 10, 12),
}

#: The "mixed" preset of the diverse training set: 8 mappings x 1250 hands.
MIXED_PRESET: tuple[str, ...] = (
    "all_8",
    "all_9",
    "all_10",
    "mixed_8_9_10",
    "sequential_7_8_9",
    "sequential_8_9_10",
    "low_range_5_7_9",
    "skip_6_8_10",
)


def face_card_msg(mapping: str) -> str:
    """The prompt's face-card sentence fragment for a mapping name, exactly as the paper's generated data.

    Uniform: `'J', 'Q', and 'K' all count as '10'`; three-value:
    `'J' counts as '9', 'Q' counts as '10', and 'K' counts as '11'`.
    """
    check_choice("face-card mapping", mapping, MAPPINGS)
    values = MAPPINGS[mapping]
    if len(set(values.values())) == 1:
        return f"'J', 'Q', and 'K' all count as '{values['J']}'"
    parts = [f"'{card}' counts as '{value}'" for card, value in values.items()]
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def card_display(rank: int) -> str:
    """'A' for 1, 'J'/'Q'/'K' for 11/12/13, the number otherwise ('10', '14', ...)."""
    return {1: "A", 11: "J", 12: "Q", 13: "K"}.get(rank, str(rank))


def card_value(card: str, mapping: str) -> int:
    """The value of a displayed card under a mapping (A=1, face cards per mapping, numbers literal)."""
    if card in FACE_CARDS:
        return MAPPINGS[mapping][card]
    if card == "A":
        return 1
    return int(card)


@dataclass(frozen=True)
class Hand:
    """One General Points task.

    `cards` are the displayed cards, `values` the numbers used for scoring (after `mapping`), `solutions` every
    distinct solution (see `solve`). `prompt_mapping` is the mapping the prompt states; it differs from `mapping`
    only in the "fake" splits.
    """

    cards: tuple[str, ...]
    values: tuple[int, ...]
    mapping: str
    target: int
    seed: int
    solutions: tuple[str, ...]
    prompt_mapping: str = ""

    def __post_init__(self) -> None:
        if not self.prompt_mapping:
            object.__setattr__(self, "prompt_mapping", self.mapping)


def _validate(seed, num_cards, largest_card, mapping, max_tries, prompt_mapping) -> None:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if num_cards not in (2, 3, 4, 5, 6):
        raise ConfigError(f"num_cards must be between 2 and 6 (the paper uses 4 and 5), got {num_cards!r}")
    if not 1 <= largest_card <= 19:
        raise ConfigError(
            f"largest_card must be between 1 and 19 (13 = K, 14-19 = large values), got {largest_card!r}"
        )
    if max_tries < 0:
        raise ConfigError(f"max_tries must be >= 0, got {max_tries!r}")
    check_choice("face-card mapping", mapping, MAPPINGS)
    if prompt_mapping is not None:
        check_choice("face-card mapping", prompt_mapping, MAPPINGS)


def _draw(rng: random.Random, num_cards: int, largest_card: int, ood: bool) -> list[int]:
    if ood and largest_card >= 14:
        ranks = [rng.randint(1, largest_card) for _ in range(num_cards - 1)] + [rng.randint(14, largest_card)]
    elif ood and largest_card >= 11:
        ranks = [rng.randint(1, largest_card) for _ in range(num_cards - 1)] + [rng.randint(11, largest_card)]
    else:
        ranks = [rng.randint(1, largest_card) for _ in range(num_cards)]
    rng.shuffle(ranks)
    return ranks


def _distinct_permutations(values: list[int]) -> int:
    count = math.factorial(len(values))
    for c in Counter(values).values():
        count //= math.factorial(c)
    return count


def deal(
    seed: int,
    num_cards: int = 4,
    largest_card: int = 13,
    ood: bool = False,
    mapping: str = "all_10",
    target: int = 24,
    max_tries: int = 50,
    prompt_mapping: str | None = None,
) -> Hand | None:
    """Deal the solvable hand for `seed`, or None when `1 + max_tries` deals all have no solution.

    `mapping` gives the face-card values used for solving and scoring; `prompt_mapping` (default: the same) is
    only recorded on the Hand, for the fake splits whose prompt states other values.
    """
    _validate(seed, num_cards, largest_card, mapping, max_tries, prompt_mapping)
    seed = int(seed)
    rng = random.Random(seed)
    for _ in range(1 + max_tries):
        ranks = _draw(rng, num_cards, largest_card, ood)
        cards = tuple(card_display(r) for r in ranks)
        values = tuple(card_value(c, mapping) for c in cards)
        # The original solver shuffles its list of distinct permutations with the global RNG: replay that draw.
        rng.shuffle([None] * _distinct_permutations(list(values)))
        if is_solvable(values, target):
            solutions = tuple(solve(values, target))
            return Hand(cards, values, mapping, target, seed, solutions, prompt_mapping or mapping)
    return None
