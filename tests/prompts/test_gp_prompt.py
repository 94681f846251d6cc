"""The General Points prompt is the paper's text, verbatim (spec section 3.4)."""

from __future__ import annotations

import pytest

from sftlab.errors import ConfigError
from sftlab.prompts.general_points import user_prompt
from sftlab.tasks.general_points import SPLITS, make_split

EXPECTED_K275 = (
    "\n[Task Description]\n"
    "You are an expert 24 points card game player. You will receive a set of 4 cards.\n"
    "Note that 'J', 'Q', and 'K' all count as '10', and each card must be used once.\n"
    "Your goal is to output a formula that evaluates to 24 using numbers from the cards and operators such as "
    "'+', '-', '*', '/', '(', ')', and '='.\n"
    "\n"
    "[Input]\n"
    "Cards: ['K', '2', '7', '5']\n"
    "\n"
    "[Output]\n"
    "{\n"
    "  \"cards\": [x, y, z, w], where 'J', 'Q', and 'K' all count as '10',\n"
    '  "number": [a, b, c, d], where a, b, c, and d are the numbers on the cards,\n'
    "  \"formula\": 'an equation that equals 24',\n"
    "}\n"
    "\n"
)


def test_exact_text_uniform_mapping():
    assert user_prompt(("K", "2", "7", "5"), "all_10") == EXPECTED_K275


def test_three_value_mapping_sentence_appears_twice():
    text = user_prompt(["J", "Q", "K", "A"], "mixed_9_10_11")
    sentence = "'J' counts as '9', 'Q' counts as '10', and 'K' counts as '11'"
    assert text.count(sentence) == 2
    assert f"Note that {sentence}, and each card must be used once." in text


def test_five_cards_keep_the_four_slot_template_and_other_targets():
    text = user_prompt(["A", "2", "3", "4", "5"], "all_10", target=36)
    assert "You will receive a set of 5 cards." in text
    assert '"cards": [x, y, z, w]' in text and '"number": [a, b, c, d]' in text
    assert "expert 36 points" in text and "equals 36'" in text
    assert text.startswith("\n[Task Description]")


def test_fake_split_prompt_states_the_prompt_mapping():
    hand = make_split("fake", n=1)[0]
    text = user_prompt(hand.cards, hand.prompt_mapping)
    assert SPLITS["fake"].prompt_mapping == "mixed_11_12_13"
    assert "'J' counts as '11', 'Q' counts as '12', and 'K' counts as '13'" in text
    assert hand.values.count(10) >= 1  # but the values used for scoring are 10s


def test_unknown_mapping_is_a_config_error():
    with pytest.raises(ConfigError):
        user_prompt(["A"], "all_100")
