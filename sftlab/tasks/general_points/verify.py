"""The General Points reward (5 / -1 / -2 / -3) for an untrusted model response, with the reason for it.

Steps, as the paper's `score_gp_l_wo_sol` / `calculate_rewards` (spec section 2):

1. the formula is `json.loads(response)["formula"]`, else the first regex match `"formula": "(.*?)"`, else none;
   then everything from the first '=' on is dropped and spaces are removed;
2. the tokens `[0-9]+|[+\\-*/()]` must rebuild the string exactly, else -3 (no formula found is -3 too);
3. the token order must follow the grammar (number or '(' after start/operator/'('; operator or ')' after
   number/')'; ')' only with an open '('), else -3;
4. the numbers must be exactly the card values as a multiset (foreign, over- or under-used), else -2;
5. the formula's exact value must equal the target: +5; otherwise -1 (incomplete formula such as a trailing
   operator or an unclosed '(', division by zero, nesting deeper than 200, or a wrong value).

Deliberate differences from the original (docs/general_points.md, docs/fidelity.md):
- exact arithmetic: `8/(3-8/3)` is 24 (the original's float `eval` gives 23.999999999999996, so -1);
  `arithmetic="float"` restores the original's arithmetic (Python's int/float operations in the same order, as
  its `eval` computes them, and its SyntaxError, -1, on a literal with leading zeros such as `08`), still without
  executing anything;
- only ASCII digits: '２４' or Arabic-Indic digits are illegal (-3), where the original's `\\d` accepts them;
- leading zeros are read as integers (`08` is 8), where the original's eval raises (-1);
- a non-string JSON "formula" value is -3 (the original crashes);
- a response over MAX_RESPONSE_CHARS characters is -3 without being scanned (the original has no bound).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from fractions import Fraction

from sftlab.tasks.expr import (
    ExprError,
    Num,
    Verdict,
    evaluate_tree,
    format_value,
    paren_depth_range,
    parse_expression,
)

MAX_RESPONSE_CHARS = 200_000
MAX_NESTING = 200  # Python's parser limit, so the original's eval and ours agree on nesting

CORRECT, WRONG_VALUE, WRONG_NUMBERS, ILLEGAL = 5, -1, -2, -3

_FORMULA_RE = re.compile(r'"formula": "(.*?)"')
_ALLOWED = b"0123456789+-*/()"


def _illegal_char(formula: str) -> str | None:
    """The first character outside `0-9 + - * / ( )`, or None (C-speed: a bytes translate that deletes them)."""
    try:
        rest = formula.encode("ascii").translate(None, _ALLOWED)
    except UnicodeEncodeError:
        return next(ch for ch in formula if ord(ch) > 127)
    if not rest:
        return None
    return next(ch for ch in formula if ch.encode() not in _ALLOWED)


def _has_long_digit_run(formula: str) -> bool:
    return b"n" * 31 in formula.encode("ascii").translate(_KIND_TABLE)


def extract_formula(response: str) -> str | None:
    """The raw "formula" field of a response (JSON first, then the regex fallback), or None.

    Raises TypeError when the JSON field exists but is not a string (callers score that as illegal).
    """
    try:
        value = json.loads(response)["formula"]
    except Exception:  # any non-JSON, non-dict or missing key falls back to the regex, as the original
        m = _FORMULA_RE.search(response)
        return m.group(1) if m else None
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    return value


def _grammar_error(formula: str) -> str | None:
    """The original's token-order check, done with C-speed string scans instead of a loop over tokens.

    `formula` holds only digits and `+-*/()`. Digits become `n` and operators `o`; a violation is then a
    forbidden first token or a forbidden adjacent pair, or a ')' that closes more than was opened. Unclosed '('
    and a trailing operator are not grammar errors (the original's eval fails on them: -1).
    """
    # Bytes translate is a C table lookup per character. Digit runs stay runs of 'n' ("nn" is not a pair to check).
    kinds = formula.encode("ascii").translate(_KIND_TABLE)
    if kinds[:1] in (b"o", b")"):
        return f"your formula is illegal: it cannot start with {_KIND_NAMES[kinds[:1]]}."
    found = [(i, pair) for pair in _BAD_PAIRS if (i := kinds.find(pair)) >= 0]
    if found:
        pair = min(found)[1]
        return f"your formula is illegal: {_KIND_NAMES[pair[1:]]} cannot come after {_KIND_NAMES[pair[:1]]}."
    if paren_depth_range(kinds.translate(None, b"no"))[0] < 0:
        return "your formula is illegal: a ')' has no matching '('."
    return None


_DIGITS_RE = re.compile(r"[0-9]+")
# Forbidden neighbours: a number or '(' after a number or ')'; an operator or ')' after an operator or '('.
_BAD_PAIRS = (b"n(", b")n", b")(", b"oo", b"o)", b"(o", b"()")
_KIND_NAMES = {b"n": "a number", b"o": "an operator", b"(": "'('", b")": "')'"}
_KIND_TABLE = bytes.maketrans(b"0123456789+-*/", b"nnnnnnnnnnoooo")
_HUGE_RE = re.compile(r"[1-9][0-9]{30}")  # a literal >= 10**30, past any card value


def _number_error(formula: str, numbers: list[int]) -> str | None:
    # A literal >= 10**30 cannot be a card value; caught before int() (which refuses > 4300 digits). The C-speed
    # substring test skips the regex for every formula without 31 digits in a row.
    huge = _HUGE_RE.search(formula) if _has_long_digit_run(formula) else None
    if huge is not None:
        return f"you used numbers that are not on the cards: [{huge.group()[:20]}...]."
    have: Counter[int] = Counter()
    for literal, count in Counter(_DIGITS_RE.findall(formula)).items():  # counted as strings, at C speed
        have[int(literal.lstrip("0") or "0")] += count  # '08' and '8' are the same number
    want = Counter(numbers)
    foreign = sorted(n for n in have if n not in want)
    if foreign:
        return f"you used numbers that are not on the cards: {foreign}."
    over = sorted(n for n in have if have[n] > want[n])
    if over:
        return f"you used numbers more times than they appear on the cards: {over}."
    under = sorted(n for n in want if want[n] > have[n])
    if under:
        return f"you didn't use numbers: {under}."
    return None


ARITHMETIC = ("exact", "float")


def verify(response: str, numbers, target: int = 24, arithmetic: str = "exact") -> Verdict:
    """Judge a raw model response against the card values `numbers`; never raises, linear time.

    Returns a Verdict with the paper's reward (5 correct, -1 legal but wrong, -2 wrong numbers, -3 illegal) and a
    reason that completes "You failed this trial because ...". `arithmetic="float"` computes the value as the
    original's `eval` does (floats; a leading-zero literal is its SyntaxError, -1) instead of exactly.
    """
    if arithmetic not in ARITHMETIC:
        raise ValueError(f"arithmetic must be one of {', '.join(ARITHMETIC)}, got {arithmetic!r}")
    numbers = [int(n) for n in numbers]
    if not isinstance(response, str):
        return Verdict(ILLEGAL, f"the response is not text ({type(response).__name__}).")
    if len(response) > MAX_RESPONSE_CHARS:
        return Verdict(ILLEGAL, f"your answer is longer than {MAX_RESPONSE_CHARS} characters.")
    try:
        raw = extract_formula(response)
    except TypeError as exc:
        return Verdict(ILLEGAL, f'the "formula" field is not a string (it is {exc}).')
    if raw is None:
        return Verdict(ILLEGAL, 'no "formula" field was found in your answer.')
    formula = raw.split("=")[0].replace(" ", "")
    bad = _illegal_char(formula)  # the same as the original's "tokens must rebuild the string" check
    if bad is not None:
        reason = f"your formula contains {bad!r}; only numbers and + - * / ( ) are allowed."
        return Verdict(ILLEGAL, reason, formula)
    error = _grammar_error(formula)
    if error:
        return Verdict(ILLEGAL, error, formula)
    error = _number_error(formula, numbers)
    if error:
        return Verdict(WRONG_NUMBERS, error, formula)
    try:
        # Leading zeros go (`0008` is 8): the numbers are now card values, so no literal is long after this.
        plain = (
            formula if "0" not in formula else _DIGITS_RE.sub(lambda m: m.group().lstrip("0") or "0", formula)
        )
        expr = parse_expression(plain, max_len=MAX_RESPONSE_CHARS, max_depth=MAX_NESTING)
    except ExprError as exc:
        return Verdict(WRONG_VALUE, f"your formula is incomplete: {exc}.", formula)
    if arithmetic == "float":
        return _float_verdict(formula, expr, target)
    value = _value(expr)
    if value is None:
        return Verdict(WRONG_VALUE, "your formula divides by zero.", formula)
    if value != target:
        return Verdict(
            WRONG_VALUE, f"your formula evaluates to {format_value(value)}, not {target}.", formula, value
        )
    return Verdict(CORRECT, f"your formula evaluates to {target}.", formula, value, correct=True)


def _float_verdict(formula: str, expr, target: int) -> Verdict:
    """The original's float `eval` outcome for a formula that passed the token, grammar and number checks."""
    if any(len(lit) > 1 and lit[0] == "0" and lit.strip("0") for lit in _DIGITS_RE.findall(formula)):
        return Verdict(WRONG_VALUE, "your formula has a number with leading zeros.", formula)
    try:
        value = _float_tree(expr)
    except (ZeroDivisionError, OverflowError):
        return Verdict(WRONG_VALUE, "your formula divides by zero.", formula)
    if value != target:
        return Verdict(WRONG_VALUE, f"your formula evaluates to {value!r}, not {target}.", formula)
    return Verdict(CORRECT, f"your formula evaluates to {target}.", formula, Fraction(target), correct=True)


def _float_tree(expr):
    """The value of a parsed tree with Python's int and float operations (`/` is true division), iteratively:
    the same number Python's `eval` of the formula gives."""
    stack: list = [(expr, False)]
    values: list = []
    while stack:
        node, visited = stack.pop()
        if isinstance(node, Num):
            values.append(int(node.value))
        elif visited:
            b, a = values.pop(), values.pop()
            values.append(a + b if node.op == "+" else a - b if node.op == "-" else a * b if node.op == "*" else a / b)
        else:
            stack.extend([(node, True), (node.right, False), (node.left, False)])
    return values[0]


def _value(expr) -> Fraction | None:
    try:
        return evaluate_tree(expr)
    except ZeroDivisionError:
        return None


def score(response: str, numbers, target: int = 24, arithmetic: str = "exact") -> int:
    """The paper's reward for a raw response: 5, -1, -2 or -3 (see `verify` for the reason and `arithmetic`)."""
    return verify(response, numbers, target, arithmetic).reward
