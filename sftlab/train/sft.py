"""Supervised fine-tuning on TRL's SFTTrainer, with the papers' recipes (`sftlab.train.recipes`).

The `default` recipe (spec/debunk.md section 6): full fine-tuning, AdamW lr 1e-5, betas (0.9, 0.95), weight decay
0.01, cosine schedule with 10% warmup, gradient clipping 1.0, global batch 128 (per-device x grad accumulation x
processes), 5 epochs, loss on the completion tokens only (the assistant turn, EOS included) normalised as TRL does,
seed 1, a checkpoint per epoch. `recipe="debunk"` and `recipe="rethinking"` reproduce the originals' choices,
including how the loss is normalised (`loss_normalization`), data order (`shuffle`) and how a completion ends
(`completion_end`).

`train_sft(SftConfig(...))` writes a run folder (docs/contracts.md) and returns its path. Re-running the same
config continues from the newest complete checkpoint; `force=True` starts over.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from sftlab.errors import ConfigError, DataError, check_choice, check_positive, config_from_mapping
from sftlab.settings import setting
from sftlab.train.recipes import COMPLETION_ENDS, LOSS_NORMALIZATIONS, RECIPE_FIELDS, SFT_RECIPES
from sftlab.train.schedule import parse_schedule

REPORT_TO = ("none", "tensorboard", "wandb", "trackio")
LR_SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
PLAN = "set by the plan (from the spec's models, conditions and experiment folder)"
LORA_DEFAULTS = {"lora_r": 32, "lora_alpha": 16, "lora_target_modules": "all-linear", "lora_dropout": 0.0}
# Fields that do not change what is trained: they may differ between a run and its resumption.
_NOT_TRAINING = ("out", "resume", "force", "report_to")


@dataclass(frozen=True)
class SftConfig:
    """One SFT run. Every field is a YAML key and a CLI flag of `sftlab train sft` and a spec key (train.sft),
    unless its declaration says why not (sftlab.settings)."""

    model: str = setting(help="smollm2-135m, tiny-random, a local folder or a hub id.", spec=False, why=PLAN)
    data: str = setting(help="A built data folder (sftlab data build) or a preset.", spec=False, why=PLAN)
    out: str = setting(help="The run folder (re-running resumes it).", spec=False, why=PLAN)
    # The paper recipe (sftlab.train.recipes.SFT_RECIPES): default | debunk | rethinking. Every field below marked
    # (recipe) that is left None takes the recipe's value; a value given explicitly wins.
    recipe: str = setting("default", "default, debunk or rethinking: the paper's settings for every (recipe) "
                          "setting left unset.")
    num_epochs: float | None = setting(None, "Epochs (recipe; default 5).", flag="--epochs")
    max_steps: int | None = setting(None, "Stop after N optimizer steps (overrides epochs).")
    learning_rate: float | None = setting(None, "Peak learning rate (recipe; default 1e-5).", flag="--lr")
    adam_beta1: float | None = setting(None, "AdamW beta1 (recipe; default 0.9).")
    adam_beta2: float | None = setting(None, "AdamW beta2 (recipe; default 0.95, rethinking 0.999).")
    weight_decay: float | None = setting(None, "AdamW weight decay (recipe; default 0.01).")
    lr_scheduler: str | None = setting(
        None, "cosine, linear, constant, constant_with_warmup (recipe; default cosine).")
    warmup_ratio: float | None = setting(None, "Share of the steps spent warming up (recipe; default 0.1).")
    max_grad_norm: float | None = setting(None, "Gradient clipping norm (recipe; default 1.0).")
    global_batch: int | None = setting(
        None, "Sequences per optimizer step = per-device x accumulation x processes (recipe; default 128).")
    per_device_batch: int | None = setting(
        None, "Micro-batch per device (recipe; default the largest divisor of the per-process share <= 8).")
    max_length: int | None = setting(
        None, "Max tokens of prompt + completion; longer rows are cut at the end (recipe; default 2048).")
    # (recipe) How the per-token cross-entropy of a step becomes the backpropagated loss:
    #   batch_token_mean: one token-mean over the whole accumulated batch of all processes (TRL's default);
    #   sequence_mean_sum: each sequence's own token-mean, summed over the step's sequences on each process, with no
    #     1/accumulation factor (the Debunk original: verl, micro-batch 1, backward() per micro-batch);
    #   microbatch_mean_sum: each micro-batch's token-mean, summed over the step's micro-batches on each process, no
    #     1/accumulation factor (the Rethinking original: verl token-mean, micro-batch 4).
    #   Processes are averaged by DDP/FSDP in every mode, as in verl's FSDP. Gradients are clipped after the sum.
    loss_normalization: str | None = setting(
        None, "batch_token_mean (TRL, the default), sequence_mean_sum (debunk), microbatch_mean_sum (rethinking).")
    shuffle: bool | None = setting(None, "Shuffle rows each epoch (recipe; default yes, rethinking no).")
    # (recipe) chat_template: the completion as the chat template renders the assistant turn (its end-of-turn,
    # e.g. `<|im_end|>` + newline); eos: the completion text followed by the tokenizer's raw EOS token (rethinking)
    completion_end: str | None = setting(
        None, "chat_template (the default) or eos (raw EOS token, rethinking).")
    packing: bool = setting(False, "Pack rows into max-length blocks (best-fit decreasing; implies padding-free).")
    padding_free: bool = setting(False, "Concatenate a batch into one row, no padding tokens.")
    schedule: str | tuple[int, ...] | None = setting(
        None, "Checkpoints: epoch, log, or steps like 10,20,40; the last is always saved (recipe; default epoch).")
    lora: bool = setting(False, "Train a LoRA adapter instead of all weights.")
    lora_r: int | None = setting(None, "LoRA rank [32]; needs --lora.")
    lora_alpha: int | None = setting(None, "LoRA alpha [16]; needs --lora.")
    lora_target_modules: str | tuple[str, ...] | None = setting(
        None, "all-linear (default) or q_proj,v_proj,...; needs --lora.", commas=True)
    lora_dropout: float | None = setting(None, "LoRA dropout [0]; needs --lora.")
    bf16: bool = setting(False, "bf16 autocast with fp32 master weights (GPU only).")
    gradient_checkpointing: bool = setting(False, "Trade compute for memory.")
    attn_implementation: str | None = setting(
        None, "sdpa (default), eager, flash_attention_2 (GPU; for padding-free).")
    seed: int = setting(1, "Seed of data order and initialisation.", spec=False,
                        why="set by the plan from the spec's seeds")
    logging_steps: int = setting(1, "Log the loss every N steps.")
    report_to: str = setting("none", "none, tensorboard, wandb or trackio.")
    resume: bool = setting(True, cli=False, spec=False, why="a re-run always resumes; --force starts over")
    force: bool = setting(False, "Delete an existing run folder and start over.", spec=False,
                          why="the plan decides when a step starts over")

    def __post_init__(self):
        set_ = object.__setattr__
        for name in ("model", "data", "out"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must be a non-empty string")
        check_choice("recipe", self.recipe, SFT_RECIPES)
        for key in RECIPE_FIELDS:
            if getattr(self, key) is None:
                set_(self, key, SFT_RECIPES[self.recipe][key])
        set_(self, "schedule", parse_schedule(self.schedule))
        check_choice("loss_normalization", self.loss_normalization, LOSS_NORMALIZATIONS)
        check_choice("completion_end", self.completion_end, COMPLETION_ENDS)
        if not isinstance(self.shuffle, bool):
            raise ConfigError(f"shuffle must be true or false, got {self.shuffle!r}")
        if isinstance(self.lora_target_modules, list):
            set_(self, "lora_target_modules", tuple(self.lora_target_modules))
        check_positive("num_epochs", self.num_epochs)
        check_positive("global_batch", self.global_batch, integer=True)
        check_positive("max_length", self.max_length, integer=True)
        check_positive("logging_steps", self.logging_steps, integer=True)
        if self.max_steps is not None:
            check_positive("max_steps", self.max_steps, integer=True)
        if self.per_device_batch is not None:
            check_positive("per_device_batch", self.per_device_batch, integer=True)
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        for name in ("adam_beta1", "adam_beta2", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ConfigError("weight_decay must be >= 0 and max_grad_norm > 0")
        from sftlab.errors import check_seed
        from sftlab.models.resolve import ATTN_IMPLEMENTATIONS

        check_seed("seed", self.seed)
        if self.attn_implementation is not None:
            check_choice("attn_implementation", self.attn_implementation, ATTN_IMPLEMENTATIONS)
        check_choice("lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        check_choice("report_to", self.report_to, REPORT_TO)
        given = [k for k in LORA_DEFAULTS if getattr(self, k) is not None]
        if not self.lora and given:
            raise ConfigError(f"{', '.join(given)} given without lora; add --lora (or lora: true) to train LoRA")
        if self.lora:
            for key, value in LORA_DEFAULTS.items():
                if getattr(self, key) is None:
                    set_(self, key, value)
            check_positive("lora_r", self.lora_r, integer=True)
            check_positive("lora_alpha", self.lora_alpha)
            if not 0 <= self.lora_dropout < 1:
                raise ConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")

    def training_fields(self) -> dict:
        """The fields that define what is trained (recorded in run.json and compared on resume)."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items() if k not in _NOT_TRAINING}

    @classmethod
    def from_dict(cls, values: dict) -> SftConfig:
        """Build from a YAML/CLI mapping; an unknown key is a ConfigError naming it and the known keys."""
        return config_from_mapping(cls, values, "SFT")


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def load_sft_rows(data: str) -> tuple[list[dict], dict | None]:
    """Training rows `{prompt, completion}` of a data folder or preset, and the folder's manifest.

    A folder without a manifest is a DataError; rows without a `completion` (an RL or eval set) too.
    """
    from sftlab.data import load_rows
    from sftlab.io import read_manifest

    rows = load_rows(data, split="train")
    manifest = read_manifest(data) if Path(data).is_dir() else None
    if not rows:
        raise DataError(f"{data} has no training rows")
    for number, row in enumerate(rows, start=1):
        if not row.get("completion"):
            raise DataError(
                f"{data}: row {number} has no completion; SFT needs demonstration rows (is this an RL or eval set?)"
            )
        if not isinstance(row.get("prompt"), list) or not isinstance(row["completion"], list):
            raise DataError(f"{data}: row {number}: prompt and completion must be lists of chat messages")
    return [{"prompt": row["prompt"], "completion": row["completion"]} for row in rows], manifest


