"""Run by tests/train/test_loss_normalization.py under `torchrun --nproc_per_node 2` (gloo on CPU): for each
`MODE:PER_DEVICE_BATCH` argument, one optimizer step of a fresh real trainer on the test's hand-made rows; rank 0
saves the gradients the optimizer receives in OUT/MODE/grads.pt. One launch serves every mode, so the two
processes import torch and TRL once."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import TrainerCallback

from sftlab.train.common import batch_plan, world_size
from sftlab.train.sft import SftConfig, _build_trainer
from tests.train.test_loss_normalization import _rows  # the same rows as the single-process tests


class _Save(TrainerCallback):
    def __init__(self, path: Path):
        self.path = path

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero:  # DDP has already averaged the processes' gradients
            grads = {n.removeprefix("module."): p.grad.detach().clone() for n, p in model.named_parameters()
                     if p.grad is not None}
            torch.save(grads, self.path)


def step(out: str, mode: str, per_device_batch: str) -> None:
    config = SftConfig(model="tiny-random", data="unused", out=out, global_batch=4,
                       per_device_batch=int(per_device_batch), max_steps=1,
                       learning_rate=1e-3, max_length=256, shuffle=False, loss_normalization=mode,
                       max_grad_norm=1e9)
    per_device, accum = batch_plan(config.global_batch, config.per_device_batch, world_size())
    Path(out).mkdir(parents=True, exist_ok=True)
    trainer = _build_trainer(config, Path(out), _rows(), per_device, accum, gpu=False, progress=False)
    trainer.add_callback(_Save(Path(out) / "grads.pt"))
    trainer.train()


if __name__ == "__main__":
    for spec in sys.argv[2:]:
        mode, per_device = spec.split(":")
        step(str(Path(sys.argv[1]) / mode), mode, per_device)
