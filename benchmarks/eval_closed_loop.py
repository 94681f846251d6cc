"""Benchmark: closed-loop Sokoban eval, batched vs one episode at a time, or prefix reuse on vs off, in one run.

`--compare batching` (default):

Both arms use the same loaded model (hf backend), the same sampling settings and the same per-turn seeds, so they
play the same episodes; the batched arm advances all live episodes of all tags in one `generate` call per turn
(what `sftlab eval` does), the baseline plays each episode alone (batch of 1). The script prints both times, the
ratio, and how many episodes ended identically in both arms (per-prompt seeding makes them agree up to
floating-point near-ties of batched vs unbatched matmuls).

    .venv/bin/python benchmarks/eval_closed_loop.py                  # tiny-random, 64 episodes x 30 turns
    .venv/bin/python benchmarks/eval_closed_loop.py --model smollm2-135m --episodes 16 --turns 5

`--compare prefix`: one closed-loop turn (the batched prefill of every episode's prompt plus `--max-new-tokens`
decode steps, what each turn of `sftlab eval` costs) with the hf backend's prefix reuse on and off
(`reuse_prefix`), the arms alternated `--repeats` times; prints the median times, their ratio and how many
responses are identical in both arms.

    .venv/bin/python benchmarks/eval_closed_loop.py --compare prefix --model smollm2-135m --episodes 40 \
        --max-new-tokens 64 --repeats 3
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
    parser.add_argument("--compare", choices=("batching", "prefix"), default="batching")
    parser.add_argument("--batch-size", type=int, default=None, help="hf batch size (default: all episodes; "
                        "`sftlab eval` uses 32)")
    parser.add_argument("--repeats", type=int, default=3, help="--compare prefix: timed turns per arm")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice; 1 "
                        "avoids the spin-waiting of 2 threads on a loaded 2-core machine)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from sftlab.backends import SamplingParams, get_backend
    from sftlab.data.suites import suite_rows
    from sftlab.evaluate import closed_loop

    rows = suite_rows("sokoban-eval", n=max(1, -(-args.episodes // 8)))
    rows = rows[: args.episodes] if len(rows) > args.episodes else rows
    params = SamplingParams(temperature=0.5, max_new_tokens=args.max_new_tokens, seed=0)
    backend = get_backend("hf", args.model, batch_size=args.batch_size or len(rows), device=args.device)
    if args.compare == "prefix":
        prefix_reuse(backend, rows, params, args.repeats)
        return
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


def prefix_reuse(backend, rows, params, repeats: int) -> None:
    """Time one closed-loop turn with prefix reuse off and on (alternating; median of `repeats` each)."""
    import os
    import statistics

    import torch

    from sftlab.backends.hf import plan_prefixes, render_chat
    from sftlab.evaluate import closed_loop

    episodes = [closed_loop.start_episode(r, n) for r, n in zip(rows, closed_loop.episode_numbers(rows), strict=True)]
    ids = [backend.tokenizer(render_chat(backend.tokenizer, [{"role": "user", "content": e.prompt()}]),
                             add_special_tokens=False)["input_ids"] for e in episodes]
    plan = plan_prefixes(ids) or [0] * len(ids)
    print(f"model {backend.model_name} on {backend.device}, torch threads {torch.get_num_threads()}, "
          f"batch size {backend.batch_size}; {len(rows)} prompts of {min(map(len, ids))}-{max(map(len, ids))} tokens, "
          f"shared prefixes {min(plan)}-{max(plan)} tokens (whole batch), max_new_tokens {params.max_new_tokens}, "
          f"load average {os.getloadavg()[0]:.1f}")
    closed_loop.play(backend, rows[:2], params, max_turns=1)  # warm-up (first-call allocations)
    times: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}  # process CPU time: steadier than wall on a busy machine
    responses: dict[bool, list[str]] = {}
    for _ in range(repeats):
        for reuse in (False, True):
            backend.reuse_prefix = reuse
            start, start_cpu = time.perf_counter(), time.process_time()
            units = closed_loop.play(backend, rows, params, max_turns=1)
            times[reuse].append(time.perf_counter() - start)
            cpu[reuse].append(time.process_time() - start_cpu)
            responses[reuse] = [u["records"][0]["response"] for u in units]
            print(f"  reuse_prefix={reuse!s:5}: {times[reuse][-1]:7.1f} s wall, {cpu[reuse][-1]:7.1f} s CPU", flush=True)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    off_cpu, on_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
    same = sum(a == b for a, b in zip(responses[False], responses[True], strict=True))
    print(f"one turn, median of {repeats}: without prefix reuse {off:.1f} s wall / {off_cpu:.1f} s CPU, with "
          f"{on:.1f} s / {on_cpu:.1f} s; speedup {off / on:.2f}x wall, {off_cpu / on_cpu:.2f}x CPU; "
          f"{same}/{len(rows)} responses identical; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
