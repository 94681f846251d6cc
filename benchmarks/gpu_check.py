"""GPU check: what sftlab does on one NVIDIA GPU, measured in one run of under 8 minutes (docs/performance.md).

    python benchmarks/gpu_check.py                 # on the GPU machine (smollm2-135m, bf16)
    python benchmarks/gpu_check.py --dry-run       # the same code paths at tiny size on CPU (tiny-random, fp32)
    bash benchmarks/gpu_check.sh                   # the same from a folder of carried wheels (no package index)

It prints, for smollm2-135m in bf16 (or tiny-random in fp32 with --dry-run):
1. SFT training tokens/s and MFU, padded batches vs padding-free (sdpa; and flash_attention_2 when the
   flash-attn package is installed), the ratio to padded;
2. the hf backend's closed-loop Sokoban evaluation, episodes/s (all episodes batched per turn);
3. the time of one GRPO step (the second; the first pays for warm-up);
4. a 2-process DDP SFT run through `accelerate launch` when there are two GPUs (--ddp on forces it; in
   --dry-run that is two gloo CPU processes);
5. fidelity: pure bf16's lost updates vs fp32 weights, and TRL's vLLM importance-sampling weights that sftlab's
   GRPO turns off (benchmarks/fidelity_check.py).
MFU = 6 x parameters x tokens/s / the GPU's peak dense bf16 FLOP/s (attention FLOPs not counted, so it is a lower
bound); the peak comes from a table of known GPUs or --peak-tflops. --json writes every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

# Peak dense bf16 tensor-core TFLOP/s (vendor datasheets, no sparsity); the first name found in the device name wins.
PEAK_BF16_TFLOPS = (("H200", 989), ("H100 PCIe", 756), ("H100", 989), ("H800", 989), ("GH200", 989),
                    ("A100", 312), ("A800", 312), ("L40S", 362), ("L40", 181), ("L4", 121), ("A10G", 70),
                    ("A10", 125), ("RTX 6000 Ada", 364), ("4090", 165), ("3090", 71), ("V100", 125), ("T4", 65))

SIZES = {
    # one GPU, well under 8 minutes including the one-time smollm2-135m conversion (~1 min)
    "gpu": {"model": "smollm2-135m", "sft_steps": 8, "sft_batch": 16, "max_length": 1024, "puzzles": 48,
            "episodes": 64, "turns": 10, "max_new_tokens": 16, "grpo_prompts": 16, "grpo_generations": 8,
            "grpo_completion": 256},
    # CPU, the same paths at tiny size (seconds per section)
    "dry": {"model": "tiny-random", "sft_steps": 2, "sft_batch": 4, "max_length": 512, "puzzles": 2,
            "episodes": 2, "turns": 2, "max_new_tokens": 4, "grpo_prompts": 2, "grpo_generations": 2,
            "grpo_completion": 4},
}


def peak_tflops(device_name: str, given: float | None) -> float | None:
    """Peak dense bf16 TFLOP/s of the device: `given`, else the table's entry for its name, else None."""
    if given:
        return given
    return next((peak for name, peak in PEAK_BF16_TFLOPS if name in device_name), None)


def environment() -> dict:
    import torch
    import transformers
    import trl

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__, "trl": trl.__version__, "gpus": gpus,
            "device": torch.cuda.get_device_name(0) if gpus else platform.processor() or "cpu",
            "bf16": bool(gpus and torch.cuda.is_bf16_supported()),
            "flash_attn": importlib.util.find_spec("flash_attn") is not None,
            "vllm": importlib.util.find_spec("vllm") is not None}


def count_parameters(checkpoint: Path) -> int:
    """Parameters stored in a checkpoint's safetensors files (read from the headers, nothing loaded)."""
    from safetensors import safe_open

    total = 0
    for file in checkpoint.glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as fh:
            for name in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
                n = 1
                for dim in fh.get_slice(name).get_shape():
                    n *= dim
                total += n
    return total


