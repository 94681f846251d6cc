"""Low-quality demonstration arms: unverified (wrong final answers), corrupted (wrong steps), short (terse).

- unverified: the final answer is replaced by a wrong expression (a slip that a verifier would have caught);
- corrupted: some arithmetic steps `a op b = c` get a wrong result `c`, while the final answer stays right;
- short: the answer with a terse, incomplete justification (the first step only), no exploration.

Which rows get which treatment is decided by `pick_rows` from the build seed: exactly round(fraction * n) rows,
so the configured fractions hold exactly. Every function is deterministic given its `random.Random`.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

_NUM = r"\(?\d+(?:/\d+)?\)?"
STEP_RE = re.compile(rf"({_NUM}) ([-+*/]) ({_NUM}) = (\d+(?:/\d+)?)")


def _frac(text: str) -> Fraction:
    return Fraction(text.strip("()"))


def _apply(a: Fraction, op: str, b: Fraction) -> Fraction | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b != 0 else None


def check_steps(text: str) -> tuple[int, int]:
    """(steps, wrong steps) over every `a op b = c` in `text`, recomputed with exact fractions."""
    total = wrong = 0
    for m in STEP_RE.finditer(text):
        total += 1
        if _apply(_frac(m.group(1)), m.group(2), _frac(m.group(3))) != _frac(m.group(4)):
            wrong += 1
    return total, wrong


def corrupt_steps(text: str, rng: random.Random, share: float = 0.34) -> str:
    """Make max(1, round(share * steps)) of the `a op b = c` steps in `text` wrong (only before `</think>` if any).

    A corrupted step keeps its operands and states a wrong result; the same wrong result is used wherever that
    exact step line repeats, so the trace stays self-consistent in its mistake.
    """
    head, sep, tail = text.partition("</think>")
    if not sep:
        head, tail = text, ""
    steps = sorted({m.group(0) for m in STEP_RE.finditer(head)})
    if not steps:
        return text
    chosen = rng.sample(steps, max(1, round(share * len(steps))))
    for step in chosen:
        m = STEP_RE.fullmatch(step)
        value = _frac(m.group(4))
        delta = rng.choice([-3, -2, -1, 1, 2, 3, 10])
        wrong = value + delta if value + delta >= 0 else value + abs(delta)
        shown = str(wrong.numerator) if wrong.denominator == 1 else f"{wrong.numerator}/{wrong.denominator}"
        pattern = rf"(?<![\d(/]){re.escape(step)}(?![\d/])"
        head = re.sub(pattern, f"{m.group(1)} {m.group(2)} {m.group(3)} = {shown}", head)
    return head + sep + tail


def wrong_expression(expression: str, is_correct, rng: random.Random, tries: int = 50) -> str:
    """A small mutation of `expression` (one operator or one number changed) that `is_correct` rejects."""
    tokens = re.findall(r"\d+|[-+*/()]", expression)
    for _ in range(tries):
        mutated = list(tokens)
        k = rng.randrange(len(mutated))
        if mutated[k] in ("+", "-", "*", "/"):
            mutated[k] = rng.choice([op for op in "+-*/" if op != mutated[k]])
        elif mutated[k].isdigit():
            mutated[k] = str(max(1, int(mutated[k]) + rng.choice([-2, -1, 1, 2])))
        else:
            continue
        candidate = "".join(mutated)
        if candidate != expression and not is_correct(candidate):
            return candidate
    return expression + "+1"  # tokens only ever reach here for degenerate expressions; still wrong


def short_solution(steps, expression: str) -> str:
    """A terse, incomplete justification: the first step only, then the boxed answer."""
    first = f"{steps[0]}, then combine the rest." if steps else "By inspection."
    return f"{first}\n\n\\boxed{{{expression}}}"


def pick_rows(n: int, fractions: dict[str, float], rng: random.Random) -> dict[int, str]:
    """Assign exactly round(f * n) distinct rows to each named treatment, in the given order; row -> treatment."""
    order = list(range(n))
    rng.shuffle(order)
    out, start = {}, 0
    for name, fraction in fractions.items():
        count = round(fraction * n)
        for index in order[start:start + count]:
            out[index] = name
        start += count
    return out
