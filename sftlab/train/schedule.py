"""Checkpoint schedules: at which optimizer steps a training run saves a checkpoint.

- `epoch`: at the end of every epoch (the Debunk paper: 5 epochs -> 5 checkpoints).
- `log`: the reasoning-SFT paper's grid 10, 20, 40, 80, 160, 320, 480, 640 for its 640-step run, kept as fractions
  of the run (1/64, 1/32, 1/16, 1/8, 1/4, 1/2, 3/4, 1) and scaled to this run's length:
  step_i = max(1, round_half_up(grid_i * total_steps / 640)), duplicates removed. A 640-step run gets the paper's
  grid exactly; a 20-step run gets 1, 3, 5, 10, 15, 20.
- an explicit list of steps, e.g. `[10, 20, 40]` or the string "10,20,40".

Every schedule also saves the last step, so the final model is always a checkpoint. Step 0 (the base model) is never
saved; `sftlab.train.runs.list_checkpoints` lists it as the reference.
"""

from __future__ import annotations

from sftlab.errors import ConfigError

LOG_GRID = (10, 20, 40, 80, 160, 320, 480, 640)
LOG_GRID_TOTAL = 640
NAMED = ("epoch", "log")


def parse_schedule(value) -> str | tuple[int, ...]:
    """Normalise a schedule: "epoch", "log", or positive steps (a list or "10,20,40") as a sorted unique tuple."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NAMED:
            return text
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise ConfigError(f"unknown schedule {value!r}; use epoch, log, or a list of steps like 10,20,40")
        value = [int(p) for p in parts]
    try:
        steps = sorted({int(s) for s in value})
    except (TypeError, ValueError):
        raise ConfigError(f"unknown schedule {value!r}; use epoch, log, or a list of steps like 10,20,40") from None
    if any(isinstance(s, bool) for s in value) or not steps or steps[0] < 1:
        raise ConfigError(f"checkpoint steps must be positive integers, got {value!r}")
    return tuple(steps)


def checkpoint_steps(schedule, total_steps: int, steps_per_epoch: int) -> list[int]:
    """The sorted optimizer steps (1..total_steps) at which to save, always ending with `total_steps`.

    An explicit step beyond `total_steps` is a ConfigError naming the run length.
    """
    if total_steps < 1 or steps_per_epoch < 1:
        raise ConfigError(f"a run needs at least one step (total {total_steps}, per epoch {steps_per_epoch})")
    schedule = parse_schedule(schedule)
    if schedule == "epoch":
        steps = set(range(steps_per_epoch, total_steps + 1, steps_per_epoch))
    elif schedule == "log":
        steps = {max(1, (g * total_steps + LOG_GRID_TOTAL // 2) // LOG_GRID_TOTAL) for g in LOG_GRID}
    else:
        beyond = [s for s in schedule if s > total_steps]
        if beyond:
            raise ConfigError(f"checkpoint step {beyond[0]} is beyond the run's {total_steps} optimizer steps")
        steps = set(schedule)
    steps.add(total_steps)
    return sorted(steps)