def sft_section(size: dict, work: Path, gpu: bool, peak: float | None, env: dict) -> list[dict]:
    """Tokens/s and MFU of padded vs padding-free SFT (one run each, same rows)."""
    from sft_throughput import mixed_rows, throughput

    from sftlab.train.sft import SftConfig, train_sft

    data = mixed_rows(work, size["puzzles"])
    modes = [("padded", "sdpa", {}), ("padding-free", "sdpa", {"padding_free": True})]
    if env["flash_attn"]:
        modes.append(("padding-free", "flash_attention_2", {"padding_free": True}))
    results, base = [], None
    for mode, attn, flags in modes:
        start = time.perf_counter()
        run = train_sft(SftConfig(model=size["model"], data=str(data), out=str(work / f"sft-{mode}-{attn}"),
                                  max_steps=size["sft_steps"], global_batch=size["sft_batch"],
                                  per_device_batch=size["sft_batch"], max_length=size["max_length"],
                                  learning_rate=1e-5, bf16=gpu, attn_implementation=attn,
                                  schedule=(size["sft_steps"],),
                                  **flags), progress=False)
        tps, sps = throughput(run)
        base = base or tps
        params = count_parameters(run / "checkpoints" / f"checkpoint-{size['sft_steps']}")
        mfu = 6 * params * tps / (peak * 1e12) if peak else None
        results.append({"section": "sft", "mode": mode, "attention": attn, "tokens_per_s": round(tps, 1),
                        "s_per_step": round(sps, 3), "ratio_vs_padded": round(tps / base, 3),
                        "parameters": params, "mfu": round(mfu, 4) if mfu is not None else None,
                        "wall_s": round(time.perf_counter() - start, 1)})
        r = results[-1]
        mfu_text = f"MFU {100 * r['mfu']:.1f}%" if r["mfu"] is not None else "MFU n/a (no known peak)"
        print(f"sft  {mode:<13} {attn:<18} {r['tokens_per_s']:>10.1f} tokens/s  {r['s_per_step']:>7.3f} s/step  "
              f"x{r['ratio_vs_padded']:.2f} vs padded  {mfu_text}", flush=True)
    return results


