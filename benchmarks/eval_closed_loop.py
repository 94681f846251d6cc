"""Benchmark: closed-loop Sokoban eval batched across episodes vs one episode at a time, in one run.

Both arms use the same loaded model (hf backend), the same sampling settings and the same per-turn seeds, so they
play the same episodes; the batched arm advances all live episodes of all tags in one `generate` call per turn
(what `sftlab eval` does), the baseline plays each episode alone (batch of 1). The script prints both times, the
ratio, and how many episodes ended identically in both arms (per-prompt seeding makes them agree up to
floating-point near-ties of batched vs unbatched matmuls).

    .venv/bin/python benchmarks/eval_closed_loop.py                  # tiny-random, 64 episodes x 30 turns
    .venv/bin/python benchmarks/eval_closed_loop.py --model smollm2-135m --episodes 16 --turns 5
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--episodes", type=int, default=64, help="total episodes (spread over the 8 tags)")
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    import torch

    from sftlab.backends import SamplingParams, get_backend
    from sftlab.data.suites import suite_rows
    from sftlab.evaluate import closed_loop

    rows = suite_rows("sokoban-eval", n=max(1, -(-args.episodes // 8)))
    rows = rows[: args.episodes] if len(rows) > args.episodes else rows
    params = SamplingParams(temperature=0.5, max_new_tokens=args.max_new_tokens, seed=0)
    backend = get_backend("hf", args.model, batch_size=len(rows), device=args.device)
    print(f"model {args.model} on {backend.device}, torch threads {torch.get_num_threads()}; {len(rows)} episodes "
          f"x up to {args.turns} turns, max_new_tokens {args.max_new_tokens}")
    closed_loop.play(backend, rows[:2], params, max_turns=1)  # warm-up (first-call allocations)

    start = time.perf_counter()
    batched = closed_loop.play(backend, rows, params, max_turns=args.turns)
    t_batched = time.perf_counter() - start
    print(f"batched across episodes: {t_batched:8.1f} s  ({len(rows) / t_batched:.2f} episodes/s)")

    start = time.perf_counter()
    alone = []
    for row in rows:
        alone.extend(closed_loop.play(backend, [row], params, max_turns=args.turns))
    t_alone = time.perf_counter() - start
    print(f"one episode at a time:   {t_alone:8.1f} s  ({len(rows) / t_alone:.2f} episodes/s)")

    same = sum(a["summary"] == b["summary"] for a, b in zip(batched, alone, strict=True))
    turns = sum(u["summary"]["turns"] for u in batched)
    print(f"speedup (one at a time / batched): {t_alone / t_batched:.1f}x over {turns} episode-turns; "
          f"{same}/{len(rows)} episodes identical in both arms")


if __name__ == "__main__":
    main()
