"""Helpers shared by the arithmetic tasks (General Points, Countdown): answers, random formulas, verl fields."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from typing import Any

from sftlab.demos.corrupt import wrong_expression
from sftlab.errors import ConfigError, DataError

FORMULA = re.compile(r'"formula":\s*"([^"]*)"')  # General Points' JSON answer
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")  # Countdown's final answer


def replace_last(text: str, pattern: re.Pattern, rng: random.Random) -> str | None:
    """`text` with the expression in `pattern`'s last match (its group 1) changed by one operator or number, or
    None when `text` has no match (the caller's verifier decides whether the change made it wrong)."""
    found = list(pattern.finditer(text))
    if not found:
        return None
    last = found[-1]
    return text[:last.start(1)] + wrong_expression(last.group(1), lambda _: False, rng) + text[last.end(1):]


def random_formula(numbers: Sequence[int], rng: random.Random) -> str:
    """A random fully bracketed formula using each number exactly once (random order, operators and tree)."""
    items = [str(n) for n in numbers]
    rng.shuffle(items)
    while len(items) > 1:
        i = rng.randrange(len(items) - 1)
        op = rng.choice("+-*/")
        items[i:i + 2] = [f"({items[i]}{op}{items[i + 1]})"]
    text = items[0]
    return text[1:-1] if text.startswith("(") and len(numbers) > 1 else text


def row_numbers_target(row: dict) -> tuple[list[int], int]:
    """A row's {numbers, target} answer as (ints, int); a row without one is a ConfigError."""
    answer = row.get("answer") or {}
    try:
        return [int(n) for n in answer["numbers"]], int(answer.get("target", 24))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"row {row.get('id')!r} has no answer {{numbers, target}}") from None


def answer_numbers_target(answer: Any, what: str) -> tuple[list[int], int]:
    """A reward's {numbers, target} answer (JSON text is decoded); anything else is a DataError."""
    if isinstance(answer, str) and answer[:1] == "{":
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError:
            pass
    if not isinstance(answer, dict) or "numbers" not in answer:
        raise DataError(f"a {what} row's answer must be {{'numbers': [...], 'target': N}}, got {answer!r}")
    return [int(n) for n in answer["numbers"]], int(answer.get("target", 24))


def numbers_ground_truth(row: dict) -> dict:
    """verl's ground truth for an arithmetic row: {numbers, target}."""
    return {"numbers": [int(x) for x in row["answer"]["numbers"]], "target": int(row["answer"]["target"])}
