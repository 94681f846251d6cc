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

from dataclasses import dataclass
from pathlib import Path

from sftlab.data import load_rows
from sftlab.errors import ConfigError, DataError, check_choice, check_positive
from sftlab.io import read_manifest
from sftlab.models import load
from sftlab.models.resolve import ATTN_IMPLEMENTATIONS
from sftlab.settings import setting
from sftlab.train.config import LoraFields, TrainConfig, trainer_args
from sftlab.train.recipes import (
    COMPLETION_ENDS,
    LOSS_NORMALIZATIONS,
    OPTIMIZER_RULES,
    PRECISIONS,
    SFT_RECIPES,
)


@dataclass(frozen=True)
class SftConfig(LoraFields, TrainConfig):
    """One SFT run: the shared training fields (sftlab.train.config), LoRA, and SFT's own. Every shared field
    marked (recipe) that is left None takes the recipe's value; a value given explicitly wins."""

    LABEL = "SFT"
    DEFAULTS = SFT_RECIPES["default"]
    BEFORE_THE_FIELD = {"optimizer_rules": "transformers", "precision": "fp32"}

    # The paper recipe (sftlab.train.recipes.SFT_RECIPES): default | debunk | rethinking.
    recipe: str = setting("default", "default, debunk or rethinking: the paper's value of every setting it "
                          "covers that is left unset (optimizer, schedule, batch, length, loss, data order; the "
                          "[defaults] shown are the default recipe's).")
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
        None, "chat_template (the default) or eos (raw EOS token, debunk and rethinking).")
    # (recipe) transformers: the Trainer's AdamW (no decay on biases and norms, warmup steps rounded up); verl: both
    # originals' (decay on every parameter, warmup int(ratio x steps), a step with a non-finite gradient norm skipped)
    optimizer_rules: str | None = setting(
        None, "transformers (the default) or verl (debunk, rethinking): weight decay, warmup rounding, bad steps.")
    # (recipe) fp32: fp32 weights and AdamW states (bf16 autocast with --bf16); pure_bf16: weights, gradients and
    # AdamW states in bf16 (rethinking: verl's model_dtype=bf16; small late updates are rounded away)
    precision: str | None = setting(None, "fp32 (the default) or pure_bf16 (rethinking: bf16 weights and AdamW).")
    packing: bool = setting(False, "Pack rows into max-length blocks (best-fit decreasing; implies padding-free).")
    padding_free: bool = setting(False, "Concatenate a batch into one row, no padding tokens.")
    attn_implementation: str | None = setting(
        None, "sdpa (default), eager, flash_attention_2 (GPU; for padding-free).")

    def __post_init__(self):
        super().__post_init__()
        check_choice("loss_normalization", self.loss_normalization, LOSS_NORMALIZATIONS)
        check_choice("completion_end", self.completion_end, COMPLETION_ENDS)
        check_choice("optimizer_rules", self.optimizer_rules, OPTIMIZER_RULES)
        check_choice("precision", self.precision, PRECISIONS)
        if not isinstance(self.shuffle, bool):
            raise ConfigError(f"shuffle must be true or false, got {self.shuffle!r}")
        check_positive("max_length", self.max_length, integer=True)
        if self.attn_implementation is not None:
            check_choice("attn_implementation", self.attn_implementation, ATTN_IMPLEMENTATIONS)
        self.check_lora()

    def method_defaults(self) -> dict:
        """The recipe's values (sftlab.train.recipes) of the fields left None."""
        check_choice("recipe", self.recipe, SFT_RECIPES)
        return SFT_RECIPES[self.recipe]


def load_sft_rows(data: str) -> tuple[list[dict], dict | None]:
    """Training rows `{prompt, completion}` of a data folder or preset, and the folder's manifest.

    A folder without a manifest is a DataError; rows without a `completion` (an RL or eval set) too.
    """
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

    rows, manifest, n_procs, per_device, accum, gpu = common.prepare(config, load_sft_rows)

    def build(run: Path):
        trainer = _build_trainer(config, run, rows, per_device, accum, gpu, progress)
        common.check_not_empty(trainer, config, rows, "completion")
        return trainer

    def describe(trainer, steps: dict) -> dict:
        return {"rows": len(rows), "train_sequences": len(trainer.train_dataset), **steps,
                "per_device_batch": per_device, "grad_accum": accum, "world_size": n_procs,
                "effective_batch": per_device * accum * n_procs}

    return common.train_run(config, kind="sft", manifest=manifest, build=build, describe=describe,
                            summary=lambda plan: _summary(config, plan), progress=progress)


def _build_trainer(config: SftConfig, run: Path, rows, per_device: int, accum: int, gpu: bool, progress: bool):
    import datasets
    from trl import SFTConfig as TrlSFTConfig

    from sftlab.train.sft_trainer import NormalizedSFTTrainer, tokenize_raw_eos

    if not progress:
        datasets.disable_progress_bars()
    dtype = "bfloat16" if config.precision == "pure_bf16" else "float32"
    model, tokenizer = load(config.model, device="cpu", dtype=dtype, for_training=True)
    if config.attn_implementation:
        model.set_attn_implementation(config.attn_implementation)
    elif (config.padding_free or config.packing) and not gpu and model.config._attn_implementation == "sdpa":
        from sftlab.train.varlen_attention import use_varlen_sdpa

        use_varlen_sdpa(model)  # attend each sequence of a padding-free row on its own, not through a dense mask
    args = TrlSFTConfig(
        **trainer_args(config, run, per_device, accum, gpu, progress),
        activation_checkpointing=config.gradient_checkpointing,  # TRL defaults it on; off unless asked
        # TRL refuses max_length for padding-free without packing; we truncate the tokenized rows ourselves below
        max_length=None if config.padding_free and not config.packing else config.max_length,
        packing=config.packing,
        padding_free=config.padding_free,
        completion_only_loss=True,
        train_sampling_strategy="random" if config.shuffle else "sequential",
        dataset_num_proc=None,
    )
    if config.completion_end == "eos":
        rows = tokenize_raw_eos(rows, tokenizer)  # TRL takes tokenized rows as they are (labels from the mask)
    trainer = NormalizedSFTTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list(rows),
                                   processing_class=tokenizer, peft_config=config.peft_config(),
                                   loss_normalization=config.loss_normalization,
                                   optimizer_rules=config.optimizer_rules)
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
