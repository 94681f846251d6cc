"""Two training processes on CPU: `accelerate launch --num_processes 2` of `sftlab train sft|grpo` (torchrun
launcher, gloo backend) with the repo's DDP and FSDP launch configs, as docs/training.md shows.

CPU override: `--mixed_precision no` (the configs say bf16, which is for GPUs) and no `--cpu` flag: accelerate's
`--cpu` starts ONE process whatever --num_processes says (its multi-CPU launch goes through mpirun), so on a
machine without GPUs the launch is the configs' own torchrun launch, which accelerate runs on gloo CPU processes.
accelerate shards (FSDP) only on GPUs: an FSDP launch on CPU processes runs as data parallel, and the run records
and says so (plan.distributed == MULTI_CPU).

Each launch costs ~20-40 s on 2 cores (two processes importing torch/TRL), so the file holds six launches:
SFT with ddp.yaml (killed, resumed), SFT with fsdp.yaml, GRPO with ddp.yaml (killed, resumed), and one refused
launch (~10 s: it stops before loading the model).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sftlab.train.runs import list_checkpoints, read_log_history, read_run

from .conftest import sokoban_rows, write_data_folder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SFT_STEPS = 6  # killed once checkpoint-2 is complete: four steps left, time enough for the kill on a fast machine
# 10 rows, global batch 4 = 1 per device x 2 accumulation x 2 processes: 3 steps per epoch (4 + 4 + 2 rows)
SFT_ARGS = ["--model", "tiny-random", "--max-steps", str(SFT_STEPS), "--schedule", "2", "--global-batch", "4",
            "--per-device-batch", "1", "--lr", "1e-3", "--max-length", "512"]
# 4 prompts, 2 prompts x 2 generations = 4 completions per step = 1 per device x 2 accumulation x 2 processes
GRPO_ARGS = ["--model", "tiny-random", "--max-steps", "3", "--schedule", "1", "--batch-prompts", "2",
             "--num-generations", "2", "--per-device-batch", "1", "--max-completion-length", "8"]
TIMEOUT = 420


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(config: str, *args: str) -> list[str]:
    """The documented command: accelerate launch --config_file configs/accelerate/X.yaml --num_processes 2
    --mixed_precision no -m sftlab train ... (the port is free-picked so parallel launches never collide)."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ROOT / "configs/accelerate" / config),
            "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", str(free_port()),
            "-m", "sftlab", "train", *args]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def run_to_end(cmd: list[str]) -> str:
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout


def kill_after(cmd: list[str], marker: Path, log: Path) -> None:
    """Start the launch and SIGKILL every process of it (launcher, torchrun agent, both ranks: torchrun puts its
    workers in sessions of their own, so the whole process tree is walked) once `marker` exists."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        try:
            while not marker.is_file():
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"no {marker} within {TIMEOUT} s"
                time.sleep(0.05)
        finally:
            tree = psutil.Process(proc.pid)
            for child in [tree, *tree.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.send_signal(signal.SIGKILL)
            proc.wait()


def check_run_folder(run: Path, kind: str, steps: int, checkpoints: list[int], stdout: str) -> dict:
    """What rank 0 alone writes: one run.json (complete), one log line per step, complete and loadable
    checkpoints with both ranks' resume state in the newest; and one summary line and one path printed."""
    info = read_run(run)
    assert info["kind"] == kind and info["status"] == "complete" and info["final_step"] == steps
    plan = info["plan"]
    assert (plan["world_size"], plan["per_device_batch"], plan["grad_accum"]) == (2, 1, 2)
    assert plan["distributed"] == "MULTI_CPU"
    assert (run / "data_manifest.json").is_file()
    assert [e["step"] for e in read_log_history(run) if "loss" in e] == list(range(1, steps + 1))
    assert [s for s, _ in list_checkpoints(run)] == [0, *checkpoints]
    newest = run / "checkpoints" / f"checkpoint-{checkpoints[-1]}"
    assert {"rng_state_0.pth", "rng_state_1.pth", "optimizer.pt"} <= {p.name for p in newest.iterdir()}
    assert {p.parent for p in run.glob("checkpoints/*/rng_state*")} == {newest}  # older ones are stripped
    assert stdout.count(f"{kind} tiny-random on ") == 1, stdout  # the plan summary, from rank 0 only
    assert stdout.strip().splitlines()[-1] == str(run) and stdout.count(str(run)) == 1
    return info


