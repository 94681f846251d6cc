"""The `accelerate launch` command line of a multi-process train step (the entry point is sftlab.experiment.launch).

Without GPUs the launch still starts N processes (torchrun, gloo backend): accelerate's own `--cpu` flag would
start one (its multi-CPU launch goes through mpirun), so it is not used; `--mixed_precision no` keeps a CPU launch
in fp32 whatever the accelerate config says.
"""

from __future__ import annotations

import socket
import sys


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
