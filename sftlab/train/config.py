"""The settings every training method shares, declared once (no torch imported here).

`TrainConfig` holds the fields of any run (model, data, folder, optimizer, batch, checkpoints, precision, seed,
logging); a method's config subclasses it and adds its own (SFT's recipe and loss, GRPO's sampling, DPO's beta).
A shared field left None takes the method's default: `DEFAULTS` (a class constant) or, for SFT, its recipe's
values (`method_defaults`). `LoraFields` adds the LoRA adapter settings to the methods that train one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from sftlab.errors import ConfigError, check_choice, check_positive, check_seed, config_from_mapping
from sftlab.settings import check_numbers, setting
from sftlab.task_adapters.options import gather_options
from sftlab.train.schedule import parse_schedule

REPORT_TO = ("none", "tensorboard", "wandb", "trackio")
LR_SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
PLAN = "set by the plan (from the spec's models, conditions and experiment folder)"
LORA_DEFAULTS = {"lora_r": 32, "lora_alpha": 16, "lora_target_modules": "all-linear", "lora_dropout": 0.0}


@dataclass(frozen=True)
class TrainConfig:
    """The fields of every training run. Every field is a YAML key, a CLI flag of `sftlab train METHOD` and a spec
    key (train.METHOD), unless its declaration says why not (sftlab.settings)."""

    LABEL: ClassVar[str] = "training"  # how error messages name the method's config ("unknown SFT config key")
    DEFAULTS: ClassVar[dict] = {}  # the method's values of the fields left None (shown as the CLI's defaults)
    # Fields that do not change what is trained: they may differ between a run and its resumption.
    NOT_TRAINING: ClassVar[tuple[str, ...]] = ("out", "resume", "force", "report_to")
    # How runs trained before a field existed: a run records such a field only when its value differs, so older
    # runs resume, and a run with another value is told apart.
    BEFORE_THE_FIELD: ClassVar[dict] = {}

    model: str = setting(help="smollm2-135m, tiny-random, a local folder (e.g. an SFT checkpoint) or a hub id.",
                         spec=False, why=PLAN)
    data: str = setting(help="A built data folder (sftlab data build) or a preset.", spec=False, why=PLAN)
    out: str = setting(help="The run folder (re-running resumes it).", spec=False, why=PLAN)
    num_epochs: float | None = setting(None, "Passes over the training rows.", flag="--epochs")
    max_steps: int | None = setting(None, "Stop after N optimizer steps (overrides epochs).")
    learning_rate: float | None = setting(None, "Peak learning rate.", flag="--lr")
    adam_beta1: float | None = setting(None, "AdamW beta1.")
    adam_beta2: float | None = setting(None, "AdamW beta2.")
    weight_decay: float | None = setting(None, "AdamW weight decay.")
    lr_scheduler: str | None = setting(None, "cosine, linear, constant or constant_with_warmup.")
    warmup_ratio: float | None = setting(None, "Share of the steps spent warming the learning rate up.")
    max_grad_norm: float | None = setting(None, "Gradient clipping norm.")
    global_batch: int | None = setting(
        None, "Sequences per optimizer step = per-device x accumulation x processes.")
    per_device_batch: int | None = setting(
        None, "Micro-batch per device (default the largest divisor of the per-process share <= 8).")
    schedule: str | tuple[int, ...] | None = setting(
        None, "Checkpoints: epoch, log, or steps like 10,20,40; the last step is always saved.")
    bf16: bool = setting(False, "bf16 autocast with fp32 master weights (a GPU, or a CPU with bf16 instructions).")
    gradient_checkpointing: bool = setting(False, "Trade compute for memory.")
    seed: int = setting(1, "Seed of data order, initialisation and sampling.", spec=False,
                        why="set by the plan from the spec's seeds")
    logging_steps: int = setting(1, "Log every N steps.")
    report_to: str = setting("none", "none, tensorboard, wandb or trackio.")
    resume: bool = setting(True, cli=False, spec=False, why="a re-run always resumes; --force starts over")
    force: bool = setting(False, "Delete an existing run folder and start over.", spec=False,
                          why="the plan decides when a step starts over")

    def __post_init__(self):
        for name in ("model", "data", "out"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must be a non-empty string")
        for key, value in self.method_defaults().items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        check_numbers(self)  # finite and in range, before the checks below compare them
        object.__setattr__(self, "schedule", parse_schedule(self.schedule))
        check_positive("num_epochs", self.num_epochs)
        check_positive("logging_steps", self.logging_steps, integer=True)
        for name in ("global_batch", "per_device_batch", "max_steps"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name), integer=True)
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        for name in ("adam_beta1", "adam_beta2", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ConfigError("weight_decay must be >= 0 and max_grad_norm > 0")
        check_seed("seed", self.seed)
        check_choice("lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        check_choice("report_to", self.report_to, REPORT_TO)

    def method_defaults(self) -> dict:
        """The values this method gives the fields left None (default: `DEFAULTS`)."""
        return self.DEFAULTS

    def checkpoint_schedule(self, total_steps: int):
        """The schedule the run saves on, once its length is known (default: `schedule`)."""
        return self.schedule

    def training_fields(self) -> dict:
        """The fields that define what is trained (recorded in run.json and compared on resume)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
                if k not in self.NOT_TRAINING and self.BEFORE_THE_FIELD.get(k, ...) != v}

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a YAML/CLI mapping; an unknown key is a ConfigError naming it and the known keys (a method
        that takes task options, `takes_task_options`, takes each one by its own name too)."""
        if hasattr(cls, "task_options"):
            values = gather_options(cls, values)
        return config_from_mapping(cls, values, cls.LABEL)


@dataclass(frozen=True)
class LoraFields:
    """The LoRA settings of a method that can train an adapter instead of all weights (mixed into its config)."""

    lora: bool = setting(False, "Train a LoRA adapter instead of all weights.")
    lora_r: int | None = setting(None, "LoRA rank [32]; needs --lora.")
    lora_alpha: int | None = setting(None, "LoRA alpha [16]; needs --lora.")
    lora_target_modules: str | tuple[str, ...] | None = setting(
        None, "all-linear (default) or q_proj,v_proj,...; needs --lora.", commas=True)
    lora_dropout: float | None = setting(None, "LoRA dropout [0]; needs --lora.")

    def check_lora(self) -> None:
        """Fill the LoRA defaults when `lora` is on; a LoRA setting without it is a ConfigError."""
        if isinstance(self.lora_target_modules, list):
            object.__setattr__(self, "lora_target_modules", tuple(self.lora_target_modules))
        given = [k for k in LORA_DEFAULTS if getattr(self, k) is not None]
        if not self.lora and given:
            raise ConfigError(f"{', '.join(given)} given without lora; add --lora (or lora: true) to train LoRA")
        if self.lora:
            for key, value in LORA_DEFAULTS.items():
                if getattr(self, key) is None:
                    object.__setattr__(self, key, value)
            check_positive("lora_r", self.lora_r, integer=True)
            check_positive("lora_alpha", self.lora_alpha)
            if not 0 <= self.lora_dropout < 1:
                raise ConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")

    def peft_config(self):
        """peft's LoraConfig of these settings, or None without `lora`."""
        if not self.lora:
            return None
        from peft import LoraConfig

        targets = self.lora_target_modules
        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
                          target_modules=targets if isinstance(targets, str) else list(targets),
                          task_type="CAUSAL_LM")