def step_tokens(logs: list[dict]) -> list[float]:
    """Tokens trained on in each step, from the cumulative `num_tokens` (a resumed process may restart TRL's
    count from zero, unless the run restores it: a drop marks the restart)."""
    out, before = [], 0.0
    for entry in logs:
        if entry["num_tokens"] < before:
            before = 0.0
        out.append(entry["num_tokens"] - before)
        before = entry["num_tokens"]
    return out


def loads_and_runs(folder: str) -> None:
    import torch

    from sftlab.models import load

    model, tokenizer = load(folder, device="cpu")
    with torch.no_grad():
        out = model(**tokenizer("Up Down", return_tensors="pt"))
    assert torch.isfinite(out.logits).all()


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory) -> Path:
    return write_data_folder(tmp_path_factory.mktemp("mp") / "sokoban", sokoban_rows(3))


def test_sft_ddp_killed_resumes_and_matches_one_process(sft_data, tmp_path):
    run = tmp_path / "run"
    cmd = launch("ddp.yaml", "sft", "--data", str(sft_data), "--out", str(run), *SFT_ARGS)
    kill_after(cmd, run / "checkpoints/checkpoint-2/COMPLETE", tmp_path / "killed.log")
    killed = read_run(run)
    assert killed["status"] == "running" and killed["last_checkpoint"] < SFT_STEPS  # really killed mid-way
    resumed_from = killed["last_checkpoint"]

    stdout = run_to_end(launch("ddp.yaml", "sft", "--data", str(sft_data), "--out", str(run), *SFT_ARGS))
    assert stdout.count(f"resuming from checkpoint-{resumed_from}") == 1
    info = check_run_folder(run, "sft", SFT_STEPS, [2, SFT_STEPS], stdout)
    assert info["config"] == killed["config"] and info["plan"]["effective_batch"] == 4
    loads_and_runs(str(run / f"checkpoints/checkpoint-{SFT_STEPS}"))

    # One process, same global batch (2 per device x 2 accumulation) and seed: the same sequences per step
    from sftlab.train.sft import SftConfig, train_sft

    ref = train_sft(SftConfig(model="tiny-random", data=str(sft_data), out=str(tmp_path / "one"),
                              max_steps=SFT_STEPS, schedule="2", global_batch=4, per_device_batch=2,
                              learning_rate=1e-3, max_length=512), progress=False)
    two = [e for e in read_log_history(run) if "loss" in e]
    one = [e for e in read_log_history(ref) if "loss" in e]
    # num_tokens is the trainer's count of tokens trained on, summed over both processes: the same count at every
    # step means each optimizer step saw the same global batch of sequences (4, not 4 per process).
    assert step_tokens(two) == step_tokens(one)
    from safetensors.torch import load_file

    a = load_file(run / f"checkpoints/checkpoint-{SFT_STEPS}/model.safetensors")
    b = load_file(ref / f"checkpoints/checkpoint-{SFT_STEPS}/model.safetensors")
    assert a.keys() == b.keys()
    # Tolerance 1e-5 (absolute, fp32; weights are ~1 in size): DDP averages the two processes' gradients
    # (all-reduce) where one process sums the same per-token losses in another order, so the two differ only by
    # float32 rounding (~1e-7 relative), which six Adam steps (lr 1e-3, dividing by sqrt(v)) can amplify;
    # measured 7.5e-8 after six steps on 2 CPU cores. A real batching mistake (another global batch, a
    # double-counted process, a lost accumulation step) moves weights by ~lr = 1e-3 per step, 100x the tolerance.
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-5, worst
    assert all(abs(x["loss"] - y["loss"]) < 1e-4 for x, y in zip(two, one, strict=True))


