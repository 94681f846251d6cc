"""A run killed after a checkpoint and resumed writes the same training log as one that was never interrupted.

The training process really dies by SIGKILL: a small driver runs `sftlab train sft` and kills its own process the
moment checkpoint-K is marked COMPLETE (the exact point a crash would leave the newest resumable state). Then the
same command resumes it, and logs/log_history.jsonl is compared with an uninterrupted run field for field.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from sftlab.errors import DataError
from sftlab.train.runs import read_log_history, read_run
from sftlab.train.sft import SftConfig, train_sft

from .conftest import sokoban_rows, write_data_folder

STEPS = 8
# Wall-clock measurements: they differ between any two runs, interrupted or not, so they are not compared.
TIMING = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "tokens_per_second")

KILL_AFTER_CHECKPOINT = """
import os, signal, sys
from sftlab.train import callbacks
kill_at = int(sys.argv[1])
original = callbacks.CheckpointSchedule.on_save
def on_save(self, args, state, control, **kwargs):
    result = original(self, args, state, control, **kwargs)
    if state.global_step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
callbacks.CheckpointSchedule.on_save = on_save
from sftlab.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _flags(data, out, config) -> list[str]:
    return ["train", "sft", "--model", "tiny-random", "--data", str(data), "--out", str(out), "--config", str(config),
            "--max-steps", str(STEPS), "--schedule", "2,4,6", "--global-batch", "2", "--per-device-batch", "1",
            "--lr", "1e-3", "--max-length", "512", "--quiet"]


def _run(args: list[str], kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if kill_at is None:
        cmd = [sys.executable, "-m", "sftlab", *args]
    else:
        cmd = [sys.executable, "-c", KILL_AFTER_CHECKPOINT, str(kill_at), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def _resume_in_process(args: list[str]) -> int:
    """The same command again, in this process (the kill is what needs a process of its own), on one thread as
    the processes it is compared with (OMP_NUM_THREADS=1): the logs are compared value for value."""
    import torch

    from sftlab.cli import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(args)
    finally:
        torch.set_num_threads(threads)


def _comparable(run) -> list[dict]:
    return [{k: v for k, v in entry.items() if k not in TIMING} for entry in read_log_history(run)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_data_folder(tmp_path_factory.mktemp("resume-data") / "data", sokoban_rows(3))


def _config_file(folder, logging_steps: int):
    path = folder / f"logging-{logging_steps}.yaml"
    path.write_text(f"logging_steps: {logging_steps}\n")
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data):
    """The uninterrupted run for a logging interval (`sftlab train sft` run to the end in its own process), made
    once per interval and only read by the tests that compare with it."""
    runs = {}

    def get(logging_steps: int):
        if logging_steps not in runs:
            folder = tmp_path_factory.mktemp(f"uninterrupted-{logging_steps}")
            done = _run(_flags(data, folder / "ref", _config_file(folder, logging_steps)))
            assert done.returncode == 0, done.stderr[-2000:]
            runs[logging_steps] = folder / "ref"
        return runs[logging_steps]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at", "logging_steps"),
    [(4, 1), (STEPS, 1), (4, 3)],
    ids=["after-checkpoint-4", "after-the-last-checkpoint", "between-two-logs"],
)
def test_resumed_log_equals_the_uninterrupted_log(tmp_path, data, uninterrupted, kill_at, logging_steps):
    config = _config_file(tmp_path, logging_steps)
    ref = uninterrupted(logging_steps)
    run = tmp_path / "run"

    args = _flags(data, run, config)
    killed = _run(args, kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert read_run(run)["status"] == "running"
    assert _resume_in_process(args) == 0
    assert read_run(run)["status"] == "complete"

    want, got = _comparable(ref), _comparable(run)
    assert [e["step"] for e in got] == [e["step"] for e in want]  # nothing logged twice, nothing missing
    for a, b in zip(want, got, strict=True):
        assert a == b, json.dumps({"uninterrupted": a, "resumed": b})
    # the values the issue saw go wrong: tokens kept counting, and the final mean loss covers every step
    assert [e["num_tokens"] for e in got if "num_tokens" in e] == sorted(e["num_tokens"] for e in got
                                                                         if "num_tokens" in e)
    assert got[-1]["train_loss"] > 1.0


def test_a_run_that_never_trained_a_step_does_not_block_the_corrected_rerun(tmp_path, data):
    from sftlab.train import common

    out = tmp_path / "run"
    bad = SftConfig(model="tiny-random", data=str(data), out=str(out), max_steps=2, max_length=512,
                    global_batch=2, schedule=[2], learning_rate=0.5)
    # what a `train sft` that failed before its first step leaves behind: run.json "failed", no log, no checkpoint
    run, _, _ = common.open_run(bad, kind="sft", manifest=None, progress=False)
    common.mark_failed(run, RuntimeError("the model diverged at load"))
    assert read_run(run)["status"] == "failed"

    fixed = SftConfig(model="tiny-random", data=str(data), out=str(out), max_steps=2, max_length=512,
                      global_batch=2, schedule=[2], learning_rate=1e-3)
    train_sft(fixed, progress=False)  # no --force needed
    info = read_run(out)
    assert info["status"] == "complete" and info["config"]["learning_rate"] == 1e-3

    # a run that did train is still protected: a different config needs --force
    other = SftConfig(model="tiny-random", data=str(data), out=str(out), max_steps=3, max_length=512,
                      global_batch=2, schedule=[3], learning_rate=1e-3)
    with pytest.raises(DataError, match="different config"):
        train_sft(other, progress=False)
