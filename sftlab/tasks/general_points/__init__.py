"""General Points (the 24-game with stated face-card values): deal, solve, verify, test splits.

    from sftlab.tasks.general_points import deal, solve, score, verify, make_split
    hand = deal(42, ood=True)                  # Hand(cards=('K', ...), values=(10, ...), solutions=(...))
    score('{"formula": "8/(3-8/3)"}', [3, 3, 8, 8])   # 5

The prompt text lives in `sftlab.prompts.general_points`. Details and decisions: docs/general_points.md.
"""

from __future__ import annotations

from sftlab.errors import check_choice
from sftlab.tasks.expr import Verdict, feedback_turn

from .deal import FACE_CARDS, MAPPINGS, MIXED_PRESET, Hand, card_display, card_value, deal, face_card_msg
from .solve import canonical, is_solvable, solve
from .variants import SPLITS, SplitSpec, deal_split, make_split
from .verify import extract_formula, score, verify

VARIANTS: dict[str, str] = {name: spec.role for name, spec in SPLITS.items()}


def show(seed: int = 0, variant: str | None = None) -> str:
    """The hand a split deals for `seed` (default split `id`): cards, the stated rule, values and solutions."""
    name = variant or "id"
    check_choice("General Points split", name, SPLITS)
    spec = SPLITS[name]
    hand = deal_split(name, seed)
    if hand is None:
        return f"General Points, split {name!r}, seed {seed}: no solvable hand within the redeal budget."
    shown = hand.solutions[:10]
    more = f" (+{len(hand.solutions) - len(shown)} more)" if len(hand.solutions) > len(shown) else ""
    lines = [
        f"General Points, split {name!r} ({spec.role}), seed {seed}",
        f"Cards: {list(hand.cards)}",
        f"Prompt rule: {face_card_msg(hand.prompt_mapping)}",
        f"Values used for scoring: {list(hand.values)}   target: {hand.target}",
        f"Solutions ({len(hand.solutions)} distinct){more}:",
        *(f"  {s}" for s in shown),
    ]
    return "\n".join(lines)


__all__ = [
    "FACE_CARDS",
    "MAPPINGS",
    "MIXED_PRESET",
    "SPLITS",
    "VARIANTS",
    "Hand",
    "SplitSpec",
    "Verdict",
    "canonical",
    "card_display",
    "card_value",
    "deal",
    "deal_split",
    "extract_formula",
    "face_card_msg",
    "feedback_turn",
    "is_solvable",
    "make_split",
    "score",
    "show",
    "solve",
    "verify",
]
