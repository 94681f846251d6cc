"""A Countdown solver: one expression that reaches the target using each given number at most once.

Exact rational arithmetic (intermediate fractions are allowed, as the verifier allows them). Sub-multisets are
tried from the smallest up, so the answer uses as few numbers as possible; each one is searched with the General
Points value-class search (`sftlab.tasks.general_points.solve.find_tree`), whose tables are shared across subsets.
"""

from __future__ import annotations

from itertools import combinations

from sftlab.tasks.general_points.solve import canonical, find_tree


def solve(numbers, target: int) -> str | None:
    """An expression over a sub-multiset of `numbers` equal to `target` (fewest numbers first), or None.

    The expression is in the canonical form of `general_points.canonical` (e.g. `50+77+93-92`).
    """
    nums = sorted(int(n) for n in numbers)
    seen: set[tuple[int, ...]] = set()
    memo: dict = {}
    for k in range(1, len(nums) + 1):
        for idx in combinations(range(len(nums)), k):
            sub = tuple(nums[i] for i in idx)
            if sub in seen:
                continue
            seen.add(sub)
            tree = find_tree(sub, target, memo)
            if tree is not None:
                return canonical(tree)
    return None
