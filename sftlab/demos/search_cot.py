"""Search traces with backtracking (Stream-of-Search style) for arithmetic games: Countdown and General Points.

A trace walks a depth-first search over partial results: it tries a combination of two numbers, follows it, hits
a dead end, says so ("This doesn't work, backtrack."), returns and tries another branch, until the branch that
reaches the target; then it re-checks the steps. `dead_ends` sets how many abandoned branches appear before the
solution branch (capped by how many the instance has), which is the knob for "how much backtracking".

Every dead end is a true one: an exhaustive, memoised search over exact fractions proves that the target cannot
be reached from the state it leaves. The solution branch is built from the same search, so the final expression
is correct by construction; callers still re-verify it with the task's verifier before keeping a row.

Arithmetic is exact (Fractions). Intermediate results are positive (subtraction takes the larger minus the
smaller); zero is allowed only when every number must be used (General Points).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

_DEAD_END = (
    "This doesn't work, backtrack.",
    "Dead end. Let me backtrack.",
    "Wait, that can't work. Backtrack.",
    "Hmm, no. Backtrack and try something else.",
)
_TRY = ("Try", "Let me try", "What about", "Next, try")


@dataclass(frozen=True)
class _Item:
    value: Fraction
    text: str  # the expression over the original numbers
    op: str | None  # top-level operator; None for an original number


@dataclass(frozen=True)
class Trace:
    """A search trace: the reasoning lines, the final expression, the solution steps and the dead ends shown."""

    lines: tuple[str, ...]
    expression: str
    steps: tuple[str, ...]  # the solution branch, as "a op b = c" strings
    dead_ends: int
    numbers: tuple[int, ...]
    target: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def fmt(value: Fraction) -> str:
    """A number as the trace writes it: `7`, or `41/2` for a fraction."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _operand(value: Fraction) -> str:
    return fmt(value) if value.denominator == 1 else f"({fmt(value)})"


def step_text(a: Fraction, op: str, b: Fraction, result: Fraction) -> str:
    """One arithmetic step as written in traces: `a op b = c` (fraction operands in parentheses)."""
    return f"{_operand(a)} {op} {_operand(b)} = {fmt(result)}"


def _wrap(item: _Item, ops: str) -> str:
    return f"({item.text})" if item.op is not None and item.op in ops else item.text


def _combine(p: _Item, op: str, q: _Item) -> _Item:
    if op == "+":
        return _Item(p.value + q.value, f"{p.text}+{q.text}", "+")
    if op == "-":
        return _Item(p.value - q.value, f"{p.text}-{_wrap(q, '+-')}", "-")
    if op == "*":
        return _Item(p.value * q.value, f"{_wrap(p, '+-')}*{_wrap(q, '+-')}", "*")
    return _Item(p.value / q.value, f"{_wrap(p, '+-')}/{_wrap(q, '+-*/')}", "/")


@dataclass(frozen=True)
class _Move:
    i: int
    j: int
    op: str
    left: _Item
    right: _Item
    result: _Item

    def step(self) -> str:
        return step_text(self.left.value, self.op, self.right.value, self.result.value)


class _Search:
    def __init__(self, target: int, use_all: bool):
        self.target = Fraction(target)
        self.use_all = use_all
        self.memo: dict[tuple[float, ...], bool] = {}

    def moves(self, items: list[_Item]) -> list[_Move]:
        out = []
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                a, b = items[i], items[j]
                p, q = (a, b) if a.value >= b.value else (b, a)
                ops = [("+", p, q), ("*", p, q)]
                if p.value != q.value or self.use_all:
                    ops.append(("-", p, q))
                if q.value != 0:
                    ops.append(("/", p, q))
                if p.value != 0 and p.value != q.value:
                    ops.append(("/", q, p))
                out += [_Move(i, j, op, left, right, _combine(left, op, right)) for op, left, right in ops]
        return out

    @staticmethod
    def apply(items: list[_Item], move: _Move) -> list[_Item]:
        return [x for k, x in enumerate(items) if k not in (move.i, move.j)] + [move.result]

    def done(self, items: list[_Item]) -> bool:
        if self.use_all:
            return len(items) == 1 and items[0].value == self.target
        return any(x.value == self.target for x in items)

    def solvable(self, values) -> bool:
        """Whether the target is reachable from `values` (exhaustive; floats with a tolerance, memoised).

        Floats keep the search fast; the solution branch itself is built and checked with exact Fractions.
        """
        return self._reach(tuple(sorted(round(float(v), 9) for v in values)))

    def _reach(self, key: tuple[float, ...]) -> bool:
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        target = float(self.target)
        if self.use_all and len(key) == 1:
            result = abs(key[0] - target) < 1e-6
        elif not self.use_all and any(abs(v - target) < 1e-6 for v in key):
            result = True
        elif len(key) == 1:
            result = False
        elif len(key) == 2:  # the last combination: no recursion needed
            result = any(abs(r - target) < 1e-6 for r in self._results(key[1], key[0]))
        else:
            result = False
            n = len(key)
            for i in range(n):
                for j in range(i + 1, n):
                    rest = key[:i] + key[i + 1:j] + key[j + 1:]
                    for r in self._results(key[j], key[i]):  # key is sorted: key[j] >= key[i]
                        if self._reach(tuple(sorted((*rest, round(r, 9))))):
                            result = True
                            break
                    if result:
                        break
                if result:
                    break
        self.memo[key] = result
        return result

    def _results(self, p: float, q: float) -> list[float]:
        out = [p + q, p * q]
        if p != q or self.use_all:
            out.append(p - q)
        if q != 0:
            out.append(p / q)
        if p != 0 and p != q:
            out.append(q / p)
        return out


