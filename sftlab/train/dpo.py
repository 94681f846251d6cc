"""DPO (direct preference optimisation) on TRL's DPOTrainer, on the same run folders as SFT and GRPO.

It trains on preference-pair sets (`sftlab data build <sft preset>-pairs`, docs/data.md): each row holds a prompt, a
`chosen` response (a demonstration the task's verifier accepts) and a `rejected` one (the same demonstration with a
wrong final answer or action, which the verifier fails). The policy starts from `model` and the reference is the same
model, frozen (with LoRA: the base with the adapter switched off, so no second copy is loaded).

Defaults (docs/training.md "DPO"): the sigmoid loss with beta 0.1 (Rafailov et al.; TRL's default), one epoch,
AdamW lr 1e-6 (TRL's default) with the SFT default recipe's optimizer otherwise (betas 0.9/0.95, weight decay 0.01,
cosine schedule with 10% warmup, clipping 1.0), 64 pairs per optimizer step, a checkpoint per epoch.

`train_dpo(DpoConfig(...))` writes a run folder (docs/contracts.md: run.json kind "dpo", checkpoints, logs),
resumes the same way as the others, and returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sftlab.data import load_rows
from sftlab.errors import ConfigError, DataError, check_choice, check_positive
from sftlab.io import read_manifest
from sftlab.models import load
from sftlab.settings import setting
from sftlab.train.config import LoraFields, TrainConfig, trainer_args

# TRL 1.16's single-loss names (sigmoid is DPO itself; the others are its published variants).
LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust", "exo_pair", "nca_pair", "bco_pair", "sppo_hard", "apo_zero",
              "apo_down", "sigmoid_norm")


@dataclass(frozen=True)
class DpoConfig(LoraFields, TrainConfig):
    """One DPO run: the shared training fields (sftlab.train.config; `global_batch` counts pairs), LoRA, and DPO's
    own."""

    LABEL = "DPO"
    DEFAULTS = {"num_epochs": 1.0, "learning_rate": 1e-6, "lr_scheduler": "cosine", "warmup_ratio": 0.1,
                "weight_decay": 0.01, "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.95,
                "global_batch": 64, "schedule": "epoch"}

    beta: float = setting(0.1, "How strongly the policy is held to the reference model (DPO's beta).")
    loss_type: str = setting("sigmoid", "sigmoid (DPO), hinge, ipo, robust, ... (TRL's names).", choices=LOSS_TYPES)
    label_smoothing: float = setting(0.0, "Assumed share of flipped preference labels (robust / cDPO).")
    max_length: int = setting(2048, "Max tokens of prompt + response; longer sequences are cut at the end.")

    def __post_init__(self):
        super().__post_init__()
        check_positive("beta", self.beta)
        check_positive("max_length", self.max_length, integer=True)
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        self.check_lora()


def load_pair_rows(data: str) -> tuple[list[dict], dict | None]:
    """Preference rows `{prompt, chosen, rejected}` of a pair set (folder or preset) and the folder's manifest.

    A folder without a manifest is a DataError; rows without `chosen` and `rejected` (an SFT or RL set) too.
    """
    rows = load_rows(data, split="train")
    manifest = read_manifest(data) if Path(data).is_dir() else None
    if not rows:
        raise DataError(f"{data} has no training rows")
    for number, row in enumerate(rows, start=1):
        if not row.get("chosen") or not row.get("rejected"):
            raise DataError(f"{data}: row {number} has no chosen/rejected pair; DPO needs a preference-pair set "
                            "(a *-pairs preset, e.g. sokoban-cot-pairs)")
        if not all(isinstance(row[k], list) for k in ("prompt", "chosen", "rejected")):
            raise DataError(f"{data}: row {number}: prompt, chosen and rejected must be lists of chat messages")
    return [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows], manifest


def train_dpo(config: DpoConfig, progress: bool = True) -> Path:
    """Train per `config` and return the run folder (RUN/run.json kind "dpo", checkpoints, logs).

    Resumes an interrupted run with the same training fields; an already complete one is returned untouched.
    """
    from sftlab.train import common

    rows, manifest, n_procs, per_device, accum, gpu = common.prepare(config, load_pair_rows)

    def describe(trainer, steps: dict) -> dict:
        return {"rows": len(rows), **steps, "per_device_batch": per_device, "grad_accum": accum,
                "world_size": n_procs, "effective_batch": per_device * accum * n_procs}

    def summary(plan: dict) -> str:
        lora = f"LoRA r={config.lora_r} alpha={config.lora_alpha}" if config.lora else "full fine-tuning"
        return (f"dpo {config.model} on {plan['rows']} pairs (loss {config.loss_type}, beta {config.beta:g}): "
                f"{plan['total_steps']} steps ({plan['steps_per_epoch']}/epoch), effective batch "
                f"{plan['effective_batch']} pairs = {per_device} x {accum} accum x {n_procs} process(es), {lora}, "
                f"checkpoints at {plan['checkpoint_steps']}")

    def build(run: Path):
        trainer = _build_trainer(config, run, rows, per_device, accum, gpu, progress)
        common.check_not_empty(trainer, config, rows, "response")
        return trainer

    return common.train_run(config, kind="dpo", manifest=manifest, build=build, describe=describe,
                            summary=summary, progress=progress)


def _build_trainer(config: DpoConfig, run: Path, rows, per_device: int, accum: int, gpu: bool, progress: bool):
    import datasets
    from trl import DPOConfig as TrlDPOConfig
    from trl import DPOTrainer

    if not progress:
        datasets.disable_progress_bars()
    model, tokenizer = load(config.model, device="cpu", dtype="float32", for_training=True)
    # the frozen reference: the same starting model, loaded the same way (with LoRA, TRL switches the adapter off)
    ref_model = None if config.lora else load(config.model, device="cpu", dtype="float32")[0]
    args = TrlDPOConfig(
        **trainer_args(config, run, per_device, accum, gpu, progress),
        gradient_checkpointing=config.gradient_checkpointing,
        beta=config.beta,
        loss_type=[config.loss_type],
        label_smoothing=config.label_smoothing,
        max_length=config.max_length,
        dataset_num_proc=None,
    )
    return DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=datasets.Dataset.from_list(rows),
                      processing_class=tokenizer, peft_config=config.peft_config())


if __name__ == "__main__":  # `accelerate launch -m sftlab.train.dpo --model ... --data ... --out ...`
    import sys

    from sftlab.cli import main as _cli_main  # the entry point, not a library import: CLI parsing lives there

    sys.exit(_cli_main(["train", "dpo", *sys.argv[1:]]))
