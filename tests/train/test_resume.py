"""Kill a real training subprocess mid-run, re-run the same command, and get the uninterrupted result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from sftlab.cli import main
from sftlab.train.runs import list_checkpoints, read_log_history, read_run
from sftlab.train.sft import SftConfig, train_sft

from .conftest import sokoban_rows, write_data_folder

STEPS = 12
ARGS = ["--model", "tiny-random", "--max-steps", str(STEPS), "--schedule", "3,6,9", "--global-batch", "2",
        "--per-device-batch", "1", "--lr", "1e-3", "--max-length", "512", "--quiet"]


def _command(data, out):
    return [sys.executable, "-m", "sftlab", "train", "sft", "--data", str(data), "--out", str(out), *ARGS]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_step_config_and_weights(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(3))
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_command(data, run), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = run / "checkpoints" / "checkpoint-3" / "COMPLETE"
    deadline = time.monotonic() + 300
    while not marker.is_file():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_run(run)
    assert before["status"] == "running"  # really killed mid-run
    assert [s for s, _ in list_checkpoints(run)][-1] < STEPS

    # the same command again, in this process (the kill above is what needs a process of its own)
    assert main(_command(data, run)[3:]) == 0
    after = read_run(run)
    assert after["status"] == "complete" and after["final_step"] == STEPS
    assert after["config"] == before["config"]
    assert [s for s, _ in list_checkpoints(run)] == [0, 3, 6, 9, STEPS]
    assert [e["step"] for e in read_log_history(run) if "loss" in e] == list(range(1, STEPS + 1))

    # the same config trained without interruption ends with the same weights (data order, RNG, optimizer kept)
    ref = train_sft(SftConfig(model="tiny-random", data=str(data), out=str(tmp_path / "ref"), max_steps=STEPS,
                              schedule="3,6,9", global_batch=2, per_device_batch=1, learning_rate=1e-3,
                              max_length=512), progress=False)
    from safetensors.torch import load_file

    resumed = load_file(run / f"checkpoints/checkpoint-{STEPS}/model.safetensors")
    straight = load_file(ref / f"checkpoints/checkpoint-{STEPS}/model.safetensors")
    assert resumed.keys() == straight.keys()
    for name in resumed:
        assert (resumed[name] - straight[name]).abs().max().item() < 1e-5, name
    ref_losses = [e["loss"] for e in read_log_history(ref) if "loss" in e]
    run_losses = [e["loss"] for e in read_log_history(run) if "loss" in e]
    assert len(ref_losses) == len(run_losses) == STEPS
    assert all(abs(a - b) < 1e-4 for a, b in zip(ref_losses, run_losses, strict=True))
