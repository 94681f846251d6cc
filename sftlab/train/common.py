"""TRL plumbing shared by every training method: the one training skeleton (`train_run`), the run folder,
resume, and the batch arithmetic. The Trainer callbacks (checkpoint schedule, COMPLETE markers, the JSONL training
log, resume counters) live in sftlab.train.callbacks, which imports transformers: `train_run` imports it once the
run folder is open, so a training refused before that (a bad --out, a locked or finished run) does not load it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from sftlab import __version__
from sftlab.errors import ConfigError, DataError, disk_full_message
from sftlab.io import (
    acquire_output,
    atomic_write_json,
    atomic_write_text,
    check_output_path,
    process_rank,
    release_output,
)
from sftlab.train.runs import (
    CHECKPOINTS,
    LOG_HISTORY,
    LOGS,
    RUN_JSON,
    complete_checkpoints,
    read_run,
    update_run_json,
    write_run_json,
)


def world_size() -> int:
    """Number of training processes (set by `accelerate launch` / torchrun; 1 otherwise)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def is_main_process() -> bool:
    """True on the global rank-0 process (or when not distributed): the one that also takes the output locks."""
    return process_rank() == 0


def on_main_process(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` run by the global rank-0 process alone; every process returns its result (or raises
    its exception). This is the one place where the ranks of a launch agree on a run folder: rank 0 decides (new,
    resume from which checkpoint, complete, refused) and writes; the others never race it for the folder. The
    other ranks' copy of rank 0's exception carries `reported_by_rank0`, so the CLI prints it once, not per rank.
    """
    if world_size() == 1:
        return fn(*args, **kwargs)
    import torch.distributed as dist
    from accelerate import PartialState

    PartialState()  # joins the launch's process group (gloo on CPU, nccl on GPU) before the Trainer would
    box = [None]
    if is_main_process():
        try:
            box[0] = (True, fn(*args, **kwargs))
        except Exception as exc:  # the other ranks raise it too instead of waiting forever
            box[0] = (False, exc)
    dist.broadcast_object_list(box, src=0)
    ok, value = box[0]
    if not ok:
        if not is_main_process():
            value.reported_by_rank0 = True  # rank 0 prints it; this rank exits with the same code, silently
        # every rank leaves the process group together: a rank whose peer has already exited can abort in gloo's
        # teardown (SIGABRT instead of the user-error exit code)
        dist.barrier()
        dist.destroy_process_group()
        raise value
    return value


def distribution(trainer) -> str:
    """How accelerate distributes this run: NO (one process), MULTI_CPU, MULTI_GPU, FSDP, DEEPSPEED, ...

    accelerate runs an FSDP launch config as plain data parallel on CPU processes (it shards only on GPUs); the
    main process says so, so a CPU rehearsal of an FSDP run is not mistaken for a sharded one.
    """
    kind = str(getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type))
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and kind != "FSDP" and is_main_process():
        print(f"note: accelerate runs this FSDP launch as {kind} (no sharding on CPU processes)", flush=True)
    return kind


def batch_plan(global_batch: int, per_device_batch: int | None, n_processes: int) -> tuple[int, int]:
    """`(per_device_batch, grad_accum)` with per_device x grad_accum x n_processes == global_batch.

    Without a per-device batch, the largest divisor of the per-process share that is at most 8 is used.
    A batch that cannot divide the global batch is a ConfigError saying which sizes work.
    """
    if global_batch % n_processes:
        raise ConfigError(f"global batch {global_batch} cannot be split over {n_processes} processes evenly")
    share = global_batch // n_processes
    if per_device_batch is None:
        per_device_batch = max(d for d in range(1, min(share, 8) + 1) if share % d == 0)
    if share % per_device_batch:
        fits = [d for d in range(1, share + 1) if share % d == 0]
        raise ConfigError(
            f"per-device batch {per_device_batch} x {n_processes} process(es) does not divide the global batch "
            f"{global_batch}; per-device batches that fit: {', '.join(map(str, fits))}"
        )
    return per_device_batch, share // per_device_batch


class Prepared(NamedTuple):
    """What a method knows before its run folder opens (see `prepare`)."""

    rows: list[dict]
    manifest: dict | None
    processes: int
    per_device: int
    accum: int
    gpu: bool


def prepare(config, load_rows: Callable) -> Prepared:
    """The checks and sizes of a method whose global batch counts training rows, in this order: the batch split
    over the processes, the device (bf16 needs a GPU or a bf16 CPU), the rows and manifest
    (`load_rows(config.data)`), and the model (an unknown one fails here, before a run folder exists)."""
    from sftlab.models import resolve
    from sftlab.train.config import check_device

    processes = world_size()
    per_device, accum = batch_plan(config.global_batch, config.per_device_batch, processes)
    gpu = check_device(config)
    rows, manifest = load_rows(config.data)
    resolve(config.model)
    return Prepared(rows, manifest, processes, per_device, accum, gpu)


def check_not_empty(trainer, config, rows: list, what: str) -> None:
    """A DataError when the trainer's tokenization left no training sequence (TRL drops rows whose prompt alone
    fills max_length)."""
    if len(trainer.train_dataset) == 0:
        raise DataError(f"max_length {config.max_length} leaves no {what} token in any of the {len(rows)} training "
                        f"rows of {config.data} (each prompt alone fills it); raise --max-length")


def prepare_run(
    out: str | os.PathLike, *, kind: str, base_model: str, data: str, config: dict, force: bool, resume: bool
) -> tuple[Path, Path | None, bool]:
    """Create or reopen a run folder, and lock it against a second concurrent training.

    Returns `(run_dir, checkpoint_to_resume_from_or_None, already_complete)`. An existing run with the same
    config is resumed from its newest complete checkpoint (or reported complete); one with a different config, or
    any non-empty folder that is not a run, is a DataError unless `force`, which empties it first. A run that never
    trained a step (no checkpoint, no log line) holds nothing worth keeping: it is replaced without `force`.
    Another process training into the same folder is a DataError. Unless the run is complete, the lock stays held
    until `train_to_end` or `mark_failed` (rank 0 of a distributed launch holds it for all ranks).
    """
    locked = acquire_output(out, leader_only=True)
    try:
        prepared = _prepare_run(out, kind=kind, base_model=base_model, data=data, config=config, force=force,
                                resume=resume)
    except BaseException:
        if locked:
            release_output(out)
        raise
    if prepared[2] and locked:
        release_output(out)
    return prepared


def _prepare_run(
    out: str | os.PathLike, *, kind: str, base_model: str, data: str, config: dict, force: bool, resume: bool
) -> tuple[Path, Path | None, bool]:
    run = check_output_path(out, [data, base_model])  # --force would otherwise delete the data it trains on
    if run.exists() and not run.is_dir():
        raise DataError(f"{run} exists and is not a folder")
    has_content = run.is_dir() and any(run.iterdir())
    if has_content and not force and _never_trained(run):
        force = True  # e.g. a run that failed before its first step: rerunning with a fixed config just works
    if has_content and force:
        if is_main_process():
            shutil.rmtree(run)
        has_content = False
    if has_content:
        if not (run / RUN_JSON).is_file():
            raise DataError(f"{run} already exists and is not a run folder; pass --force to overwrite it")
        old = read_run(run)
        if not resume:
            raise DataError(f"{run} already holds a run; pass --force to start over")
        if old.get("kind") != kind or old.get("config") != config:
            diff = _config_diff(old.get("config") or {}, config)
            raise DataError(
                f"{run} holds a {old.get('kind')} run with a different config ({diff}); "
                "pass --force to start over or choose another --out"
            )
        if old.get("status") == "complete":
            return run, None, True
        done = complete_checkpoints(run)
        if is_main_process():
            _remove_incomplete_checkpoints(run)
            truncate_log(run, done[-1][0] if done else 0)
        return run, (done[-1][1] if done else None), False
    (run / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    (run / LOGS).mkdir(parents=True, exist_ok=True)
    if is_main_process():
        write_run_json(
            run,
            {"kind": kind, "base_model": base_model, "data": data, "config": config, "status": "running",
             "sftlab_version": __version__},
        )
    return run, None, False


def _never_trained(run: Path) -> bool:
    """A run folder (run.json present) that is not complete and has no checkpoint and no logged step."""
    if not (run / RUN_JSON).is_file():
        return False
    try:
        status = read_run(run).get("status")
    except DataError:
        return False
    log = run / LOGS / LOG_HISTORY
    logged = log.is_file() and log.stat().st_size > 0
    return status != "complete" and not complete_checkpoints(run) and not logged


def open_run(config, *, kind: str, manifest: dict | None, progress: bool) -> tuple[Path, Path | None, bool]:
    """`prepare_run` for a method's config (a TrainConfig), plus what every trainer does next: say when the run is already
    complete, keep the data manifest next to the run, and send TensorBoard logs into the run's logs/ folder."""
    run, resume_from, complete = on_main_process(
        prepare_run, config.out, kind=kind, base_model=config.model, data=config.data,
        config=config.training_fields(), force=config.force, resume=config.resume,
    )
    if complete:
        if progress and is_main_process():
            print(f"{run} is already complete; pass --force to train again")
        return run, None, True
    if manifest is not None and is_main_process():
        atomic_write_json(run / "data_manifest.json", manifest)
    if config.report_to == "tensorboard":
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", str(run / "logs" / "tensorboard"))
    return run, resume_from, False


def train_run(config, *, kind: str, manifest: dict | None, build: Callable, describe: Callable,
              summary: Callable[[dict], str], progress: bool, notes: tuple[str, ...] = ()) -> Path:
    """The training skeleton every method shares; returns the run folder.

    Opens (or resumes) the run folder, builds the method's trainer with `build(run)`, plans the checkpoints
    (`config.checkpoint_schedule` over the run's length), attaches the checkpoint and log callbacks, records the
    plan `describe(trainer, {total_steps, steps_per_epoch, checkpoint_steps})` in run.json, prints `summary(plan)`
    and `notes`, and trains to the end. A failure before training marks the run failed and re-raises.
    """
    from sftlab.train.schedule import checkpoint_steps

    run, resume_from, complete = open_run(config, kind=kind, manifest=manifest, progress=progress)
    if complete:
        return run
    try:
        # transformers is loaded only now, once there is a run to train
        from sftlab.train.callbacks import CheckpointSchedule, JsonlLog

        trainer = build(run)
        spe = steps_per_epoch(trainer)
        total = config.max_steps or math.ceil(config.num_epochs * spe)
        steps = checkpoint_steps(config.checkpoint_schedule(total), total, spe)
    except Exception as exc:
        mark_failed(run, exc)
        raise
    trainer.add_callback(CheckpointSchedule(run, steps))
    trainer.add_callback(JsonlLog(run))
    plan = describe(trainer, {"total_steps": total, "steps_per_epoch": spe, "checkpoint_steps": steps})
    plan["distributed"] = distribution(trainer)  # e.g. NO, MULTI_CPU, MULTI_GPU, FSDP
    update_run_json(run, plan=plan, status="running")
    if progress and is_main_process():
        print(summary(plan) + (f"; resuming from {resume_from.name}" if resume_from else ""), flush=True)
        for note in notes:
            print(note, flush=True)
    return train_to_end(trainer, run, resume_from)


def mark_failed(run: Path, exc: BaseException) -> None:
    """Record in run.json that the run failed, and why (one line), and release the run's lock."""
    try:
        update_run_json(run, status="failed", error=f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        release_output(run)


def train_to_end(trainer, run: Path, resume_from: Path | None) -> Path:
    """Train (resuming from `resume_from` when given) and mark the run complete; a full disk is a DataError.

    A resumed run continues the trainer's running totals (tokens, summed loss) from the checkpoint, so its log
    equals an uninterrupted run's (see `ResumeCounters`). The run's lock is released at the end, whatever happens.
    """
    from sftlab.train.callbacks import ResumeCounters

    # first in the list: its on_save must run before CheckpointSchedule writes COMPLETE, its on_log before JsonlLog
    trainer.callback_handler.callbacks.insert(0, ResumeCounters(trainer, resume_from))
    try:
        try:
            if resume_from:
                from sftlab.models.resolve import check_checkpoint_files

                check_checkpoint_files(resume_from)  # a damaged optimizer.pt is a one-line error, not torch's traceback
            trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        except OSError as exc:
            update_run_json(run, status="failed", error=str(exc)[:300])
            raise save_error(exc, run) from None
        except Exception as exc:
            mark_failed(run, exc)
            if "No space left on device" in str(exc):  # torch/safetensors wrap ENOSPC in their own errors
                raise save_error(OSError(28, "No space left on device"), run) from None
            raise
        update_run_json(run, status="complete", final_step=trainer.state.global_step)
    finally:
        release_output(run)
    return run


def _config_diff(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:3])
    return shown + (", ..." if len(keys) > 3 else "") if keys else "different kind"


def _remove_incomplete_checkpoints(run: Path) -> None:
    complete = {path for _, path in complete_checkpoints(run)}
    for child in (run / CHECKPOINTS).glob("checkpoint-*"):
        if child.is_dir() and child not in complete:
            shutil.rmtree(child, ignore_errors=True)


def truncate_log(run: Path, last_step: int) -> None:
    """Drop log lines after `last_step` and the end-of-training summary, so a resumed run logs nothing twice.

    A torn last line (the process was killed while appending it) is dropped too.
    """
    path = run / LOGS / LOG_HISTORY
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= last_step and "train_runtime" not in record:
            kept.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def save_error(exc: OSError, run: Path) -> DataError:
    """A one-line DataError for a failed write during training (out of disk gets its own advice)."""
    if exc.errno == errno.ENOSPC:
        return DataError(disk_full_message(run))
    return DataError(f"could not write into {run}: {exc.strerror or exc}")


def steps_per_epoch(trainer) -> int:
    """Optimizer steps in one epoch, as the Trainer computes them (dataloader batches / grad accumulation, ceil)."""
    batches = len(trainer.get_train_dataloader())
    accum = trainer.args.gradient_accumulation_steps
    return max(1, batches // accum + int(batches % accum > 0))
