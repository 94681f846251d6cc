"""Two sftlab processes writing the same output folder at once: one wins, the other gets a one-line error.

The processes are real (`python -m sftlab ...` through a small driver); a file barrier lines them up after their
imports, so both reach the output folder within milliseconds of each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sftlab.errors import DataError
from sftlab.io import output_lock, read_manifest, staged_dir

# Imports first (so start-up time does not spread the two processes apart), then wait for the other one, then run
# the CLI exactly as `sftlab ARGS...` does.
DRIVER = """
import pathlib, sys, time
from sftlab.cli import main
for name in sys.argv[4].split(","):
    if name:
        __import__(name)
barrier, me, n = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(barrier / me).touch()
deadline = time.monotonic() + 120
while len(list(barrier.iterdir())) < n and time.monotonic() < deadline:
    time.sleep(0.005)
sys.exit(main(sys.argv[5:]))
"""


def _start_together(tmp_path: Path, commands: list[list[str]], warm: str = "") -> list[subprocess.CompletedProcess]:
    """Run the CLI commands concurrently, released together by a file barrier; return their results."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", DRIVER, str(barrier), str(i), str(len(commands)), warm, *cmd],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i, cmd in enumerate(commands)
    ]
    results = []
    for proc, cmd in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return results


def _one_winner(results: list[subprocess.CompletedProcess]) -> tuple[int, subprocess.CompletedProcess]:
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [(r.returncode, r.stderr[-1500:]) for r in results]
    winner = next(i for i, r in enumerate(results) if r.returncode == 0)
    loser = results[1 - winner]
    lines = loser.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), loser.stderr[-1500:]
    return winner, loser


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_two_builds_into_one_folder_one_is_refused(tmp_path):
    out = tmp_path / "data" / "gp"
    commands = [["data", "build", "gp-answer-only", "--n", "300", "--seed", str(seed), "--out", str(out), "--quiet"]
                for seed in (0, 1)]
    results = _start_together(tmp_path, commands, warm="sftlab.data.builder,sftlab.task_adapters.gp_rows")
    winner, loser = _one_winner(results)
    assert str(out) in loser.stderr
    assert read_manifest(out)["config"]["seed"] == winner  # the folder holds the winner's build, complete
    assert _hidden(out.parent) == []  # no lock file, no .partial left


@pytest.mark.slow
def test_two_identical_trainings_into_one_run_one_is_refused(tmp_path):
    from sftlab.data import build_preset
    from sftlab.train.runs import read_log_history, read_run

    data = build_preset("gp-answer-only", tmp_path / "data", n=12, progress=False)
    run = tmp_path / "run"
    command = ["train", "sft", "--model", "tiny-random", "--data", str(data), "--out", str(run), "--max-steps", "6",
               "--schedule", "3", "--global-batch", "2", "--per-device-batch", "1", "--max-length", "512", "--quiet"]
    results = _start_together(tmp_path, [command, command], warm="torch,transformers,trl,sftlab.train.sft")
    _, loser = _one_winner(results)
    assert "another sftlab process" in loser.stderr
    steps = [entry["step"] for entry in read_log_history(run) if "loss" in entry]
    assert steps == [1, 2, 3, 4, 5, 6]  # every step logged once: only one process trained
    assert read_run(run)["status"] == "complete"
    assert _hidden(tmp_path) == []


HOLDER = """
import sys, time
from sftlab.io import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def _hold_in_another_process(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_writer_blocks_others_and_its_partial_folder_is_kept(tmp_path):
    out = tmp_path / "x"
    live_partial = tmp_path / ".x.abcd1234.partial"
    holder = _hold_in_another_process(out)
    try:
        live_partial.mkdir()  # as the live writer's staged folder
        with pytest.raises(DataError, match=r"another sftlab process \(pid \d+\)"), staged_dir(out):
            pass
        assert live_partial.is_dir()  # a refused writer touches nothing of the live one's
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    with staged_dir(out) as tmp:  # the owner is gone: its leftover is stale and goes with the next write
        (tmp / "a.txt").write_text("a")
    assert _hidden(tmp_path) == [] and (out / "a.txt").is_file()


def test_ranks_of_one_launch_do_not_refuse_each_other(tmp_path, monkeypatch):
    out = tmp_path / "run"
    holder = _hold_in_another_process(out)  # plays rank 0 of the same launch
    try:
        monkeypatch.setenv("RANK", "1")
        with output_lock(out, leader_only=True):
            pass
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(DataError, match="another sftlab process"), output_lock(out, leader_only=True):
            pass
    finally:
        holder.communicate("")


def test_the_lock_is_reentrant_and_leaves_nothing(tmp_path):
    out = tmp_path / "x"
    with output_lock(out), output_lock(out):
        assert (tmp_path / ".x.lock").is_file()
    assert _hidden(tmp_path) == []
    # a waiting writer gets the lock once the holder is done
    holder = _hold_in_another_process(out)
    start = time.monotonic()
    import threading

    threading.Timer(0.5, lambda: holder.stdin.close()).start()
    with output_lock(out, wait=True):
        assert time.monotonic() - start >= 0.4
    holder.wait(timeout=30)


def test_killed_build_leftovers_are_cleaned_by_the_next_build(tmp_path):
    from sftlab.cli import main

    out = tmp_path / "gp"
    stale_partial = tmp_path / ".gp.k3l4m5n6.partial"  # what a SIGKILLed build leaves (mkdtemp's 8-letter name)
    stale_partial.mkdir()
    (stale_partial / "train.jsonl").write_text("{}\n")
    stale_old = tmp_path / ".gp.old-999999"
    stale_old.mkdir()
    other = tmp_path / ".gp.v2.abcd1234.partial"  # another output's (gp.v2) staged folder: not ours to remove
    other.mkdir()
    assert main(["data", "build", "gp-answer-only", "--n", "20", "--out", str(out), "--quiet"]) == 0
    assert _hidden(tmp_path) == [other.name]


def test_force_onto_a_file_leaves_no_old_copy(tmp_path):
    from sftlab.cli import main

    out = tmp_path / "gp"
    out.write_text("not a folder\n")
    assert main(["data", "build", "gp-answer-only", "--n", "20", "--out", str(out), "--force", "--quiet"]) == 0
    assert (out / "manifest.json").is_file()
    assert _hidden(tmp_path) == []
