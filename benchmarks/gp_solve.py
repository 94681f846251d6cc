"""Benchmark: our General Points solver vs the original's brute force, on the same hands, in one run.

The reference is written the way the Debunk / SFT-vs-RL code does it (Rosetta-code `solve_game`): all distinct
permutations x operator products x bracket templates, each candidate built as a string of `F(n)` Fractions and
`eval`-ed. Our solver (`sftlab.tasks.general_points.solve`) searches every expression tree with exact rational
arithmetic. The script checks completeness (every reference solution's canonical form is among ours) and prints
both rates and the ratio. A second section times the verifier on hostile inputs.

    .venv/bin/python benchmarks/gp_solve.py            # 200 4-card and 20 5-card hands
    .venv/bin/python benchmarks/gp_solve.py --quick    # 50 and 3
"""

from __future__ import annotations

import argparse
import random
import time
from fractions import Fraction as F  # noqa: F401  (used by the eval-ed reference strings)
from itertools import chain, permutations, product, zip_longest

from sftlab.tasks.general_points import canonical, score, solve


def reference_solve(digits: list[int], target: int = 24) -> list[str]:
    """The original's template brute force (eval of strings it generated itself)."""
    digilen = len(digits)
    exprlen = 2 * digilen - 1
    digiperm = sorted(set(permutations(digits)))
    opcomb = list(product("+-*/", repeat=digilen - 1))
    brackets = (
        [()]
        + [
            (x, y)
            for x in range(0, exprlen, 2)
            for y in range(x + 4, exprlen + 2, 2)
            if (x, y) != (0, exprlen + 1)
        ]
        + [(0, 3 + 1, 4 + 2, 7 + 3)]
    )
    solutions = []
    for d in digiperm:
        for ops in opcomb:
            d2 = [f"F({i})" for i in d] if "/" in ops else d
            ex = list(chain.from_iterable(zip_longest(d2, ops, fillvalue="")))
            for b in brackets:
                exp = ex[::]
                for insertpoint, bracket in zip(b, "()" * (len(b) // 2), strict=False):
                    exp.insert(insertpoint, bracket)
                txt = "".join(str(i) for i in exp)
                try:
                    num = eval(txt)  # noqa: S307  # safe: benchmark reference on generated strings
                except ZeroDivisionError:
                    continue
                if num == target:
                    if "/" in ops:
                        exp = [(term if not term.startswith("F(") else term[2:-1]) for term in exp]
                    solutions.append("".join(str(i) for i in exp).rstrip())
    return solutions


def _hands(rng: random.Random, n: int, cards: int, largest: int) -> list[list[int]]:
    return [[min(rng.randint(1, largest), 10) for _ in range(cards)] for _ in range(n)]


def compare(hands: list[list[int]], label: str) -> float:
    t0 = time.perf_counter()
    ref = [reference_solve(h) for h in hands]
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [solve(h) for h in hands]
    t_ours = time.perf_counter() - t0
    missing = 0
    extra_solvable = 0
    for r, o in zip(ref, ours, strict=True):
        ref_canon = {canonical(s) for s in r}
        missing += len(ref_canon - set(o))
        extra_solvable += bool(o) and not r
    assert missing == 0, f"{label}: {missing} reference solutions missing from ours"
    ratio = t_ref / t_ours
    print(
        f"{label}: {len(hands)} hands | reference {len(hands) / t_ref:8.1f} hands/s ({t_ref:.2f} s) | "
        f"ours {len(hands) / t_ours:9.1f} hands/s ({t_ours:.3f} s) | speed-up {ratio:6.1f}x | "
        f"ref solutions covered: all | solvable only for ours: {extra_solvable} | "
        f"mean solutions ref {sum(map(len, ref)) / len(hands):.1f} (raw strings) vs ours "
        f"{sum(map(len, ours)) / len(hands):.1f} (canonical)"
    )
    return ratio


HOSTILE = {
    "empty": "",
    "1 MB of '9'": "9" * 1_000_000,
    "1 MB formula field": '{"formula": "' + "1+" * 500_000 + '1"}',
    "__import__('os')": "{\"formula\": \"__import__('os').system('ls')\"}",
    "9**9**9": '{"formula": "9**9**9"}',
    "2^1000000": '{"formula": "2^1000000"}',
    "10k nested parens": '{"formula": "' + "(" * 10_000 + "8/(3-8/3)" + ")" * 10_000 + '"}',
    "unicode digits": '{"formula": "８/(３-８/３)"}',
    "NaN": '{"formula": "NaN"}',
    "100k-deep JSON": "[" * 100_000,
    "5000-digit number": '{"formula": "' + "9" * 5_000 + '"}',
    # the largest inputs the verifier scans (just under its 200,000-character cap):
    "150k nested parens": '{"formula": "' + "(" * 75_000 + "8/(3-8/3)" + ")" * 75_000 + '"}',
    "70k numbers": '{"formula": "' + "1+" * 70_000 + '1"}',
    "90k '(' after ')'": '{"formula": "' + ")" + "(" * 90_000 + '"}',
}


def hostile() -> None:
    import numpy  # noqa: F401  (imported by any training/eval process; the verifier imports it on first long input)

    print("verifier on hostile inputs (cards 3,3,8,8), 7 runs each: median and worst")
    for name, text in HOSTILE.items():
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            reward = score(text, [3, 3, 8, 8])
            times.append(time.perf_counter() - t0)
        times.sort()
        print(
            f"  {name:<22} reward {reward:>2}  median {times[3] * 1000:7.2f} ms  worst {times[-1] * 1000:7.2f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer hands (smoke run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hostile-only", action="store_true", help="only time the verifier on hostile inputs")
    args = ap.parse_args()
    if args.hostile_only:
        hostile()
        return
    rng = random.Random(args.seed)
    n4, n5 = (50, 3) if args.quick else (200, 20)
    r4 = compare(_hands(rng, n4, 4, 13), "4 cards")
    r5 = compare(_hands(rng, n5, 5, 13), "5 cards")
    print(f"RESULT 4-card speed-up {r4:.1f}x (goal >= 50x); 5-card speed-up {r5:.1f}x, complete")
    hostile()


if __name__ == "__main__":
    main()
