"""Multi-process train steps: the `accelerate launch` command, and the entry point each launched process runs.

`accelerate_command(...)` builds `python -m accelerate.commands.launch --num_processes N ... -m
sftlab.experiment.launch EXP STEP_ID`; every process then runs `main`, which trains the step's SftConfig /
GrpoConfig (TRL + accelerate do the distribution; rank 0 alone writes the run folder). The calling step records
the outcome, so this module writes no state of its own.

Without GPUs the launch still starts N processes (torchrun, gloo backend): accelerate's own `--cpu` flag would
start one (its multi-CPU launch goes through mpirun), so it is not used; `--mixed_precision no` keeps a CPU launch
in fp32 whatever the accelerate config says.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port free on the loopback interface now (for the launch's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_command(module_args: list[str], *, processes: int, gpu: bool, config_file: str | None = None,
                       port: int | None = None) -> list[str]:
    """The command line that runs `python -m <module_args...>` in `processes` processes under accelerate.

    With a config file its settings apply (DDP, FSDP, DeepSpeed); without one, plain data parallel. A free port
    is picked so that launches running side by side on one machine never share a rendezvous.
    """
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
           "--main_process_port", str(port or free_port())]
    if config_file:
        cmd += ["--config_file", str(config_file)]
    else:
        cmd += ["--multi_gpu", "--num_machines", "1", "--dynamo_backend", "no"]  # torchrun; gloo without GPUs
    if not gpu:
        cmd += ["--mixed_precision", "no"]  # the configs' bf16 is for GPUs
    return [*cmd, "-m", *module_args]


def main(argv: list[str]) -> int:
    from sftlab.errors import SftlabError
    from sftlab.experiment.steps import StepContext, load_plan, train_config

    exp, step_id = Path(argv[0]), argv[1]
    plan = load_plan(exp)
    step = plan[step_id]
    try:
        config = train_config(step, StepContext(exp=exp, plan=plan))
        if step.kind == "sft":
            from sftlab.train.sft import train_sft as train
        else:
            from sftlab.train.grpo import train_grpo as train
        train(config, progress=True)
    except SftlabError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
