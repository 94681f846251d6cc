"""The 9 General Points test splits of the Debunk paper (`create_test_dataset.py`), 500 hands each.

Hand i of a split uses seed `base_seed + i` (base 42). A hand the dealer cannot make solvable within its redeal
budget is skipped, as in the original, so a split can hold fewer than n hands (none of the 9 skips any hand at the
default seeds). "Fake" splits state one face-card rule in the prompt and score with another (J/Q/K = 10).
"""

from __future__ import annotations

from dataclasses import dataclass

from sftlab.errors import ConfigError, check_choice

from .deal import Hand, deal


@dataclass(frozen=True)
class SplitSpec:
    """How one test split is dealt: the mapping the prompt states vs the values used for solving and scoring."""

    name: str
    prompt_mapping: str
    value_mapping: str
    num_cards: int = 4
    largest_card: int = 13
    ood: bool = True
    role: str = ""

    @property
    def data_source(self) -> str:
        """The original's data_source name, e.g. `gp_l_id`."""
        return f"gp_l_{self.name}"


SPLITS: dict[str, SplitSpec] = {
    s.name: s
    for s in (
        SplitSpec(
            "id", "all_10", "all_10", role="in-distribution: J/Q/K all count as 10, at least one face card"
        ),
        SplitSpec("all_5", "all_5", "all_5", role="instruction variant: J/Q/K all count as 5"),
        SplitSpec("all_7", "all_7", "all_7", role="instruction variant: J/Q/K all count as 7"),
        SplitSpec("all_5_fake", "all_5", "all_10", role="fake: the prompt says 5, scoring uses 10"),
        SplitSpec("5cards", "all_10", "all_10", num_cards=5, ood=False, role="difficulty: five cards"),
        SplitSpec(
            "large", "all_10", "all_10", largest_card=19, role="difficulty: at least one card in 14-19"
        ),
        SplitSpec(
            "face_card_as_regular", "mixed_11_12_13", "mixed_11_12_13", role="rule variant: J/Q/K = 11/12/13"
        ),
        SplitSpec("all_12", "all_12", "all_12", role="instruction variant: J/Q/K all count as 12"),
        SplitSpec("fake", "mixed_11_12_13", "all_10", role="fake: the prompt says 11/12/13, scoring uses 10"),
    )
}


def deal_split(name: str, seed: int, target: int = 24) -> Hand | None:
    """The hand a split deals for one seed (None when no solvable hand was found)."""
    check_choice("General Points split", name, SPLITS)
    spec = SPLITS[name]
    return deal(
        seed,
        num_cards=spec.num_cards,
        largest_card=spec.largest_card,
        ood=spec.ood,
        mapping=spec.value_mapping,
        target=target,
        prompt_mapping=spec.prompt_mapping,
    )


def make_split(name: str, n: int = 500, base_seed: int = 42, target: int = 24) -> list[Hand]:
    """The hands of a test split: hand i is dealt from seed `base_seed + i`; unsolvable seeds are skipped."""
    check_choice("General Points split", name, SPLITS)
    if n < 0 or base_seed < 0:
        raise ConfigError(f"n and base_seed must be non-negative, got n={n}, base_seed={base_seed}")
    hands = (deal_split(name, base_seed + i, target) for i in range(n))
    return [h for h in hands if h is not None]
