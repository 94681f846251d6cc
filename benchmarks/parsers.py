"""Time the cross-domain answer parser on hostile model output: the old regex scan vs today's str.find scan.

    .venv/bin/python benchmarks/parsers.py [--sizes 32000,128000,200000] [--repeats 3]

The hostile input is an unclosed `<answer>` repeated up to the size (the response cap is 200,000 characters).
The old `final_answer` ran `re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL)`: from every `<answer>` it
scanned to the end for a `</answer>`, so its time grows with the square of the length. `crossdomain.final_answer`
now finds each tag once (`last_answer_tag`), with the same result on every input. Printed per size: the best of
`--repeats` runs of each and the ratio old / new. The old one takes about a minute in all at the default sizes.
"""

from __future__ import annotations

import argparse
import re
import time

from sftlab.tasks.crossdomain import final_answer


def old_final_answer(response: str) -> str | None:
    """The regex tag scan the cross-domain parser used before (the `\\boxed{}` part is unchanged and omitted)."""
    text = response.split("</think>")[-1] if "</think>" in response else response
    tags = re.findall(r"<answer>(.*?)</answer>", text, flags=re.DOTALL)
    return tags[-1].strip() if tags else None


def best_time(fn, text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32000,128000,200000", help="input lengths in characters")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'chars':>8} {'old regex s':>12} {'new find s':>12} {'old/new':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        text = ("<answer>" * (size // len("<answer>") + 1))[:size]
        assert final_answer(text) == old_final_answer(text)  # same result (None here)
        old = best_time(old_final_answer, text, args.repeats)
        new = best_time(final_answer, text, args.repeats)
        print(f"{size:>8} {old:>12.3f} {new:>12.6f} {old / new:>9.0f}x", flush=True)


if __name__ == "__main__":
    main()
