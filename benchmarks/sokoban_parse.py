"""Benchmark: the Sokoban answer parser (`extract_answer`) vs the original's regex, on hostile and normal text.

The original takes `re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)`: on an unclosed `<answer>`
repeated, the lazy scan restarts at every `<answer>` and runs to the end, so the time grows with the square of
the length. Ours finds the first `<answer>` and the next `</answer>` with two `str.find` scans (linear). Both give
the same answer on every input (tests/tasks/test_sokoban_variants.py); the script asserts it here too.

    .venv/bin/python benchmarks/sokoban_parse.py           # up to the 200,000-character cap
    .venv/bin/python benchmarks/sokoban_parse.py --quick   # up to 32,000 characters
"""

from __future__ import annotations

import argparse
import re
import time

from sftlab.tasks.sokoban import extract_answer

_ORIGINAL = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_TOKENS = ("<think>", "</think>", "<answer>", "</answer>", "<|im_start|>", "<|im_end|>")


def original_extract(text: str) -> str | None:
    """The original's parse: first lazy DOTALL match, special tokens removed, stripped."""
    match = _ORIGINAL.search(text)
    if match is None:
        return None
    content = match.group(1).strip()
    for token in _TOKENS:
        content = content.replace(token, "").strip()
    return content


def best_time(fn, text: str, repeats: int) -> float:
    """The fastest of `repeats` calls, in seconds (the minimum damps machine load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="lengths up to 32,000 characters only")
    args = parser.parse_args()
    lengths = (8_000, 32_000) if args.quick else (8_000, 32_000, 128_000, 200_000)
    cases = {"unclosed <answer> repeated": "<answer>x", "normal CoT answer": None}
    for name, unit in cases.items():
        for n in lengths:
            text = (unit * (n // len(unit))) if unit else ("I think. " * (n // 9) + "</think> <answer> Up </answer>")
            assert extract_answer(text) == original_extract(text)
            repeats = 1 if unit and n > 32_000 else 3
            old = best_time(original_extract, text, repeats)
            new = best_time(extract_answer, text, 5)
            print(f"{name:28s} {len(text):>8,d} chars: original regex {old * 1e3:10.2f} ms, "
                  f"extract_answer {new * 1e3:8.3f} ms, ratio {old / max(new, 1e-9):10.1f}x", flush=True)


if __name__ == "__main__":
    main()
