"""Benchmark: closed-loop Sokoban eval, batched vs one episode at a time, or one hf-backend speed-up on vs off, in one run.

`--compare batching` (default):

Both arms use the same loaded model (hf backend), the same sampling settings and the same per-turn seeds, so they
play the same episodes; the batched arm advances all live episodes of all tags in one `generate` call per turn
(what `sftlab eval` does), the baseline plays each episode alone (batch of 1). The script prints both times, the
ratio, and how many episodes ended identically in both arms (per-prompt seeding makes them agree up to
floating-point near-ties of batched vs unbatched matmuls).

    .venv/bin/python benchmarks/eval_closed_loop.py                  # tiny-random, 64 episodes x 30 turns
    .venv/bin/python benchmarks/eval_closed_loop.py --model smollm2-135m --episodes 16 --turns 5

`--compare prefix | decode | episode`: one closed-loop turn (the batched prefill of every episode's prompt plus up
to `--max-new-tokens` decode steps, what each turn of `sftlab eval` costs) with one of the hf backend's speed-ups
off and on, the arms alternated `--repeats` times; prints the median wall and CPU times, their ratios and how many
responses are identical in both arms.
- prefix: prefix reuse (`reuse_prefix`), turn 0.
- decode: the preallocated KV cache (`preallocate`) against transformers' dynamic cache, turn 0; use
  `--max-new-tokens 256` for CoT-length generation.
- episode: the cross-turn episode cache (`episode_cache`): each arm plays turns 0 and 1 and the second is timed,
  a base-model turn: an episode that did not move has the same prompt again.
The other speed-ups stay as `sftlab eval` has them (on), except the episode cache, which is off in the prefix and
decode comparisons.

    .venv/bin/python benchmarks/eval_closed_loop.py --compare prefix --model smollm2-135m --episodes 40 \
        --max-new-tokens 64 --repeats 3
    .venv/bin/python benchmarks/eval_closed_loop.py --compare decode --model smollm2-135m --episodes 40 \
        --max-new-tokens 256 --repeats 2
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
    parser.add_argument("--compare", choices=("batching", *TOGGLES), default="batching")
    parser.add_argument("--batch-size", type=int, default=None, help="hf batch size (default: all episodes; "
                        "`sftlab eval` uses 32)")
    parser.add_argument("--repeats", type=int, default=3, help="--compare prefix/decode/episode: timed turns per "
                        "arm")
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
    if args.compare in TOGGLES:
        toggle(backend, rows, params, args.repeats, args.compare)
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


TOGGLES = {  # --compare: the hf backend's attribute turned off and on, and the turns played (the last one is timed)
    "prefix": ("reuse_prefix", 1),
    "decode": ("preallocate", 1),
    "episode": ("episode_cache", 2),
}


def toggle(backend, rows, params, repeats: int, what: str) -> None:
    """Time the last of `turns` closed-loop turns with one hf speed-up off and on (alternating; median of
    `repeats` each) and count the identical responses of that turn."""
    import os
    import statistics

    import torch

    from sftlab.backends.hf import plan_prefixes, render_chat
    from sftlab.evaluate import closed_loop
    from sftlab.task_adapters.environment import Episode
    from sftlab.task_adapters.sokoban_env import SokobanEnvironment

    attribute, turns = TOGGLES[what]
    env = SokobanEnvironment()
    chats = [env.messages(Episode(r, 0, env.reset(r))) for r in rows]
    ids = [backend.tokenizer(render_chat(backend.tokenizer, chat), add_special_tokens=False)["input_ids"]
           for chat in chats]
    plan = plan_prefixes(ids) or [0] * len(ids)
    print(f"{attribute} off vs on, timing turn {turns - 1}: model {backend.model_name} on {backend.device}, torch "
          f"threads {torch.get_num_threads()}, batch size {backend.batch_size}; {len(rows)} prompts of "
          f"{min(map(len, ids))}-{max(map(len, ids))} tokens, shared prefixes {min(plan)}-{max(plan)} tokens (whole "
          f"batch), max_new_tokens {params.max_new_tokens}, load average {os.getloadavg()[0]:.1f}", flush=True)
    backend.episode_cache = what == "episode"
    closed_loop.play(backend, rows[:2], params, max_turns=1)  # warm-up (first-call allocations)
    times: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}  # process CPU time: steadier than wall on a busy machine
    responses: dict[bool, list[str]] = {}
    for _ in range(repeats):
        for on in (False, True):
            setattr(backend, attribute, on)
            marks: dict[int, tuple[float, float]] = {}  # turn -> clocks when its generate call starts
            hits = backend.episode_hits
            units = closed_loop.play(backend, rows, params, max_turns=turns,
                                     on_turn=lambda turn, _live, marks=marks: marks.update({turn: _clocks()}))
            wall, used = (end - start for end, start in zip(_clocks(), marks[turns - 1], strict=True))
            times[on].append(wall)
            cpu[on].append(used)
            last = [u["records"][-1] for u in units]
            responses[on] = [(r["turn"], r["response"]) for r in last]
            lengths = [r["response_tokens"] for r in last]
            print(f"  {attribute}={on!s:5}: {wall:7.1f} s wall, {used:7.1f} s CPU; response tokens "
                  f"{statistics.mean(lengths):.0f} mean, {max(lengths)} max; prompts from the episode cache "
                  f"{backend.episode_hits - hits}; load average {os.getloadavg()[0]:.1f}", flush=True)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    off_cpu, on_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
    same = sum(a == b for a, b in zip(responses[False], responses[True], strict=True))
    print(f"turn {turns - 1}, median of {repeats}: without {attribute} {off:.1f} s wall / {off_cpu:.1f} s CPU, "
          f"with {on:.1f} s / {on_cpu:.1f} s; speedup {off / on:.2f}x wall, {off_cpu / on_cpu:.2f}x CPU; "
          f"{same}/{len(rows)} responses identical; load average {os.getloadavg()[0]:.1f}")


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


if __name__ == "__main__":
    main()
