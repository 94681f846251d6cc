"""The General Points reward on untrusted responses: exact 5/-1/-2/-3 semantics, reasons, hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftlab.tasks.general_points import Verdict, feedback_turn, score, verify

CARDS = [3, 3, 8, 8]


def answer(formula: str) -> str:
    """The paper's answer-only format (json.dumps of cards, then number and formula)."""
    return f'{{\n"cards": ["3", "3", "8", "8"],\n "number": [3, 3, 8, 8],\n "formula": "{formula}"\n}}'


@pytest.mark.parametrize(
    ("response", "reward"),
    [
        (answer("8/(3-8/3)"), 5),  # exact arithmetic: the original's float eval gives -1 here
        (answer("8/(3-8/3)=24"), 5),  # '=' and what follows is dropped
        (answer("8 / ( 3 - 8 / 3 )"), 5),  # spaces are removed
        (json.dumps({"formula": "8/(3-8/3)"}), 5),  # strict JSON path
        ('<think>...</think>\n{"cards": [], "formula": "8/(3-8/3)", }', 5),  # regex fallback (trailing comma)
        (answer("8+8+3+3"), -1),  # legal, right numbers, wrong value
        (answer("8/(3-3)*8"), -1),  # division by zero
        (answer("(8+8+3+3"), -1),  # unclosed '(' passes the grammar check, fails evaluation (as the original)
        (answer("8+8+3+3-"), -1),  # trailing operator: same
        (answer("8*3"), -2),  # under-used numbers
        (answer("8*3+8+3+3"), -2),  # over-used
        (answer("8*3+0+8-8"), -2),  # foreign number
        (answer(""), -2),  # empty formula uses no numbers
        (answer("8*(3)(3)+8"), -3),  # grammar: '(' after ')'
        (answer("-8+8+3*3"), -3),  # no unary minus
        (answer("8x3"), -3),  # illegal character
        (answer("8**3"), -3),
        ("{'formula': '8/(3-8/3)'}", -3),  # single quotes: neither JSON nor the regex finds the field
        ("the answer is 8/(3-8/3)", -3),  # no formula field at all
        ('{"formula": 24}', -3),  # non-string JSON field (the original crashes)
    ],
)
def test_rewards(response, reward):
    assert score(response, CARDS) == reward


def test_first_regex_match_wins_and_json_comes_first():
    two = '{"formula": "8+8+3+3"} then {"formula": "8/(3-8/3)"}'
    assert score(two, CARDS) == -1  # not JSON as a whole: the first regex match is judged
    assert score(json.dumps({"formula": "8/(3-8/3)", "x": '"formula": "1+1"'}), CARDS) == 5


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (answer("8*3"), "you didn't use numbers: [3, 8]."),
        (answer("8*3+8+3+3+3"), "you used numbers more times than they appear on the cards: [3]."),
        (answer("8*3+1+8+3+3"), "you used numbers that are not on the cards: [1]."),
        (answer("8+8+3+3"), "your formula evaluates to 22, not 24."),
        (answer("8/3+8+3"), "your formula evaluates to 41/3, not 24."),
        ("nothing", 'no "formula" field was found in your answer.'),
    ],
)
def test_reasons_are_feedback_sentences(response, reason):
    verdict = verify(response, CARDS)
    assert verdict.reason == reason
    assert feedback_turn(verdict) == "You failed this trial because " + reason


def test_correct_verdict_fields():
    v = verify(answer("8/(3-8/3)"), CARDS)
    assert v == Verdict(5, "your formula evaluates to 24.", "8/(3-8/3)", v.value, correct=True)
    assert v.value == 24 and feedback_turn(v) == ""


def test_other_targets_and_5_cards():
    assert score('{"formula": "10*3+6"}', [10, 3, 6], target=36) == 5
    assert score('{"formula": "(10+2)*(1+1)*1"}', [10, 2, 1, 1, 1]) == 5
    assert score('{"formula": "(10+2)*(1+1)"}', [10, 2, 1, 1, 1]) == -2


HOSTILE = {
    "empty": ("", -3),
    "megabyte of digits": ("9" * 1_000_000, -3),
    "megabyte formula": ('{"formula": "' + "1+" * 500_000 + '1"}', -3),
    "import": ("{\"formula\": \"__import__('os').system('ls')\"}", -3),
    "power": ('{"formula": "9**9**9"}', -3),
    "caret": ('{"formula": "2^1000000"}', -3),
    "nested 10k, right numbers": ('{"formula": "' + "(" * 10_000 + "8/(3-8/3)" + ")" * 10_000 + '"}', -1),
    "nested 10k, wrong numbers": ('{"formula": "' + "(" * 10_000 + "3" + ")" * 10_000 + '"}', -2),
    "nested 150 ok": ('{"formula": "' + "(" * 150 + "8/(3-8/3)" + ")" * 150 + '"}', 5),
    "fullwidth digits": ('{"formula": "８/(３-８/３)"}', -3),
    "arabic-indic digits": ('{"formula": "٨/(٣-٨/٣)"}', -3),
    "NaN": ('{"formula": "NaN"}', -3),
    "inf": ('{"formula": "inf"}', -3),
    "float": ('{"formula": "8.0/(3-8/3)"}', -3),
    "deep JSON": ("[" * 100_000, -3),
    "null": ('{"formula": null}', -3),
    "5000-digit number": ('{"formula": "' + "9" * 5000 + '"}', -2),  # int() would refuse it: no crash
    "5000 leading zeros": ('{"formula": "' + "0" * 5000 + '8/(3-8/3)"}', 5),
    "70k numbers": ('{"formula": "' + "1+" * 70_000 + '1"}', -2),
    "unmatched ) then 90k (": ('{"formula": ")' + "(" * 90_000 + '"}', -3),
    "nul byte": ('{"formula": "8/(3-8/3)\\u0000"}', -3),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs(name):
    text, reward = HOSTILE[name]
    verdict = verify(text, CARDS)
    assert verdict.reward == reward
    assert isinstance(verdict.reason, str) and verdict.reason


def test_non_string_response():
    assert verify(None, CARDS).reward == -3  # type: ignore[arg-type]
    assert verify(b"x", CARDS).reward == -3  # type: ignore[arg-type]


_alphabet = st.sampled_from(list('0123456789+-*/() ="{}:,formula\n\t') + ["８", "٣", "**", "^", "NaN", "\\"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_alphabet, max_size=80).map("".join))
def test_fuzz_formula_field(formula):
    for response in (json.dumps({"formula": formula}), f'"formula": "{formula}"'):
        verdict = verify(response, CARDS)
        assert verdict.reward in (5, -1, -2, -3)
        if verdict.reward == 5:
            assert verdict.value == 24


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_fuzz_any_text(text):
    assert score(text, CARDS) in (5, -1, -2, -3)
