"""The Trainer callbacks every training method attaches (sftlab.train.common.train_run): saving at the planned
checkpoints with COMPLETE markers, the JSONL training log, and the running totals a resumed run needs.

This module imports transformers at the top: import it only inside the functions that train.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from transformers import TrainerCallback

from sftlab.io import atomic_write_json
from sftlab.train.runs import COMPLETE, LOG_HISTORY, LOGS, complete_checkpoints, read_run, update_run_json


def wait_for_all_processes() -> None:
    """A barrier across the launch's processes (nothing when not distributed)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


# Files in a checkpoint that only serve resuming; they are dropped from every checkpoint but the newest.
_RESUME_STATE_PREFIXES = ("optimizer", "scheduler", "scaler", "rng_state", "global_step", "sftlab_counters")


class CheckpointSchedule(TrainerCallback):
    """Saves exactly at the planned steps, marks each finished checkpoint COMPLETE, and keeps resume state
    (optimizer, scheduler, RNG) only in the newest checkpoint.

    Use it with `save_strategy="no"`: this callback alone decides when the Trainer saves.
    """

    def __init__(self, run: Path, steps: Iterable[int]):
        self.run = Path(run)
        self.steps = frozenset(steps)

    def on_step_end(self, args, state, control, **kwargs):
        control.should_save = state.global_step in self.steps
        return control

    def on_save(self, args, state, control, **kwargs):
        wait_for_all_processes()  # every rank has written its part (its rng_state_N.pth) before COMPLETE
        if not state.is_world_process_zero:
            return control
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        _name_adapter_base(folder, read_run(self.run).get("base_model"))
        (folder / COMPLETE).write_text(json.dumps({"step": state.global_step}) + "\n")
        for step, older in complete_checkpoints(self.run):
            if step < state.global_step:
                _strip_resume_state(older)
        update_run_json(self.run, last_checkpoint=state.global_step)
        return control


def _name_adapter_base(folder: Path, base_model: str | None) -> None:
    """Point a LoRA adapter at the built-in model name (e.g. `smollm2-135m`) instead of this machine's cache path,
    so the checkpoint still loads when the cache moves or on another machine."""
    from sftlab.models import MODEL_NAMES

    path = folder / "adapter_config.json"
    if base_model not in MODEL_NAMES or not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_model
    atomic_write_json(path, config)


def _strip_resume_state(folder: Path) -> None:
    for child in folder.iterdir():
        if child.name.startswith(_RESUME_STATE_PREFIXES):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


class ResumeCounters(TrainerCallback):
    """Keeps the Trainer's in-memory running totals across a kill and resume, so the resumed log is exact.

    transformers and TRL keep some totals only in memory: TRL's `num_tokens` counter, the summed loss behind the
    final `train_loss`, the loss accumulated since the last log (when a checkpoint falls between two logs), and
    TRL's per-step metrics since the last log. Each checkpoint gets them in `sftlab_counters_<rank>.json` (written
    before COMPLETE); a resumed run puts them back when training begins. The final `train_loss` is the summed loss
    over all `global_step` steps (the Trainer divides by the steps of this call only, which is 0.0 after a resume
    at the last checkpoint). A run resumed at its last step trains nothing more (transformers would train one
    step past `max_steps` when that step is mid-epoch) and only logs the end-of-training summary.
    """

    def __init__(self, trainer, resume_from: Path | None):
        self.trainer = trainer
        self.resume_from = Path(resume_from) if resume_from else None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps and hasattr(self.trainer, "_run_epoch"):
            # resumed at the last step: nothing is left to train, but transformers checks the step limit only after
            # a step, so mid-epoch it would train one step too many; it still logs the end-of-training summary
            self.trainer._run_epoch = lambda *args, **kwargs: None
        if self.resume_from is None:
            return control
        path = self.resume_from / f"sftlab_counters_{args.process_index}.json"
        if not path.is_file():
            path = self.resume_from / "sftlab_counters_0.json"
        if not path.is_file():  # a checkpoint from an older sftlab: the totals restart (as they used to)
            return control
        saved = json.loads(path.read_text(encoding="utf-8"))
        trainer = self.trainer
        if "num_tokens" in saved and hasattr(trainer, "_total_train_tokens"):
            trainer._total_train_tokens = saved["num_tokens"]
        if hasattr(trainer, "_total_loss_scalar"):
            trainer._total_loss_scalar = saved["total_loss"]
            trainer._tr_loss += saved["pending_loss"]  # in place: the training loop holds this very tensor
            trainer._globalstep_last_logged = saved["last_logged_step"]
        metrics = getattr(trainer, "_metrics", None)
        if isinstance(metrics, dict) and "train" in metrics:
            for key, values in saved.get("pending_metrics", {}).items():
                metrics["train"][key] = list(values)
        return control

    def on_save(self, args, state, control, **kwargs):
        trainer = self.trainer
        if not hasattr(trainer, "_total_loss_scalar"):
            return control
        saved = {
            "step": state.global_step,
            "total_loss": trainer._total_loss_scalar,
            "pending_loss": trainer._tr_loss.item(),
            "last_logged_step": trainer._globalstep_last_logged,
        }
        if hasattr(trainer, "_total_train_tokens"):
            saved["num_tokens"] = trainer._total_train_tokens
        metrics = getattr(trainer, "_metrics", None)
        if isinstance(metrics, dict) and "train" in metrics:
            saved["pending_metrics"] = {k: list(v) for k, v in metrics["train"].items()}
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        atomic_write_json(folder / f"sftlab_counters_{args.process_index}.json", saved)
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "train_loss" in logs and "train_runtime" in logs and hasattr(self.trainer, "_total_loss_scalar"):
            logs["train_loss"] = self.trainer._total_loss_scalar / max(state.global_step, 0.001)
        return control


class JsonlLog(TrainerCallback):
    """Appends every Trainer log (loss, learning_rate, grad_norm, ...) to RUN/logs/log_history.jsonl, adding the
    training tokens per second since the previous log when the trainer reports `num_tokens`."""

    def __init__(self, run: Path):
        self.path = Path(run) / LOGS / LOG_HISTORY
        self._last: tuple[float, float] | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return control
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), **logs}
        now = time.perf_counter()
        if "num_tokens" in logs:
            if self._last is not None and now > self._last[0] and logs["num_tokens"] >= self._last[1]:
                record["tokens_per_second"] = round((logs["num_tokens"] - self._last[1]) / (now - self._last[0]), 1)
            self._last = (now, float(logs["num_tokens"]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=float) + "\n")
        return control
