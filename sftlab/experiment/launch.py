"""Entry point of one training process under `accelerate launch` (multi-GPU train steps).

`python -m accelerate.commands.launch --num_processes N -m sftlab.experiment.launch EXP STEP_ID` runs the step's
SftConfig / GrpoConfig in every process; the trainer (TRL + accelerate) does the distribution. The calling step
records the outcome, so this module writes no state of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from sftlab.experiment.steps import StepContext, load_plan, train_config

    exp, step_id = Path(argv[0]), argv[1]
    plan = load_plan(exp)
    step = plan[step_id]
    config = train_config(step, StepContext(exp=exp, plan=plan))
    if step.kind == "sft":
        from sftlab.train.sft import train_sft as train
    else:
        from sftlab.train.grpo import train_grpo as train
    train(config, progress=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
