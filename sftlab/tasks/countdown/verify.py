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

_BOX_OPEN_RE = re.compile(r"\\boxed\s*\{")
_BRACE_RE = re.compile(r"[{}]")
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


def _last_balanced_box(text: str) -> str | None:
    """The content of the last `\\boxed{...}` whose braces balance; linear time.

    Boxes are tried from the last one back. A box that does not close before the next (later) box starts never
    closes (the later box would have to close first), so each box is only searched up to the later one: the
    searched regions are disjoint.
    """
    limit = len(text)
    pos = len(text)
    # A box can only close at a '}' after it: jump straight to the boxes that have one.
    while (pos := text.rfind("\\boxed", 0, min(pos, text.rfind("}", 0, limit) + 1))) >= 0:
        m = _BOX_OPEN_RE.match(text, pos)
        if m is None:
            continue
        brace = m.end() - 1
        if text.find("}", brace, limit) >= 0:  # cheap pre-check in C before walking the braces
            depth = 0
            for b in _BRACE_RE.finditer(text, brace, limit):
                depth += 1 if b.group() == "{" else -1
                if depth == 0:
                    return text[brace + 1 : b.start()].strip()
        limit = pos
    return None


def extract_answer(response: str) -> str | None:
    """The content of the last balanced `\\boxed{...}`, else of the last `<answer>...</answer>`, else None.

    Only the last MAX_SCAN_CHARS characters are searched; the work is linear in their length.
    """
    if not isinstance(response, str):
        return None
    text = response[-MAX_SCAN_CHARS:]
    boxed = _last_balanced_box(text)
    if boxed is not None:
        return boxed
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
        return Verdict(
            0, f"your expression evaluates to {format_value(value)}, not {target}.", expression, value
        )
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