def check_device(config: TrainConfig) -> bool:
    """Whether a GPU is there to train on; bf16 on a CPU without bf16 instructions is a ConfigError.

    On a CPU with them (AVX512-BF16 or AMX, via oneDNN) bf16 autocast makes a SmolLM2-135M step 1.7x faster
    (`benchmarks/sft_throughput.py --modes padded,bf16`), so it is allowed there; elsewhere it would be emulated
    and slower than fp32.
    """
    import torch

    gpu = torch.cuda.is_available()
    if config.bf16 and not gpu and not cpu_has_bf16():
        raise ConfigError("bf16 needs a GPU or a CPU with bf16 instructions (AVX512-BF16 or AMX); "
                          "train in fp32 (drop --bf16)")
    return gpu


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (oneDNN's check; False where torch lacks it)."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private op: a torch without it cannot tell, so no bf16 on CPU
        return False


def trainer_args(config: TrainConfig, run, per_device: int, accum: int, gpu: bool, progress: bool) -> dict:
    """The TrainingArguments every method's TRL config gets from the shared fields (checkpoints are saved by
    sftlab.train.callbacks.CheckpointSchedule alone, so the Trainer's own saving is off)."""
    return dict(
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
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to=[] if config.report_to == "none" else [config.report_to],
        disable_tqdm=not progress,
    )
