"""SFT training throughput: padding-free / packed batches vs plain padded batches, same data, one run.

    .venv/bin/python benchmarks/sft_throughput.py [--models tiny-random,smollm2-135m] [--modes padded,bf16] [--steps 4]

For each model it trains the same rows (Sokoban answer-only and CoT rows mixed, so lengths differ) with
`train_sft` in three modes: padded (the default), padding-free (a batch concatenated into one row) and packing
(best-fit-decreasing blocks of max_length, padding-free inside), and padded in bf16 autocast (on a GPU, or a CPU
with bf16 instructions: AVX512-BF16 or AMX). Throughput is real (non-padding) training tokens
per second over the steps after the first (warm-up), from the run's own log. Prints one line per mode and the ratio
to padded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sftlab.data import build_preset, load_rows
from sftlab.io import write_jsonl, write_manifest
from sftlab.train.runs import read_log_history
from sftlab.train.sft import SftConfig, train_sft

MODES = {"padded": {}, "padding_free": {"padding_free": True}, "packing": {"packing": True},
         "bf16": {"bf16": True}}  # padded, bf16 autocast: on CPU only where the CPU has bf16 instructions


def mixed_rows(workdir: Path, n: int) -> Path:
    """A data folder of answer-only (~360 tokens) and CoT (~460 tokens) Sokoban rows, interleaved."""
    rows = []
    for preset in ("sokoban-answer-only", "sokoban-cot"):
        out = workdir / preset
        build_preset(preset, out, seed=0, n=n, force=True, progress=False)
        rows.append(load_rows(out, "train"))
    mixed = [row for pair in zip(*rows, strict=False) for row in pair]
    folder = workdir / "mixed"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", mixed)
    write_manifest(folder, {"benchmark": "sft_throughput", "n": n})
    return folder


def throughput(run: Path) -> tuple[float, float]:
    """(tokens/s, s/step) over the logged steps after the first."""
    logs = [e for e in read_log_history(run) if "loss" in e and "tokens_per_second" in e]
    if not logs:
        raise SystemExit(f"{run}: too few steps logged to measure")
    speeds = [e["tokens_per_second"] for e in logs]
    tokens = [b["num_tokens"] - a["num_tokens"] for a, b in zip(logs, logs[1:], strict=False)]
    tokens = tokens or [logs[0]["num_tokens"]]
    mean_tps = sum(speeds) / len(speeds)
    return mean_tps, (sum(tokens) / len(tokens)) / mean_tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny-random,smollm2-135m")
    parser.add_argument("--modes", default=",".join(MODES), help="padded (the baseline) always runs first")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8, help="sequences per optimizer step (one micro-batch)")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--puzzles", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")

    results = []
    with tempfile.TemporaryDirectory(prefix="sft-bench-") as tmp:
        data = mixed_rows(Path(tmp), args.puzzles)
        for model in args.models.split(","):
            base = None
            for mode in dict.fromkeys(["padded", *args.modes.split(",")]):
                flags = MODES[mode]
                start = time.perf_counter()
                run = train_sft(SftConfig(model=model, data=str(data), out=f"{tmp}/{model}-{mode}",
                                          max_steps=args.steps, global_batch=args.batch, per_device_batch=args.batch,
                                          max_length=args.max_length, learning_rate=1e-5, **flags), progress=False)
                tps, sps = throughput(run)
                base = base or tps
                results.append({"model": model, "mode": mode, "tokens_per_s": round(tps, 1),
                                "s_per_step": round(sps, 2), "ratio_vs_padded": round(tps / base, 3),
                                "wall_s": round(time.perf_counter() - start, 1)})
                r = results[-1]
                print(f"{model:<14} {mode:<13} {r['tokens_per_s']:>9.1f} tokens/s  {r['s_per_step']:>7.2f} s/step  "
                      f"x{r['ratio_vs_padded']:.2f} vs padded", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
