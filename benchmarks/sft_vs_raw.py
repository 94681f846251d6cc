"""SFT step speed: sftlab's SFT path (`train_sft`, what `sftlab train sft` runs) vs a plain PyTorch loop, one run.

    .venv/bin/python benchmarks/sft_vs_raw.py [--model smollm2-135m] [--steps 5] [--batch 4] [--repeats 1]

Both train the same Sokoban answer-only rows (the quickstart's data, ~360 tokens each), in file order, one
micro-batch of `--batch` rows per optimizer step, fp32, AdamW (lr 1e-5, betas 0.9/0.95, weight decay 0.01),
gradient clipping 1.0, the loss on the completion tokens only. The plain loop is what a researcher would write:
`model(input_ids, attention_mask, labels).loss.backward()`, clip, `optimizer.step()`, `zero_grad()` on right-padded
batches. sftlab runs padded and `--padding-free`. The arms alternate (raw, sftlab, raw, sftlab padding-free, raw, ...)
so each sftlab arm is compared with the plain loop timed just before and just after it, and a load change on a shared
machine hits both sides. Throughput = real (non-padding) training tokens per second over the steps after the first
(warm-up), timed at the end of each step (for sftlab: when the trainer logs the step, every step), in wall time and
in this process's CPU time; the CPU-time ratio is the steadier one on a shared machine (run with OMP_NUM_THREADS=1
there, so CPU time is compute, not threads spinning). Prints each arm and the ratio sftlab / plain loop (goal >=
0.95), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ARMS = {"sftlab": {}, "sftlab --padding-free": {"padding_free": True}}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def build_rows(workdir: Path, puzzles: int) -> Path:
    """A data folder of Sokoban answer-only rows (sftlab data build sokoban-answer-only --n PUZZLES)."""
    from sftlab.data import build_preset

    out = workdir / "data"
    build_preset("sokoban-answer-only", out, seed=0, n=puzzles, force=True, progress=False)
    return out


def raw_batches(data: Path, tokenizer, batch: int, steps: int) -> list[dict]:
    """Right-padded batches of the first `batch * steps` rows; labels -100 on the prompt and the padding."""
    import torch

    from sftlab.data import load_rows

    rows = load_rows(data, "train")[: batch * steps]
    if len(rows) < batch * steps:
        raise SystemExit(f"only {len(rows)} rows for {steps} steps of {batch}; raise --puzzles")
    encoded = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        encoded.append((ids, [-100] * n_prompt + ids[n_prompt:]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batches = []
    for start in range(0, len(encoded), batch):
        chunk = encoded[start:start + batch]
        width = max(len(ids) for ids, _ in chunk)
        batches.append({
            "input_ids": torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in chunk]),
            "attention_mask": torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk]),
            "labels": torch.tensor([labels + [-100] * (width - len(labels)) for _, labels in chunk]),
        })
    return batches


def rates(marks: list[tuple[float, float]], tokens: list[int]) -> dict:
    """Tokens/s in wall and CPU time over steps 2..N, from (wall, cpu) clock marks taken at the end of each step."""
    timed = sum(tokens[1:])
    return {"tokens_per_s": timed / (marks[-1][0] - marks[0][0]), "tokens_per_cpu_s": timed / (marks[-1][1] - marks[0][1]),
            "step_tokens": tokens}


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def run_raw(model_path: str, batches: list[dict]) -> dict:
    """The plain PyTorch loop."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), weight_decay=0.01)
    marks, tokens = [], []
    for batch in batches:
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()  # a plain loop reads its loss too
        marks.append(clock())
        tokens.append(int(batch["attention_mask"].sum()))
    return rates(marks, tokens)


def run_sftlab(model: str, data: Path, out: Path, steps: int, batch: int, flags: dict) -> dict:
    """`train_sft` as `sftlab train sft` runs it, logging every step; clock marks when each step is logged."""
    from sftlab.train import callbacks
    from sftlab.train.runs import read_log_history
    from sftlab.train.sft import SftConfig, train_sft

    marks = []
    on_log = callbacks.JsonlLog.on_log

    def marked(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            marks.append(clock())
        return on_log(self, args, state, control, logs=logs, **kwargs)

    callbacks.JsonlLog.on_log = marked
    try:
        run = train_sft(SftConfig(model=model, data=str(data), out=str(out), max_steps=steps, global_batch=batch,
                                  per_device_batch=batch, learning_rate=1e-5, shuffle=False, max_length=1024,
                                  logging_steps=1, **flags), progress=False)
    finally:
        callbacks.JsonlLog.on_log = on_log
    totals = [int(e["num_tokens"]) for e in read_log_history(run) if "loss" in e]
    return rates(marks, [b - a for a, b in zip([0, *totals], totals, strict=False)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per arm; the first is not timed")
    parser.add_argument("--batch", type=int, default=4, help="rows per optimizer step (one micro-batch)")
    parser.add_argument("--puzzles", type=int, help="Sokoban puzzles to build rows from [steps x batch]")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of raw, sftlab, raw, padding-free, raw")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is warm-up)")

    import torch
    from transformers import AutoTokenizer

    from sftlab.models import resolve

    model_path = str(resolve(args.model))
    print(f"model {args.model}, {args.steps} steps x {args.batch} rows per arm, torch threads "
          f"{torch.get_num_threads()}, load average {load_average()}", flush=True)
    results = []

    def show(arm: str, result: dict) -> None:
        print(f"  {arm:<23} {result['tokens_per_s']:8.1f} tokens/s {result['tokens_per_cpu_s']:8.1f} tokens/CPU-s  "
              f"(load {load_average()})", flush=True)

    with tempfile.TemporaryDirectory(prefix="sft-vs-raw-") as tmp:
        data = build_rows(Path(tmp), args.puzzles or args.steps * args.batch)
        batches = raw_batches(data, AutoTokenizer.from_pretrained(model_path), args.batch, args.steps)

        def raw() -> float:
            result = run_raw(model_path, batches)
            show("plain loop", result)
            results.append({"arm": "raw", **result})
            return result

        for repeat in range(args.repeats):
            before = raw()
            for number, (arm, flags) in enumerate(ARMS.items()):
                result = run_sftlab(args.model, data, Path(tmp) / f"run-{repeat}-{number}", args.steps, args.batch,
                                    flags)
                show(arm, result)
                after = raw()
                ratios = {key: result[key] / ((before[key] + after[key]) / 2)
                          for key in ("tokens_per_s", "tokens_per_cpu_s")}
                if result["step_tokens"] != after["step_tokens"]:
                    print(f"  note: step tokens differ: sftlab {result['step_tokens']} vs raw {after['step_tokens']}")
                print(f"{arm}: x{ratios['tokens_per_s']:.3f} of the plain loop in wall time, "
                      f"x{ratios['tokens_per_cpu_s']:.3f} in CPU time", flush=True)
                results.append({"arm": arm, "repeat": repeat, "ratio_wall": round(ratios["tokens_per_s"], 3),
                                "ratio_cpu": round(ratios["tokens_per_cpu_s"], 3), **result})
                before = after
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
