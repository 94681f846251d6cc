"""What verifying a finished step costs: `outputs_intact` on a run folder vs reading the step's state file alone.

    .venv/bin/python benchmarks/step_verification.py [--checkpoints 20] [--model tiny-random] [--repeat 5]

Issue 26 made "done" earned: before a step is skipped, `sftlab run` stats every file of its output folder and
hashes the small ones (`sftlab.experiment.outputs`). The baseline is what it did before, reading the state file.
The run folder is the model's real files copied into `--checkpoints` checkpoint folders (a real run's layout), so
the cost per checkpoint is what a real run of that model pays. Prints both times per check and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from sftlab.experiment.outputs import outputs_intact, record_outputs
from sftlab.experiment.plan import Step, read_state
from sftlab.experiment.steps import _write_state
from sftlab.models import resolve


def _timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=20)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = Path(resolve(args.model))
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp)
        run = exp / "outputs" / "runs" / "r"
        for i in range(1, args.checkpoints + 1):
            shutil.copytree(model, run / "checkpoints" / f"checkpoint-{i}")
        (run / "run.json").write_text('{"status": "complete"}')
        step = Step(id="train/r", kind="sft", config={}, hash="h")
        check = record_outputs("sft", run, {})
        _write_state(exp, step, status="done", check=check)
        files = len(check["files"])
        size = sum(s for s, _ in check["files"].values())
        hashed = sum(1 for _, sha in check["files"].values() if sha)
        assert outputs_intact("sft", run, check)
        base = _timed(lambda: read_state(exp, step), args.repeat)
        ours = _timed(lambda: (read_state(exp, step), outputs_intact("sft", run, check)), args.repeat)
    print(f"run folder: {args.checkpoints} checkpoints of {args.model}, {files} files, {size / 1e6:.1f} MB, "
          f"{hashed} hashed")
    print(f"read state only (before): {1e3 * base:8.2f} ms")
    print(f"state + outputs check   : {1e3 * ours:8.2f} ms")
    print(f"ratio: {ours / base:.1f}x  (per step check; `sftlab run` checks each step 2-3 times)")


if __name__ == "__main__":
    main()
