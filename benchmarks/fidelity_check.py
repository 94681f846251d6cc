"""Fidelity settings whose effect only a GPU run shows at scale (docs/fidelity.md), measured against a baseline.

    python benchmarks/fidelity_check.py               # on the GPU machine (smollm2-135m)
    python benchmarks/fidelity_check.py --dry-run     # the same code paths on CPU (tiny-random)
    python benchmarks/gpu_check.py --sections fidelity   # the same, as a section of the GPU check

1. Pure bf16 (`precision: pure_bf16`, the Rethinking original's `model_dtype=bf16`) vs fp32 weights: the same SFT
   steps at a late-schedule learning rate; the share of weights the steps changed in each, and the ratio. Updates
   smaller than bf16's resolution are lost: the ratio is how much of the fp32 run's movement pure bf16 keeps.
2. TRL's vLLM importance-sampling correction (`vllm_importance_sampling_correction`, off in sftlab's GRPO as in
   verl): two GRPO steps with vLLM and the correction on; TRL's logged importance-sampling ratio (min, mean, max)
   and the log-prob gap between vLLM and the trainer. With `sequence_mask` a ratio of 0 is a dropped completion,
   which the original never drops. Needs vllm; skipped without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

SIZES = {"gpu": {"model": "smollm2-135m", "puzzles": 16, "steps": 4, "batch": 16, "lr": 1e-6, "prompts": 16,
                 "generations": 8, "completion": 256},
         "dry": {"model": "tiny-random", "puzzles": 2, "steps": 2, "batch": 4, "lr": 1e-6, "prompts": 2,
                 "generations": 2, "completion": 4}}


def _changed_share(before: dict, after: dict) -> float:
    total = sum(t.numel() for t in before.values())
    return sum(int((after[k].float() != before[k].float()).sum()) for k in before) / total


def bf16_update_loss(size: dict, work: Path) -> dict:
    """Share of weights moved by the same SFT steps in pure bf16 and with fp32 weights, and their ratio."""
    import torch
    from safetensors.torch import load_file

    from sftlab.data import build_preset
    from sftlab.models import load
    from sftlab.train.sft import SftConfig, train_sft

    data = build_preset("sokoban-answer-only", work / "sft-data", n=size["puzzles"], force=True, progress=False)
    initial = {k: v.detach().clone() for k, v in load(size["model"], device="cpu", dtype="float32")[0]
               .state_dict().items()}
    out = {"section": "fidelity", "check": "bf16_update_loss", "lr": size["lr"], "steps": size["steps"]}
    for precision in ("fp32", "pure_bf16"):
        run = train_sft(SftConfig(model=size["model"], data=str(data), out=str(work / f"sft-{precision}"),
                                  precision=precision, learning_rate=size["lr"], lr_scheduler="constant",
                                  warmup_ratio=0.0, max_steps=size["steps"], global_batch=size["batch"],
                                  per_device_batch=size["batch"], schedule=(size["steps"],), force=True),
                        progress=False)
        after = load_file(run / "checkpoints" / f"checkpoint-{size['steps']}" / "model.safetensors")
        start = {k: (v.to(torch.bfloat16) if precision == "pure_bf16" else v) for k, v in initial.items() if k in after}
        out[f"changed_{precision}"] = round(_changed_share(start, {k: after[k] for k in start}), 6)
    out["ratio_bf16_vs_fp32"] = round(out["changed_pure_bf16"] / max(out["changed_fp32"], 1e-12), 4)
    print(f"fidelity pure bf16 vs fp32 weights, {size['steps']} SFT steps at lr {size['lr']}: weights changed "
          f"{100 * out['changed_pure_bf16']:.2f}% vs {100 * out['changed_fp32']:.2f}% "
          f"(x{out['ratio_bf16_vs_fp32']:.3f})", flush=True)
    return out


def vllm_is_weights(size: dict, work: Path, gpu: bool) -> dict:
    """TRL's importance-sampling ratios in two GRPO steps with vLLM and the correction on (what sftlab turns off)."""
    out = {"section": "fidelity", "check": "vllm_is_weights"}
    if not gpu or importlib.util.find_spec("vllm") is None:
        print("fidelity vLLM importance sampling: skipped (needs a GPU and vllm)", flush=True)
        return {**out, "skipped": True}
    from sftlab.data import build_preset
    from sftlab.train.grpo import GrpoConfig, train_grpo
    from sftlab.train.runs import read_log_history

    data = build_preset("sokoban-diverse-rl", work / "rl", n=max(2, size["prompts"] // 2), force=True,
                        progress=False)
    run = train_grpo(GrpoConfig(model=size["model"], data=str(data), out=str(work / "grpo-is"), max_steps=2,
                                batch_prompts=size["prompts"], num_generations=size["generations"],
                                max_completion_length=size["completion"], bf16=True, use_vllm=True,
                                vllm_importance_sampling_correction=True, schedule=(2,), force=True),
                     progress=False)
    keys = ("sampling/importance_sampling_ratio/min", "sampling/importance_sampling_ratio/mean",
            "sampling/importance_sampling_ratio/max", "sampling/sampling_logp_difference/mean",
            "sampling/sampling_logp_difference/max")
    logs = [e for e in read_log_history(run) if keys[0] in e]
    for key in keys:
        out[key.split("/", 1)[1]] = [round(e[key], 4) for e in logs if key in e]
    print(f"fidelity vLLM IS correction (sequence mask, cap 3): ratio min {out['importance_sampling_ratio/min']}, "
          f"mean {out['importance_sampling_ratio/mean']}, max {out['importance_sampling_ratio/max']} per step "
          "(a min of 0: completions dropped from the loss)", flush=True)
    return out


def fidelity_section(size: dict, work: Path, gpu: bool) -> list[dict]:
    """Both checks (the second only with a GPU and vllm)."""
    return [bf16_update_loss(size, work), vllm_is_weights(size, work, gpu)]


def main(argv: list[str] | None = None) -> list[dict]:
    import tempfile

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny-random on CPU")
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available() and not args.dry_run
    if not gpu and not args.dry_run:
        raise SystemExit("no CUDA GPU visible; run with --dry-run to check the code paths on CPU")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fidelity-check-") as tmp:
        results = fidelity_section(SIZES["gpu" if gpu else "dry"], Path(tmp), gpu)
    print(f"fidelity_check: done in {time.perf_counter() - start:.0f} s", flush=True)
    return results


if __name__ == "__main__":
    main()
