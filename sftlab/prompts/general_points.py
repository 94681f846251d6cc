"""The General Points user prompt, verbatim from the Debunk paper's `Q_GeneralPoint_EQN_L` (spec section 3.4).

The string starts with "\\n" (as the original) and is sent as the user turn of the model's chat template. It ends
with the `}` line and a blank line ("}\\n\\n") as the original's test splits (`create_test_dataset.py`); the
original's diverse training set (`create_training_dataset.py`) ends it with a single "}\\n": `training=True`. The
`[Output]` block always shows the 4-slot `[x, y, z, w]` / `[a, b, c, d]` template, also for 5 cards (as the
original). Cards are shown as a Python list, e.g. `['K', '2', '7', '5']`.
"""

from __future__ import annotations

from sftlab.tasks.general_points import face_card_msg

TEMPLATE = """
[Task Description]
You are an expert {target_number} points card game player. You will receive a set of {num_cards} cards.
Note that {face_card_msg}, and each card must be used once.
Your goal is to output a formula that evaluates to {target_number} using numbers from the cards and operators such as '+', '-', '*', '/', '(', ')', and '='.

[Input]
Cards: {cards}

[Output]
{{
  "cards": [x, y, z, w], where {face_card_msg},
  "number": [a, b, c, d], where a, b, c, and d are the numbers on the cards,
  "formula": 'an equation that equals {target_number}',
}}

"""  # noqa: E501


def user_prompt(cards, mapping: str, num_cards: int | None = None, target: int = 24, training: bool = False) -> str:
    """The user prompt for displayed `cards` (e.g. ('K', '2', '7', '5')) under the face-card `mapping` the prompt
    states (for fake splits: `hand.prompt_mapping`). `num_cards` defaults to len(cards).

    `training=True`: the diverse training set's text, which ends with one newline instead of two (as the original).
    """
    cards = [str(c) for c in cards]
    text = TEMPLATE.format(
        target_number=target,
        num_cards=len(cards) if num_cards is None else num_cards,
        face_card_msg=face_card_msg(mapping),
        cards=cards,
    )
    return text[:-1] if training else text