def _summary(config: SftConfig, plan: dict) -> str:
    lora = f"LoRA r={config.lora_r} alpha={config.lora_alpha}" if config.lora else "full fine-tuning"
    return (
        f"sft {config.model} on {plan['rows']} rows ({config.recipe} recipe, loss {config.loss_normalization}): "
        f"{plan['total_steps']} steps "
        f"({plan['steps_per_epoch']}/epoch), effective batch {plan['effective_batch']} = "
        f"{plan['per_device_batch']} x {plan['grad_accum']} accum x {plan['world_size']} process(es), {lora}, "
        f"checkpoints at {plan['checkpoint_steps']}"
    )


def train_sft(config: SftConfig, progress: bool = True) -> Path:
    """Train per `config` and return the run folder (RUN/run.json, RUN/checkpoints/checkpoint-N, RUN/logs).

    Resumes an interrupted run with the same training fields; an already complete one is returned untouched.
    """
    from sftlab.train import common

    n_procs = common.world_size()
    per_device, accum = common.batch_plan(config.global_batch, config.per_device_batch, n_procs)
    device_is_gpu = _gpu_available()
    if config.bf16 and not device_is_gpu:
        raise ConfigError("bf16 needs a GPU; on CPU train in fp32 (drop --bf16)")
    rows, manifest = load_sft_rows(config.data)
    from sftlab.models import resolve

    resolve(config.model)  # an unknown model fails here, before a run folder exists

    run, resume_from, complete = common.open_run(config, kind="sft", manifest=manifest, progress=progress)
    if complete:
        return run
    try:
        trainer = _build_trainer(config, run, rows, per_device, accum, device_is_gpu, progress)
        if len(trainer.train_dataset) == 0:  # TRL drops rows whose prompt alone fills max_length
            raise DataError(f"max_length {config.max_length} leaves no completion token in any of the {len(rows)} "
                            f"training rows of {config.data} (each prompt alone fills it); raise --max-length")
        spe = common.steps_per_epoch(trainer)
        total = config.max_steps or math.ceil(config.num_epochs * spe)
        from sftlab.train.schedule import checkpoint_steps

        steps = checkpoint_steps(config.schedule, total, spe)
    except Exception as exc:
        common.mark_failed(run, exc)
        raise
    trainer.add_callback(common.CheckpointSchedule(run, steps))
    trainer.add_callback(common.JsonlLog(run))
    plan = {"rows": len(rows), "train_sequences": len(trainer.train_dataset), "total_steps": total,
            "steps_per_epoch": spe, "per_device_batch": per_device, "grad_accum": accum, "world_size": n_procs,
            "effective_batch": per_device * accum * n_procs, "checkpoint_steps": steps}
    plan["distributed"] = common.distribution(trainer)  # e.g. NO, MULTI_CPU, MULTI_GPU, FSDP
    common.update_run_json(run, plan=plan, status="running")
    if progress and common.is_main_process():
        print(_summary(config, plan) + (f"; resuming from {resume_from.name}" if resume_from else ""), flush=True)
    return common.train_to_end(trainer, run, resume_from)


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _build_trainer(config: SftConfig, run: Path, rows, per_device: int, accum: int, gpu: bool, progress: bool):
    import datasets
    from trl import SFTConfig as TrlSFTConfig

    from sftlab.models import load
    from sftlab.train.sft_trainer import NormalizedSFTTrainer, tokenize_raw_eos

    if not progress:
        datasets.disable_progress_bars()
    model, tokenizer = load(config.model, device="cpu", dtype="float32", for_training=True)
    if config.attn_implementation:
        model.set_attn_implementation(config.attn_implementation)
    elif (config.padding_free or config.packing) and not gpu and model.config._attn_implementation == "sdpa":
        from sftlab.train.varlen_attention import use_varlen_sdpa

        use_varlen_sdpa(model)  # attend each sequence of a padding-free row on its own, not through a dense mask
    args = TrlSFTConfig(
        output_dir=str(run / "checkpoints"),
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accum,
        learning_rate=config.learning_rate,
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        max_grad_norm=config.max_grad_norm,
        optim="adamw_torch",
        bf16=config.bf16,
        fp16=False,
        use_cpu=not gpu,
        activation_checkpointing=config.gradient_checkpointing,  # TRL defaults it on; off unless asked
        # TRL refuses max_length for padding-free without packing; we truncate the tokenized rows ourselves below
        max_length=None if config.padding_free and not config.packing else config.max_length,
        packing=config.packing,
        padding_free=config.padding_free,
        completion_only_loss=True,
        seed=config.seed,
        data_seed=config.seed,
        train_sampling_strategy="random" if config.shuffle else "sequential",
        logging_steps=config.logging_steps,
        save_strategy="no",  # sftlab.train.common.CheckpointSchedule decides when to save
        report_to=[] if config.report_to == "none" else [config.report_to],
        disable_tqdm=not progress,
        dataset_num_proc=None,
    )
    peft_config = None
    if config.lora:
        from peft import LoraConfig

        targets = config.lora_target_modules
        peft_config = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=targets if isinstance(targets, str) else list(targets), task_type="CAUSAL_LM",
        )
    if config.completion_end == "eos":
        rows = tokenize_raw_eos(rows, tokenizer)  # TRL takes tokenized rows as they are (labels from the mask)
    trainer = NormalizedSFTTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list(rows),
                                   processing_class=tokenizer, peft_config=peft_config,
                                   loss_normalization=config.loss_normalization)
    if config.padding_free and not config.packing:
        trainer.train_dataset = _truncate(trainer.train_dataset, config.max_length)
    return trainer


def _truncate(dataset, max_length: int):
    """Cut tokenized rows to `max_length` (keeping the start), as TRL does for padded batches."""
    if max(len(ids) for ids in dataset["input_ids"]) <= max_length:
        return dataset
    return dataset.map(lambda row: {"input_ids": row["input_ids"][:max_length], "labels": row["labels"][:max_length]})


if __name__ == "__main__":  # `accelerate launch -m sftlab.train.sft --model ... --data ... --out ...`
    import sys

    from sftlab.cli import main as _cli_main  # the entry point, not a library import: CLI parsing lives there

    sys.exit(_cli_main(["train", "sft", *sys.argv[1:]]))
