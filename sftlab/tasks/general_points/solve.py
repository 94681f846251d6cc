"""Every distinct solution of a General Points hand, with exact rational arithmetic over all expression trees.

Distinct means distinct up to commutativity and associativity: every expression is put in a canonical n-ary form
(a sum is its sorted positive terms then its sorted negative terms, a product its sorted numerator factors then
its sorted denominator factors), so `(8-2)*4` and `4*(8-2)`, or `8/(1/3)` and `3*8/1`, collapse to one string.
`canonical(text)` maps any formula to that form; `solve` returns one string per canonical class, sorted.

Completeness: the search covers every binary expression tree over the cards (all orders, all 4 operators), so for
5 cards it finds solutions outside the original's bracket templates, and `8/(3-8/3)` for 3,3,8,8 is found exactly
(the original's float-free Fraction eval finds it too, but its reward's float `eval` rejects it; see verify.py).

How: every sub-multiset of the cards gets a table from each value it can make to the derivations of that value
(memoised by the sorted multiset), computed on values only. The top level is goal-directed: for each split of the
hand into two parts and each value of one part, the value the other part needs is computed per operator and
looked up, so the full hand is never enumerated, and formulas are built (and canonicalised) only for the values
a solution uses.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from math import gcd

from sftlab.tasks.expr import BinOp, Expr, Num, parse_expression

# A canonical node: (kind, text, a, b). LEAF: a = b = (). SUM: a = positive terms, b = negative terms (strings of
# leaves or products). PROD: a = numerator factors, b = denominator factors (leaves, or sums in parentheses).
LEAF, SUM, PROD = 0, 1, 2
Node = tuple


def _leaf(n: int) -> Node:
    return (LEAF, str(n), (), ())


def _terms(x: Node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (x[2], x[3]) if x[0] == SUM else ((x[1],), ())


def _factors(x: Node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if x[0] == PROD:
        return x[2], x[3]
    if x[0] == SUM:
        return ("(" + x[1] + ")",), ()
    return (x[1],), ()


def _sum(pos: list[str], neg: list[str]) -> Node:
    pos.sort()
    neg.sort()
    text = "+".join(pos) + "".join("-" + t for t in neg)
    return (SUM, text, tuple(pos), tuple(neg))


def _prod(num: list[str], den: list[str]) -> Node:
    num.sort()
    den.sort()
    text = "*".join(num) + "".join("/" + f for f in den)
    return (PROD, text, tuple(num), tuple(den))


def combine(op: str, x: Node, y: Node) -> Node:
    """The canonical node of `x op y` (values are tracked separately by the caller)."""
    if op in "+-":
        (xp, xn), (yp, yn) = _terms(x), _terms(y)
        if op == "+":
            return _sum([*xp, *yp], [*xn, *yn])
        return _sum([*xp, *yn], [*xn, *yp])
    (xu, xd), (yu, yd) = _factors(x), _factors(y)
    if op == "*":
        return _prod([*xu, *yu], [*xd, *yd])
    return _prod([*xu, *yd], [*xd, *yu])


def _canonical_node(expr: Expr) -> Node:
    stack: list = [(expr, False)]
    nodes: list[Node] = []
    while stack:
        e, visited = stack.pop()
        if isinstance(e, Num):
            nodes.append(_leaf(e.value))
        elif visited:
            y = nodes.pop()
            x = nodes.pop()
            nodes.append(combine(e.op, x, y))
        else:
            stack.extend([(e, True), (e.right, False), (e.left, False)])
    return nodes[0]


def canonical(formula: str | Expr) -> str:
    """The canonical form of a formula (commutative/associative rearrangements give the same string).

    Integer literals are normalised (`08` -> `8`); ExprError if the text is not a legal expression.
    """
    expr = parse_expression(formula, max_len=10_000, max_depth=200) if isinstance(formula, str) else formula
    return _canonical_node(expr)[1]


# --- enumeration -------------------------------------------------------------------------------------------------
#
# Values are exact rationals kept as reduced (numerator, denominator) int pairs with denominator > 0: the same
# exactness as Fraction at a fraction of the cost. Sub-multisets are searched by *value class*: table[ms] maps each
# value that ms can make (using every number once) to its derivations (op, left_ms, left_value, right_ms,
# right_value). Trees are only expanded (and canonicalised) for the values a solution needs.

Value = tuple[int, int]
Deriv = tuple  # (op, lms, lv, rms, rv); the leaf's derivation is ()
Table = dict[Value, list[Deriv]]


def _norm(n: int, d: int) -> Value:
    if d < 0:
        n, d = -n, -d
    g = gcd(n, d)
    return (n // g, d // g) if g != 1 else (n, d)


def _add(x: Value, y: Value) -> Value:
    if x[1] == 1 and y[1] == 1:
        return (x[0] + y[0], 1)
    return _norm(x[0] * y[1] + y[0] * x[1], x[1] * y[1])


def _sub(x: Value, y: Value) -> Value:
    if x[1] == 1 and y[1] == 1:
        return (x[0] - y[0], 1)
    return _norm(x[0] * y[1] - y[0] * x[1], x[1] * y[1])


def _mul(x: Value, y: Value) -> Value:
    if x[1] == 1 and y[1] == 1:
        return (x[0] * y[0], 1)
    return _norm(x[0] * y[0], x[1] * y[1])


def _div(x: Value, y: Value) -> Value:  # y != 0
    return _norm(x[0] * y[1], x[1] * y[0])


def _splits(ms: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Unordered splits of a sorted multiset into two non-empty sorted sub-multisets, in sorted order."""
    n = len(ms)
    out = set()
    for k in range(1, n // 2 + 1):
        for idx in combinations(range(n), k):
            left = tuple(ms[i] for i in idx)
            right = tuple(ms[i] for i in range(n) if i not in idx)
            out.add((left, right) if left <= right else (right, left))
    return sorted(out)


def _reach(ms: tuple[int, ...], memo: dict[tuple[int, ...], Table]) -> Table:
    """Every value the sorted multiset `ms` can make using each number exactly once, with its derivations."""
    if ms in memo:
        return memo[ms]
    table: Table = defaultdict(list)
    if len(ms) == 1:
        table[(ms[0], 1)].append(())
    else:
        for lms, rms in _splits(ms):
            lt, rt = _reach(lms, memo), _reach(rms, memo)
            for x in lt:
                for y in rt:
                    table[_add(x, y)].append(("+", lms, x, rms, y))
                    table[_mul(x, y)].append(("*", lms, x, rms, y))
                    table[_sub(x, y)].append(("-", lms, x, rms, y))
                    table[_sub(y, x)].append(("-", rms, y, lms, x))
                    if y[0]:
                        table[_div(x, y)].append(("/", lms, x, rms, y))
                    if x[0]:
                        table[_div(y, x)].append(("/", rms, y, lms, x))
    memo[ms] = table
    return table


def _expand(ms: tuple[int, ...], v: Value, memo: dict, emo: dict) -> dict[str, Node]:
    """Every canonical expression over `ms` (each number once) whose value is `v`, keyed by its text."""
    key = (ms, v)
    if key in emo:
        return emo[key]
    out: dict[str, Node] = {}
    for deriv in memo[ms][v]:
        if not deriv:
            node = _leaf(ms[0])
            out[node[1]] = node
            continue
        _expand_deriv(deriv, memo, emo, out)
    emo[key] = out
    return out


def _expand_deriv(deriv: Deriv, memo: dict, emo: dict, out: dict[str, Node]) -> None:
    op, lms, lv, rms, rv = deriv
    for x in _expand(lms, lv, memo, emo).values():
        for y in _expand(rms, rv, memo, emo).values():
            node = combine(op, x, y)
            out.setdefault(node[1], node)


def _needed(va: Value, t: Value) -> list[tuple[str, bool, Value]]:
    """(op, a_first, vb) such that `a op b == t` (a_first) or `b op a == t` (not a_first); t != 0."""
    out = [("+", True, _sub(t, va)), ("-", True, _sub(va, t)), ("-", False, _add(va, t))]
    if va[0]:
        out.append(("*", True, _div(t, va)))
        out.append(("/", True, _div(va, t)))  # a / b == t  ->  b == a/t, non-zero because a != 0
        out.append(("/", False, _mul(t, va)))  # b / a == t  ->  b == t*a
    return out


def solve(numbers, target: int = 24) -> list[str]:
    """Every distinct solution formula (canonical, no spaces, sorted) that uses each number exactly once.

    `numbers` are the card values (non-negative integers); exact rational arithmetic throughout. Empty list when
    the hand has no solution.
    """
    ms = tuple(sorted(int(n) for n in numbers))
    if not ms:
        return []
    t: Value = (int(target), 1)
    memo: dict[tuple[int, ...], Table] = {}
    emo: dict = {}
    if len(ms) == 1 or t[0] == 0:
        # Brute force over the full hand: trivial for one card; target 0 breaks the value lookup below (rare).
        table = _reach(ms, memo)
        return sorted(_expand(ms, t, memo, emo)) if t in table else []
    found: dict[str, Node] = {}
    for lms, rms in _splits(ms):
        lt, rt = _reach(lms, memo), _reach(rms, memo)
        if len(lt) > len(rt):  # iterate the smaller table, look values up in the larger
            lms, rms, lt, rt = rms, lms, rt, lt
        for va in lt:
            for op, a_first, vb in _needed(va, t):
                if vb in rt:
                    deriv = (op, lms, va, rms, vb) if a_first else (op, rms, vb, lms, va)
                    _expand_deriv(deriv, memo, emo, found)
    return sorted(found)


def is_solvable(numbers, target: int = 24) -> bool:
    """Whether the hand has at least one solution (cheaper than `solve`: no formulas are built)."""
    ms = tuple(sorted(int(n) for n in numbers))
    if not ms:
        return False
    t: Value = (int(target), 1)
    memo: dict[tuple[int, ...], Table] = {}
    if len(ms) == 1 or t[0] == 0:
        return t in _reach(ms, memo)
    for lms, rms in _splits(ms):
        lt, rt = _reach(lms, memo), _reach(rms, memo)
        if len(lt) > len(rt):
            lt, rt = rt, lt
        if any(vb in rt for va in lt for _, _, vb in _needed(va, t)):
            return True
    return False


def find_tree(numbers, target: int, memo: dict | None = None) -> Expr | None:
    """One expression tree that uses every number exactly once and equals `target`, or None (goal-directed).

    Pass the same `memo` dict to several calls to share the sub-multiset tables between them.
    """
    ms = tuple(sorted(int(n) for n in numbers))
    if not ms:
        return None
    t: Value = (int(target), 1)
    memo = {} if memo is None else memo
    if len(ms) == 1 or t[0] == 0:
        return _tree(ms, t, memo) if t in _reach(ms, memo) else None
    for lms, rms in _splits(ms):
        lt, rt = _reach(lms, memo), _reach(rms, memo)
        if len(lt) > len(rt):
            lms, rms, lt, rt = rms, lms, rt, lt
        for va in lt:
            for op, a_first, vb in _needed(va, t):
                if vb in rt:
                    a, b = _tree(lms, va, memo), _tree(rms, vb, memo)
                    return BinOp(op, a, b) if a_first else BinOp(op, b, a)
    return None


def _tree(ms: tuple[int, ...], v: Value, memo: dict) -> Expr:
    """The first derivation of value `v` over `ms`, as a tree."""
    deriv = memo[ms][v][0]
    if not deriv:
        return Num(ms[0])
    op, lms, lv, rms, rv = deriv
    return BinOp(op, _tree(lms, lv, memo), _tree(rms, rv, memo))
