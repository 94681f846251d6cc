"""Safe arithmetic for model output: `+ - * / ( )` over non-negative integers, exact `Fraction` values, no eval.

The grammar is the one the General Points reward enforces (and Countdown reuses):

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := INTEGER | '(' expr ')'

INTEGER is one or more ASCII digits `0-9` (leading zeros allowed: `08` is 8). There is no unary minus or plus, no
`**`, no names, no decimal points; ASCII whitespace between tokens is ignored. Unicode digits such as '２４' or
Arabic-Indic digits are rejected. Input length and parenthesis nesting are bounded, and the parser is iterative
(shunting-yard), so no input can exhaust the stack or take more than linear time to parse.

`Verdict` and `feedback_turn` are the result type shared by the General Points and Countdown verifiers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

from sftlab.errors import SftlabError

DEFAULT_MAX_LEN = 200
DEFAULT_MAX_DEPTH = 50
MAX_DIGITS = 1000  # per integer literal (Python's int() refuses more than 4300 digits)

_TOKEN_RE = re.compile(r"[0-9]+|[-+*/()]|[ \t\r\n]+")
_ILLEGAL_RE = re.compile(r"[^0-9+\-*/() \t\r\n]")
_ALLOWED = b"0123456789+-*/() \t\r\n"
_SPACE_RE = re.compile(r"[ \t\r\n]")
_NOT_PARENS_RE = re.compile(r"[^()]+")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class ExprError(SftlabError, ValueError):
    """The text is not a legal expression; the message says why (first problem found)."""


@dataclass(frozen=True)
class Num:
    """An integer literal."""

    value: int


@dataclass(frozen=True)
class BinOp:
    """A binary operation `left op right` with op one of `+ - * /`."""

    op: str
    left: Expr
    right: Expr


Expr = Num | BinOp


def tokenize(text: str, max_len: int = DEFAULT_MAX_LEN) -> list[str]:
    """Split `text` into integer and operator tokens (whitespace dropped); ExprError on anything else."""
    return _tokens(text, max_len, None)


def _tokens(text: str, max_len: int, max_depth: int | None) -> list[str]:
    if not isinstance(text, str):
        raise ExprError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > max_len:
        raise ExprError(f"the expression is longer than {max_len} characters")
    if not text.isascii() or text.encode("ascii").translate(None, _ALLOWED):  # C-speed pre-check
        bad = _ILLEGAL_RE.search(text)
        raise ExprError(f"illegal character {bad.group()!r} at position {bad.start()}")
    if max_depth is not None and text.count("(") > max_depth:
        # Reject deep nesting with C-speed scans before any per-token Python work on a huge input.
        if "(" * (max_depth + 1) in text or paren_depth_range(_NOT_PARENS_RE.sub("", text))[1] > max_depth:
            raise ExprError(f"parentheses are nested deeper than {max_depth} levels")
    tokens = _TOKEN_RE.findall(text)  # C speed; every character is matched, so nothing is skipped
    if _SPACE_RE.search(text) is None:
        return tokens
    return [tok for tok in tokens if not tok[0].isspace()]


def paren_depth_range(parens: str | bytes) -> tuple[int, int]:
    """(lowest, highest) running depth over a string of only '(' and ')' (0 for an empty string).

    Lowest < 0 means a ')' without its '('. Linear; vectorised with numpy for long inputs (numpy is imported on
    the first long input only).
    """
    if len(parens) < 4096:
        step = {"(": 1, ")": -1, 40: 1, 41: -1}  # str characters or bytes values
        depths = list(accumulate(map(step.__getitem__, parens)))
        return (min(0, min(depths, default=0)), max(0, max(depths, default=0)))
    import numpy as np

    raw = parens.encode("ascii") if isinstance(parens, str) else parens
    # '(' is byte 40 and ')' byte 41, so 81 - 2*byte is +1 / -1.
    depths = np.cumsum(81 - 2 * np.frombuffer(raw, dtype=np.uint8).astype(np.int32))
    return (min(0, int(depths.min())), max(0, int(depths.max())))


def _shunting_yard(tokens: list[str], leaf: Callable, apply: Callable, max_depth: int):
    """Parse `tokens` with the grammar above, folding with `leaf(int)` and `apply(op, left, right)`."""
    if not tokens:
        raise ExprError("the expression is empty")
    out: list = []
    ops: list[str] = []
    depth = 0
    expect_operand = True

    def reduce_top() -> None:
        op = ops.pop()
        right = out.pop()
        left = out.pop()
        out.append(apply(op, left, right))

    for i, tok in enumerate(tokens):
        if expect_operand:
            if tok == "(":
                depth += 1
                if depth > max_depth:
                    raise ExprError(f"parentheses are nested deeper than {max_depth} levels")
                ops.append(tok)
            elif tok[0].isdigit():
                if len(tok) > MAX_DIGITS:
                    raise ExprError(f"a number has more than {MAX_DIGITS} digits")
                out.append(leaf(int(tok)))
                expect_operand = False
            else:
                where = "at the start" if i == 0 else f"after {tokens[i - 1]!r}"
                raise ExprError(f"expected a number or '(' {where}, found {tok!r}")
        else:
            if tok == ")":
                if depth == 0:
                    raise ExprError("a ')' has no matching '('")
                while ops[-1] != "(":
                    reduce_top()
                ops.pop()
                depth -= 1
            elif tok in _PRECEDENCE:
                prec = _PRECEDENCE[tok]
                while ops and ops[-1] != "(" and _PRECEDENCE[ops[-1]] >= prec:
                    reduce_top()
                ops.append(tok)
                expect_operand = True
            else:
                raise ExprError(f"expected an operator or ')' after {tokens[i - 1]!r}, found {tok!r}")
    if expect_operand:
        raise ExprError("the expression ends with an operator or '('")
    if depth:
        raise ExprError(f"{depth} '(' never closed")
    while ops:
        reduce_top()
    return out[0]


def parse_expression(text: str, max_len: int = DEFAULT_MAX_LEN, max_depth: int = DEFAULT_MAX_DEPTH) -> Expr:
    """Parse `text` into an `Expr` tree; raise ExprError with the reason when it is not a legal expression."""
    return _shunting_yard(_tokens(text, max_len, max_depth), Num, BinOp, max_depth)


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b  # ZeroDivisionError is handled by the caller


def evaluate(
    text: str, max_len: int = DEFAULT_MAX_LEN, max_depth: int = DEFAULT_MAX_DEPTH
) -> Fraction | None:
    """The exact value of `text`, or None for anything illegal (bad token, grammar, too long/deep, division by 0).

    Never raises and never calls eval.
    """
    try:
        return _shunting_yard(_tokens(text, max_len, max_depth), Fraction, _apply, max_depth)
    except (ExprError, ZeroDivisionError):
        return None


def evaluate_tree(expr: Expr) -> Fraction:
    """The exact value of a parsed tree; raises ZeroDivisionError on division by zero. Iterative (no recursion)."""
    stack: list = [(expr, False)]
    values: list[Fraction] = []
    while stack:
        node, visited = stack.pop()
        if isinstance(node, Num):
            values.append(Fraction(node.value))
        elif visited:
            b = values.pop()
            a = values.pop()
            values.append(_apply(node.op, a, b))
        else:
            stack.append((node, True))
            stack.append((node.right, False))
            stack.append((node.left, False))
    return values[0]


def format_expr(expr: Expr) -> str:
    """The expression as text with only the parentheses that precedence and left-associativity require.

    Iterative, so arbitrarily deep trees are fine.
    """
    stack: list = [(expr, False)]
    texts: list[str] = []
    while stack:
        node, visited = stack.pop()
        if isinstance(node, Num):
            texts.append(str(node.value))
        elif not visited:
            stack.extend([(node, True), (node.right, False), (node.left, False)])
        else:
            right, left = texts.pop(), texts.pop()
            prec = _PRECEDENCE[node.op]
            if isinstance(node.left, BinOp) and _PRECEDENCE[node.left.op] < prec:
                left = f"({left})"
            if isinstance(node.right, BinOp):
                rprec = _PRECEDENCE[node.right.op]
                if rprec < prec or (rprec == prec and node.op in "-/"):
                    right = f"({right})"
            texts.append(f"{left}{node.op}{right}")
    return texts[0]


def numbers_used(text: str, max_len: int = DEFAULT_MAX_LEN) -> list[int]:
    """The integer literals of `text` in order of appearance; ExprError if `text` has an illegal token."""
    tokens = [tok for tok in tokenize(text, max_len) if tok[0].isdigit()]
    if any(len(tok) > MAX_DIGITS for tok in tokens):
        raise ExprError(f"a number has more than {MAX_DIGITS} digits")
    return [int(tok) for tok in tokens]


def format_value(value: Fraction) -> str:
    """`24` for integers, `47/2` otherwise."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class Verdict:
    """A verifier's judgement of one response.

    `reward` is the task's reward (General Points 5/-1/-2/-3, Countdown 1/0); `reason` is a lower-case clause that
    completes "You failed this trial because ..." (or states why the answer is right); `formula` is the formula
    that was judged (None when none was found); `value` its exact value when it could be computed.
    """

    reward: int
    reason: str
    formula: str | None = None
    value: Fraction | None = None
    correct: bool = False


def feedback_turn(verdict: Verdict) -> str:
    """The user turn that follows a failed attempt in the multi-turn mode of Chu et al. (2025).

    Returns "You failed this trial because <reason>" for a failed verdict and "" for a correct one (the episode
    ends there, so there is no next turn).
    """
    if verdict.correct:
        return ""
    return f"You failed this trial because {verdict.reason}"
