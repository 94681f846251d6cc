"""Answer-only demonstrations: the action or the answer, with no reasoning.

Sokoban (spec 4): `<think></think> <answer> X </answer>\\n`, X in the prompt's own labels. The original prefilled
`<think>` in its hand-made chat string and trained on `</think> <answer> X </answer>\\n`; with the tokenizer's chat
template we cannot prefill, so the demonstration carries the empty think block itself: `<think>` + the original's
response, byte for byte (trailing newline included). That is the converter of commit 778bcc4; at 077d4cf the
converter writes `X </answer>\\n` whatever its `answer_only` flag says (`converter="077d4cf"`). Which one made the
published data is not recorded (docs/fidelity.md, row 9).

General Points (spec 4): the JSON answer the original wrote, with `json.dumps` of the cards, the Python repr of the
numbers and one solver solution chosen by the row's random generator.

Countdown (the no-CoT arm of the rethinking study): a one-line summary of the solution steps and `\\boxed{expr}`.
"""

from __future__ import annotations

import json
import random

SOKOBAN_CONVERTERS = ("778bcc4", "077d4cf")  # the original's create_sft_dataset.py converter, by commit


def sokoban_answer_only(label: str, converter: str = "778bcc4") -> str:
    """The original's prefilled `<think>` + its answer-only response: `</think> <answer> {label} </answer>\\n`
    (converter 778bcc4), or `{label} </answer>\\n` (077d4cf, whose last line overrides the response)."""
    if converter == "077d4cf":
        return f"<think>{label} </answer>\n"
    return f"<think></think> <answer> {label} </answer>\n"


def gp_json(cards, numbers, formula: str) -> str:
    """The General Points answer JSON exactly as the original formats it (spec 4)."""
    return (
        "{\n"
        f'"cards": {json.dumps(list(cards))},\n'
        f' "number": {[int(n) for n in numbers]!r},\n'
        f' "formula": "{formula}"\n'
        "}"
    )


def gp_answer_only(cards, numbers, solutions, rng: random.Random) -> str:
    """The JSON answer with a solution drawn by `rng` from `solutions` (the solver's formulas)."""
    if not solutions:
        raise ValueError("a General Points answer needs at least one solution")
    return gp_json(cards, numbers, rng.choice(sorted(solutions)))


def countdown_summary(steps, expression: str) -> str:
    """The short final summary shared by the CoT and no-CoT Countdown arms: the steps, then `\\boxed{}`."""
    if steps:
        body = "Combining " + ", then ".join(steps) + f" gives the target, so the expression is {expression}."
    else:
        body = f"The target is already one of the numbers: {expression}."
    return body + f"\n\n\\boxed{{{expression}}}"


def countdown_nocot(steps, expression: str) -> str:
    """The no-CoT arm: the summary and the boxed answer, with the `<think>` reasoning removed."""
    return countdown_summary(steps, expression)