def test_sft_fsdp_config_runs_on_two_cpu_processes(sft_data, tmp_path):
    run = tmp_path / "run"
    args = [*SFT_ARGS, "--max-steps", "2"]  # the last --max-steps wins: 2 steps, checkpoint at 2
    stdout = run_to_end(launch("fsdp.yaml", "sft", "--data", str(sft_data), "--out", str(run), *args))
    check_run_folder(run, "sft", 2, [2], stdout)
    assert "accelerate runs this FSDP launch as MULTI_CPU" in stdout  # said once, by rank 0
    loads_and_runs(str(run / "checkpoints/checkpoint-2"))


@pytest.fixture(scope="module")
def rl_data(tmp_path_factory) -> Path:
    from sftlab.data import build_preset

    return build_preset("sokoban-diverse-rl", tmp_path_factory.mktemp("mprl") / "sok", n=2, progress=False)


def prompt_tokens(data: Path) -> list[int]:
    """Tokens of each RL prompt as TRL feeds it (chat template with the generation prompt, then the task's prefill,
    e.g. Sokoban's `<think>`, as GRPO's prompt_prefill renders it)."""
    from sftlab.io import read_jsonl
    from sftlab.models import load
    from sftlab.train.grpo import trl_rows

    _, tokenizer = load("tiny-random", device="cpu", for_training=True)  # the tokenizer the trainer gets

    def text(prompt):
        if isinstance(prompt, str):  # already rendered, with its prefill
            return prompt
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    rows = trl_rows(read_jsonl(data / "train.jsonl"), tokenizer)
    return [len(tokenizer(text(row["prompt"]), add_special_tokens=False)["input_ids"]) for row in rows]


def test_grpo_ddp_killed_resumes_with_the_planned_batch(rl_data, tmp_path):
    # GRPO under fsdp.yaml is left out: on CPU processes accelerate runs it exactly as this (MULTI_CPU data
    # parallel, shown for SFT above), and each launch costs ~40 s of the suite's budget.
    config = "ddp.yaml"
    run = tmp_path / "run"
    cmd = launch(config, "grpo", "--data", str(rl_data), "--out", str(run), *GRPO_ARGS)
    kill_after(cmd, run / "checkpoints/checkpoint-1/COMPLETE", tmp_path / "killed.log")
    assert read_run(run)["status"] == "running"

    stdout = run_to_end(launch(config, "grpo", "--data", str(rl_data), "--out", str(run), *GRPO_ARGS))
    assert stdout.count("resuming from checkpoint-1") == 1
    info = check_run_folder(run, "grpo", 3, [1, 3], stdout)
    assert (info["plan"]["prompts_per_step"], info["plan"]["completions_per_step"]) == (2, 4)
    loads_and_runs(str(run / "checkpoints/checkpoint-3"))
    # Two steps of 2 prompts are one pass over the 4 prompts: if every prompt got its 2 generations across the
    # two processes (4 completions per step globally), the trainer's global token count is exactly
    # 2 x (sum of prompt tokens) + the completion tokens of both steps.
    logs = [e for e in read_log_history(run) if "loss" in e][:2]
    completion_tokens = sum(4 * e["completions/mean_length"] for e in logs)
    assert logs[1]["num_tokens"] == 2 * sum(prompt_tokens(rl_data)) + completion_tokens


HOLDER = "import sys\nfrom sftlab.io import output_lock\nwith output_lock(sys.argv[1]):\n" \
         "    print('held', flush=True)\n    sys.stdin.read()\n"


def test_a_launch_refused_by_a_locked_run_says_so_once(sft_data, tmp_path):
    # Another sftlab process is writing the run folder: rank 0 is refused and hands the error to rank 1 (both exit
    # 2); the `error: ...` line is printed by rank 0 alone, not once per rank.
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env())
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run(launch("ddp.yaml", "sft", "--data", str(sft_data), "--out", str(run), *SFT_ARGS),
                              env=env(), capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        holder.communicate("")
    assert done.returncode != 0
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "being written by another sftlab process" in errors[0], done.stderr[-3000:]
    assert "exitcode  : 2" in done.stderr  # both ranks exited with the user-error code (torchrun's report)
    assert not run.exists()