def _values(items: list[_Item]) -> tuple[Fraction, ...]:
    return tuple(x.value for x in items)


def _listing(items: list[_Item]) -> str:
    return ", ".join(fmt(x.value) for x in items)


def is_solvable(numbers, target: int, *, use_all: bool) -> bool:
    """Whether `target` can be made from `numbers` (each used once; all of them when `use_all`)."""
    return _Search(target, use_all).solvable(tuple(Fraction(n) for n in numbers))


def search_trace(numbers, target: int, *, rng: random.Random, dead_ends: int = 2, use_all: bool = False,
                 probe_depth: int = 2) -> Trace | None:
    """A backtracking search trace that reaches `target` from `numbers`, or None when it cannot be reached.

    `use_all=True` is the General Points rule (every number exactly once); False is Countdown (at most once).
    `dead_ends` abandoned branches are shown before the solution branch, spread over the levels of the search
    (fewer when the instance has fewer unsolvable branches). Each abandoned branch is followed for up to
    `probe_depth` further steps before the trace gives up on it.
    """
    search = _Search(target, use_all)
    items = [_Item(Fraction(n), str(n), None) for n in numbers]
    if not search.solvable(_values(items)):
        return None
    # The solution branch: at each level a random move that keeps the target reachable.
    states, path = [items], []
    while not search.done(states[-1]):
        good = [m for m in search.moves(states[-1]) if search.solvable(_values(search.apply(states[-1], m)))]
        move = rng.choice(_prefer_whole(good))
        path.append(move)
        states.append(search.apply(states[-1], move))
    # Dead ends: distinct unsolvable branches, drawn level by level.
    bad: list[list[_Move]] = []
    for state in states[:-1]:
        seen, options = set(), []
        for m in search.moves(state):
            key = tuple(sorted(_values(search.apply(state, m))))
            if key not in seen and not search.solvable(key):
                seen.add(key)
                options.append(m)
        bad.append(options)
    chosen: list[list[_Move]] = [[] for _ in bad]
    for _ in range(dead_ends):
        levels = [k for k, options in enumerate(bad) if options]
        if not levels:
            break
        level = rng.choice(levels)
        pick = rng.choice(_prefer_whole(bad[level]))
        bad[level].remove(pick)
        chosen[level].append(pick)

    target_text = str(target)
    rule = "each exactly once" if use_all else "each at most once"
    lines = [f"Numbers: {_listing(items)}. Target: {target_text}. I can use the numbers {rule}."]
    shown = 0
    if not path:
        hit = next(x for x in items if x.value == search.target)
        lines.append(f"{hit.text} is already the target.")
    for level, move in enumerate(path):
        state = states[level]
        indent = "  " * level
        for dead in chosen[level]:
            after = search.apply(state, dead)
            lines.append(f"{indent}{rng.choice(_TRY)} {dead.step()}. Remaining: {_listing(after)}.")
            lines += _probe(search, after, rng, indent + "  ", probe_depth, target_text)
            lines.append(f"{indent}  {target_text} cannot be reached from {_listing(after)}. "
                         f"{rng.choice(_DEAD_END)}")
            shown += 1
        after = states[level + 1]
        if search.done(after):
            lines.append(f"{indent}{rng.choice(_TRY)} {move.step()}. That's the target {target_text}!")
        else:
            lines.append(f"{indent}{rng.choice(_TRY)} {move.step()}. Remaining: {_listing(after)}.")
    final = next((x for x in states[-1] if x.value == search.target), None)
    if final is None:  # the float oracle and exact arithmetic disagreed (never seen); give up on this instance
        return None
    steps = tuple(m.step() for m in path)
    used = _leaves(final.text)
    if steps:
        lines.append(f"Let me verify: {', '.join(steps)}. So {final.text} = {target_text}.")
    lines.append(f"It uses {', '.join(used)}, {'each exactly once' if use_all else 'each at most once'}. "
                 f"Correct.")
    return Trace(tuple(lines), final.text, steps, shown, tuple(int(n) for n in numbers), int(target))


def _prefer_whole(moves: list[_Move]) -> list[_Move]:
    """Moves with whole-number results when there are any: traces read like a person's search."""
    return [m for m in moves if m.result.value.denominator == 1] or moves


def _probe(search: _Search, items: list[_Item], rng: random.Random, indent: str, depth: int,
           target_text: str) -> list[str]:
    """Follow an abandoned branch a few steps and report what it reaches."""
    lines = []
    for _ in range(depth):
        if len(items) < 2:
            break
        move = rng.choice(_prefer_whole(search.moves(items)))
        items = search.apply(items, move)
        if len(items) == 1:
            lines.append(f"{indent}{move.step()}, not {target_text}.")
        else:
            lines.append(f"{indent}{move.step()}. Remaining: {_listing(items)}.")
    return lines


def _leaves(expression: str) -> list[str]:
    out, digits = [], ""
    for ch in expression + " ":
        if ch.isdigit():
            digits += ch
        elif digits:
            out.append(digits)
            digits = ""
    return out
