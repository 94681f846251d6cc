"""The exact Sokoban prompt text, compared with literal strings written from the spec (3.1, 3.2)."""

import pytest

from sftlab.prompts.sokoban import BASE_LABELS, answers_block, raw_prompt, user_prompt
from sftlab.tasks.sokoban import get_variant

ROWS = ("######", "# @$.#", "#    #", "######")
GRID = (
    " # \t # \t # \t # \t # \t # \t\n"
    " # \t _ \t P \t X \t O \t # \t\n"
    " # \t _ \t _ \t _ \t _ \t # \t\n"
    " # \t # \t # \t # \t # \t # \t"
)

SIMPLE = """You are a Sokoban solver.

Sokoban Quick Guide
Goal: Push all boxes (X) onto targets (O).

Symbols:
# Wall | _ Floor | O Target | X Box | P You | √ = Box on Target | S = You on Target

Rules:
1. Push boxes (can't pull).
2. Avoid walls (#).

Answers:
<answer> Up </answer> | <answer> Down </answer> | <answer> Left </answer> | <answer> Right </answer>

Rewards:
Move: -0.1
Box on target: +1.0
All boxes placed: +10.0


[Current Observation]:
""" + GRID + """
Decide the next action:
Always output: <think> [Your thoughts] </think> <answer> [your answer] </answer> with no extra text. \
Strictly follow this format."""

NUMERICAL = SIMPLE.replace(
    "Answers:\n<answer> Up </answer> | <answer> Down </answer> | <answer> Left </answer> | <answer> Right </answer>\n",
    "Answers:\n<answer> 1 </answer> | <answer> 2 </answer> | <answer> 3 </answer> | <answer> 4 </answer>\n"
    "where 1 is Up, 2 is Down, 3 is Left, 4 is Right.\n",
)


def test_simple_sokoban_prompt_is_exact():
    assert user_prompt(ROWS) == SIMPLE
    assert user_prompt(ROWS, get_variant("simple").prompt_labels) == SIMPLE


def test_numerical_and_fake_prompts_are_exact():
    assert NUMERICAL != SIMPLE
    assert user_prompt(ROWS, ("1", "2", "3", "4")) == NUMERICAL
    fake = get_variant("fake")
    assert user_prompt(ROWS, fake.prompt_labels, fake.where_line) == NUMERICAL


def test_random_and_alphabetical_where_lines():
    assert answers_block(("*", "&", "1", "M")).endswith("\nwhere * is Up, & is Down, 1 is Left, M is Right.")
    assert "where A is Up, B is Down, C is Left, D is Right." in user_prompt(ROWS, ("A", "B", "C", "D"))
    cardinal = get_variant("cardinal")
    text = user_prompt(ROWS, cardinal.prompt_labels, cardinal.where_line)
    assert "<answer> North </answer> | <answer> South </answer>" in text and "where" not in text


def test_diverse_words_block_matches_spec_3_3():
    block = answers_block(("tree", "fix", "jade", "freedom"))
    assert block == (
        "Answers:\n<answer> tree </answer> | <answer> fix </answer> | <answer> jade </answer> | "
        "<answer> freedom </answer>\nwhere tree is Up, fix is Down, jade is Left, freedom is Right."
    )
    assert answers_block(BASE_LABELS, where_line=True).endswith("where Up is Up, Down is Down, Left is Left, Right is Right.")


def test_answer_only_and_raw_prompt():
    text = user_prompt(ROWS, answer_only=True)
    assert text.endswith(
        "Decide the next 1 actions:\nAlways output: <answer> [your answer] </answer> with no extra text. "
        "Strictly follow this format."
    )
    assert "<think>" not in text
    raw = raw_prompt(ROWS)
    assert raw == "<|im_start|>user\n" + SIMPLE + " <|im_end|>\n<|im_start|>assistant\n<think>"
    assert raw_prompt(ROWS, answer_only=True).endswith("<|im_start|>assistant\n<answer>")
    assert "\\" not in SIMPLE  # training prompts: no backslash after "Decide the next action:"


def test_wrong_label_count_is_rejected():
    with pytest.raises(ValueError, match="4 labels"):
        user_prompt(ROWS, ("A", "B"))