def eval_section(size: dict, gpu: bool) -> dict:
    """Closed-loop Sokoban episodes/s with the hf backend, every live episode batched per turn."""
    from sftlab.backends import SamplingParams, get_backend
    from sftlab.data.suites import suite_rows
    from sftlab.evaluate import closed_loop

    rows = suite_rows("sokoban-eval", n=max(1, -(-size["episodes"] // 8)))[: size["episodes"]]
    params = SamplingParams(temperature=0.5, max_new_tokens=size["max_new_tokens"], seed=0)
    backend = get_backend("hf", size["model"], batch_size=len(rows), device="cuda" if gpu else "cpu")
    closed_loop.play(backend, rows[:2], params, max_turns=1)  # warm-up
    start = time.perf_counter()
    played = closed_loop.play(backend, rows, params, max_turns=size["turns"])
    seconds = time.perf_counter() - start
    turns = sum(u["summary"]["turns"] for u in played)
    out = {"section": "eval", "episodes": len(rows), "episode_turns": turns, "seconds": round(seconds, 2),
           "episodes_per_s": round(len(rows) / seconds, 3), "turns_per_s": round(turns / seconds, 2)}
    print(f"eval closed-loop Sokoban (hf): {out['episodes_per_s']:.2f} episodes/s, {out['turns_per_s']:.1f} "
          f"episode-turns/s ({len(rows)} episodes, up to {size['turns']} turns, {size['max_new_tokens']} new "
          "tokens/turn)", flush=True)
    return out


def grpo_section(size: dict, work: Path, gpu: bool) -> dict:
    """The wall time of one GRPO step (generation + rewards + update), the second of two."""
    from sftlab.data import build_preset
    from sftlab.train.grpo import GrpoConfig, train_grpo
    from sftlab.train.runs import read_log_history

    data = build_preset("sokoban-rl", work / "rl", n=max(2, size["grpo_prompts"] // 2), progress=False,
                        force=True)
    run = train_grpo(GrpoConfig(model=size["model"], data=str(data), out=str(work / "grpo"), max_steps=2,
                                batch_prompts=size["grpo_prompts"], num_generations=size["grpo_generations"],
                                max_completion_length=size["grpo_completion"], bf16=gpu, use_vllm=False,
                                schedule=(2,)), progress=False)
    steps = [e for e in read_log_history(run) if "step_time" in e]
    out = {"section": "grpo", "prompts": size["grpo_prompts"], "generations": size["grpo_generations"],
           "max_completion": size["grpo_completion"], "step_s": round(steps[-1]["step_time"], 2),
           "first_step_s": round(steps[0]["step_time"], 2)}
    print(f"grpo one step: {out['step_s']:.2f} s ({out['prompts']} prompts x {out['generations']} generations, "
          f"<= {out['max_completion']} new tokens, transformers generate; first step {out['first_step_s']:.2f} s)",
          flush=True)
    return out


def ddp_section(size: dict, work: Path, gpu: bool) -> dict:
    """A 2-process DDP SFT run through `accelerate launch` (configs/accelerate/ddp.yaml): tokens/s."""
    import subprocess

    from sft_throughput import throughput

    from sftlab.experiment.launch import accelerate_command

    data = work / "mixed"  # written by the SFT section
    run = work / "sft-ddp"
    batch = size["sft_batch"]
    args = ["sftlab", "train", "sft", "--model", size["model"], "--data", str(data), "--out", str(run),
            "--max-steps", str(size["sft_steps"]), "--global-batch", str(batch), "--per-device-batch",
            str(batch // 2), "--max-length", str(size["max_length"]), "--lr", "1e-5",
            "--schedule", str(size["sft_steps"]), "--quiet", *(["--bf16"] if gpu else [])]
    cmd = accelerate_command(args, processes=2, gpu=gpu, config_file=str(ROOT / "configs/accelerate/ddp.yaml"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit("ddp launch failed:\n" + (done.stdout + done.stderr)[-3000:])
    tps, sps = throughput(run)
    plan = json.loads((run / "run.json").read_text())["plan"]
    out = {"section": "ddp", "processes": 2, "distributed": plan["distributed"], "tokens_per_s": round(tps, 1),
           "s_per_step": round(sps, 3), "wall_s": round(time.perf_counter() - start, 1)}
    print(f"ddp  2 processes ({out['distributed']}): {out['tokens_per_s']:.1f} tokens/s, {out['s_per_step']:.3f} "
          f"s/step at global batch {batch}", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny-random on CPU: the same code paths, seconds")
    parser.add_argument("--model", help="override the model (default: smollm2-135m; tiny-random with --dry-run)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's peak dense bf16 TFLOP/s, for MFU")
    parser.add_argument("--ddp", choices=("auto", "on", "off"), default="auto",
                        help="the 2-process DDP run: auto = when there are two GPUs")
    parser.add_argument("--sections", default="sft,eval,grpo,ddp,fidelity", help="comma list of sections to run")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)

    env = environment()
    gpu = env["gpus"] > 0 and not args.dry_run
    if not gpu and not args.dry_run:
        raise SystemExit("no CUDA GPU visible; run with --dry-run to check the code paths on CPU")
    size = dict(SIZES["gpu" if gpu else "dry"])
    if args.model:
        size["model"] = args.model
    peak = peak_tflops(env["device"], args.peak_tflops) if gpu else None
    print(f"gpu_check: {env['device']} x{env['gpus']}, torch {env['torch']} (CUDA {env['cuda']}), transformers "
          f"{env['transformers']}, trl {env['trl']}, flash-attn {'yes' if env['flash_attn'] else 'no'}; model "
          f"{size['model']} in {'bf16' if gpu else 'fp32 (dry run)'}; peak {peak or 'unknown'} TFLOP/s", flush=True)
    sections = set(args.sections.split(","))
    want_ddp = "ddp" in sections and (args.ddp == "on" or (args.ddp == "auto" and env["gpus"] >= 2 and gpu))
    report = {"environment": env, "sizes": size, "results": []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        if "sft" in sections or want_ddp:
            report["results"] += sft_section(size, work, gpu, peak, env)
        if "eval" in sections:
            report["results"].append(eval_section(size, gpu))
        if "grpo" in sections:
            report["results"].append(grpo_section(size, work, gpu))
        if want_ddp:
            report["results"].append(ddp_section(size, work, gpu))
        elif "ddp" in sections:
            print(f"ddp  skipped ({env['gpus']} GPU(s); --ddp on forces it)", flush=True)
        if "fidelity" in sections:
            from fidelity_check import SIZES as FIDELITY_SIZES
            from fidelity_check import fidelity_section

            report["results"] += fidelity_section(FIDELITY_SIZES["gpu" if gpu else "dry"], work, gpu)
    report["total_s"] = round(time.perf_counter() - started, 1)
    print(f"gpu_check: done in {report['total_s']:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
