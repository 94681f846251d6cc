"""Multi-process train steps: the `accelerate launch` command, and the entry point each launched process runs.

`accelerate_command(...)` builds `python -m accelerate.commands.launch --num_processes N ... -m
sftlab.experiment.launch EXP STEP_ID`; every process then runs `main`, which trains the step's config with its
method's train function (sftlab.train.methods; TRL + accelerate do the distribution; rank 0 alone writes the run
folder). The calling step records the outcome, so this module writes no state of its own. The command line itself is built in
sftlab.experiment.launch_command (which the step runner imports without importing this entry point).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sftlab.errors import SftlabError
from sftlab.experiment.launch_command import accelerate_command, free_port  # noqa: F401  (re-exported)


def main(argv: list[str]) -> int:
    from sftlab.experiment.steps import StepContext, load_plan, train_config
    from sftlab.train.methods import get_method

    exp, step_id = Path(argv[0]), argv[1]
    plan = load_plan(exp)
    step = plan[step_id]
    try:
        config = train_config(step, StepContext(exp=exp, plan=plan))
        get_method(step.kind).train(config, progress=True)
    except SftlabError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
