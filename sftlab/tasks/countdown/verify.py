"""The Countdown verifier: the answer uses only the given numbers, each at most once, and equals the target.

The answer is the last `\\boxed{...}` (braces balanced) of the response, else the last `<answer>...</answer>`, else
the whole text. A few unambiguous spellings of operators are normalised first (`\\times`, `\\cdot`, `×` -> `*`;
`\\div`, `÷` -> `/`; `−` -> `-`; `\\left`, `\\right`, `$` dropped), and anything from the first '=' on is dropped.
Then the expression is parsed by `sftlab.tasks.expr` (exact Fractions, no eval). Reward 1 or 0; never raises.
"""

from __future__ import annotations

import re
from collections import Counter

from sftlab.tasks.expr import ExprError, Verdict, evaluate_tree, format_value, parse_expression

MAX_SCAN_CHARS = 200_000  # answers are at the end: only the last this-many characters are searched
MAX_EXPR_CHARS = 1_000

_BOXED_RE = re.compile(r"\\boxed\s*\{")
_REPLACEMENTS = (
    ("\\times", "*"),
    ("\\cdot", "*"),
    ("\\div", "/"),
    ("\\left", ""),
    ("\\right", ""),
    ("×", "*"),
    ("÷", "/"),
    ("−", "-"),
    ("$", ""),
)


def _matching_braces(text: str) -> dict[int, int]:
    """Position of each '{' -> its matching '}' (one linear pass)."""
    stack: list[int] = []
    match: dict[int, int] = {}
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            match[stack.pop()] = i
    return match


def extract_answer(response: str) -> str | None:
    """The content of the last balanced `\\boxed{...}`, else of the last `<answer>...</answer>`, else None."""
    if not isinstance(response, str):
        return None
    text = response[-MAX_SCAN_CHARS:]
    starts = [m.end() - 1 for m in _BOXED_RE.finditer(text)]
    if starts:
        match = _matching_braces(text)
        for brace in reversed(starts):
            if brace in match:
                return text[brace + 1 : match[brace]].strip()
    end = text.rfind("</answer>")
    if end >= 0:
        start = text.rfind("<answer>", 0, end)
        if start >= 0:
            return text[start + len("<answer>") : end].strip()
    return None


def _normalise(answer: str) -> str:
    for old, new in _REPLACEMENTS:
        answer = answer.replace(old, new)
    return answer.split("=")[0].strip()


def verify(expression_or_response: str, numbers, target: int) -> Verdict:
    """Judge a bare expression or a full response: reward 1 when it is a legal expression over the given numbers
    (each at most once) whose exact value is `target`, else 0 with the reason."""
    numbers = [int(n) for n in numbers]
    if not isinstance(expression_or_response, str):
        return Verdict(0, f"the response is not text ({type(expression_or_response).__name__}).")
    answer = extract_answer(expression_or_response)
    if answer is None:
        answer = expression_or_response
    expression = _normalise(answer)
    if not expression:
        return Verdict(0, "no answer was found in your response.")
    try:
        expr = parse_expression(expression, max_len=MAX_EXPR_CHARS)
    except ExprError as exc:
        return Verdict(0, f"your answer is not a legal expression: {exc}.", expression[:200])
    used, have = Counter(_literals(expr)), Counter(numbers)
    foreign = sorted(n for n in used if n not in have)
    if foreign:
        return Verdict(0, f"you used numbers that were not given: {foreign}.", expression)
    over = sorted(n for n in used if used[n] > have[n])
    if over:
        return Verdict(0, f"you used numbers more times than they were given: {over}.", expression)
    try:
        value = evaluate_tree(expr)
    except ZeroDivisionError:
        return Verdict(0, "your expression divides by zero.", expression)
    if value != target:
        return Verdict(0, f"your expression evaluates to {format_value(value)}, not {target}.", expression, value)
    return Verdict(1, f"your expression evaluates to {target}.", expression, value, correct=True)


def _literals(expr) -> list[int]:
    out, stack = [], [expr]
    while stack:
        node = stack.pop()
        if hasattr(node, "value"):
            out.append(node.value)
        else:
            stack.extend((node.left, node.right))
    return out
