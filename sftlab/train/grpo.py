"""GRPO on TRL's GRPOTrainer with the Debunk paper's RL recipe as defaults, on the same run folders as SFT.

Defaults (spec/debunk.md section 6, the original's verl scripts): 8 generations per prompt at temperature 1.0 and
top_p 1.0; 256 prompts per optimizer step (one update per batch, one PPO epoch); clip epsilon 0.2; no KL (beta 0),
no entropy bonus; AdamW lr 1e-6 constant, weight decay 0.01, gradient clipping 1.0; token-mean loss (TRL's
`loss_type="dapo"`: token losses averaged over every completion token of the global batch, which is what verl's
`loss_agg_mode=token-mean` does); advantages normalised by the group's reward std (verl's GRPO default); max
completion 1024 tokens for Sokoban, 4096 for General Points and Countdown.

`train_grpo(GrpoConfig(...))` writes a run folder exactly like `train_sft` (docs/contracts.md: run.json with kind
"grpo", checkpoints/checkpoint-N with COMPLETE, logs/log_history.jsonl), resumes the same way, and returns it.
Rewards come from `sftlab.train.rewards` (the same scorers verl uses through `sftlab.integrations.verl`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path

from sftlab.errors import ConfigError, DataError, check_choice, check_positive, config_from_mapping
from sftlab.settings import check_numbers, setting
from sftlab.tasks.general_points.verify import ARITHMETIC as GP_ARITHMETIC
from sftlab.train.schedule import parse_schedule

REPORT_TO = ("none", "tensorboard", "wandb", "trackio")
LR_SCHEDULERS = ("constant", "cosine", "linear", "constant_with_warmup")
# TRL 1.16's names. dapo = token-mean over the global batch (the paper's verl setting, and TRL's default);
# grpo = mean over each sequence's tokens, then over sequences (the original GRPO paper); dr_grpo = sum over tokens
# divided by a constant (max_completion_length); bnpo = token-mean over the local micro-batch.
LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")
PAPER_BATCH_PROMPTS = 256
PLAN = "set by the plan (from the spec's models, conditions and experiment folder)"
# CPU fallbacks for unset sizes: a tiny-model step takes about a minute on 2 cores with these (docs/performance.md).
CPU_BATCH_PROMPTS = 2
CPU_MAX_COMPLETION = 64
# Fields that do not change what is trained: they may differ between a run and its resumption.
_NOT_TRAINING = ("out", "resume", "force", "report_to", "use_vllm", "vllm_mode", "vllm_server_url",
                 "vllm_gpu_memory_utilization", "vllm_tensor_parallel_size")


@dataclass(frozen=True)
class GrpoConfig:
    """One GRPO run. Every field is a YAML key and a CLI flag of `sftlab train grpo` and a spec key (train.grpo),
    unless its declaration says why not (sftlab.settings)."""

    model: str = setting(help="smollm2-135m, tiny-random, a folder (an SFT checkpoint) or a hub id.", spec=False,
                         why=PLAN)
    data: str = setting(help="An RL data folder or preset: sokoban-rl, gp-rl, ...", spec=False, why=PLAN)
    out: str = setting(help="The run folder (re-running resumes it).", spec=False, why=PLAN)
    num_generations: int = setting(8, "Completions sampled per prompt (the group).")
    # None: the paper's 256 on a GPU, CPU_BATCH_PROMPTS on CPU (the paper's batch takes hours per step there); the
    # resolved value is recorded.
    batch_prompts: int | None = setting(None, "Prompts per optimizer step (256 on a GPU, 2 on CPU).")
    global_batch: int | None = setting(None, "Or: completions per optimizer step (a multiple of num-generations).")
    per_device_batch: int | None = setting(
        None, "Completions per forward/backward (default the largest divisor <= 8).")
    num_epochs: float = setting(1.0, "Passes over the prompts.", flag="--epochs")
    max_steps: int | None = setting(None, "Stop after N optimizer steps (overrides epochs).")
    learning_rate: float = setting(1e-6, "Learning rate.", flag="--lr")
    lr_scheduler: str = setting("constant", "constant, cosine, linear, constant_with_warmup.")
    warmup_ratio: float = setting(0.0, "Share of the steps spent warming the learning rate up.")
    weight_decay: float = setting(0.01, "AdamW weight decay.")
    max_grad_norm: float = setting(1.0, "Gradient clipping norm.")
    adam_beta1: float = setting(0.9, "AdamW beta1.")
    adam_beta2: float = setting(0.999, "AdamW beta2.")
    epsilon: float = setting(0.2, "PPO clip range.")
    beta: float = setting(0.0, "KL coefficient (0: no reference model is loaded).")
    entropy_coef: float = setting(0.0, "Entropy bonus coefficient.")
    loss_type: str = setting("dapo", "dapo (token-mean), grpo, dr_grpo or bnpo.")
    scale_rewards: str = setting("group", "Advantage scaling: group, batch or none.")
    temperature: float = setting(1.0, "Sampling temperature.")
    top_p: float = setting(1.0, "Nucleus sampling mass.")
    max_completion_length: int | None = setting(
        None, "New tokens per completion (by task: Sokoban 1024, GP/Countdown 4096; 64 on CPU).")
    gp_rescale: bool = setting(False, "General Points reward (r + 3) / 8 in [0, 1] instead of 5 / -1 / -2 / -3.")
    countdown_format_score: float = setting(0.0, "Reward for a wrong but well-formed Countdown answer.")
    gp_arithmetic: str = setting(
        "exact", "General Points reward: exact (8/(3-8/3) is 24, +5) or float (the original's float eval: -1).",
        choices=GP_ARITHMETIC)
    schedule: str | tuple[int, ...] = setting(
        "log", "Checkpoints: log, epoch, or steps like 10,20,40; the last step is always saved.")
    save_every: int | None = setting(None, "Checkpoint every N steps (overrides schedule; paper: 500 / 100).")
    use_vllm: bool | None = setting(None, "vLLM generation (default when a GPU and vllm are present).",
                                    flag="--use-vllm/--no-vllm")
    vllm_mode: str = setting("colocate", "colocate (inside the training process) or server (trl vllm-serve).")
    vllm_server_url: str | None = setting(None, "Server mode URL, e.g. http://localhost:8000.")
    vllm_gpu_memory_utilization: float = setting(0.3, "Share of GPU memory vLLM may take (colocate).")
    vllm_tensor_parallel_size: int = setting(1, "vLLM tensor parallel size.")
    bf16: bool = setting(False, "bf16 autocast (GPU only).")
    gradient_checkpointing: bool = setting(False, "Trade compute for memory.")
    seed: int = setting(1, "Seed of data order and sampling.", spec=False, why="set by the plan from the spec's seeds")
    logging_steps: int = setting(1, "Log every N steps.")
    report_to: str = setting("none", "none, tensorboard, wandb or trackio.")
    resume: bool = setting(True, cli=False, spec=False, why="a re-run always resumes; --force starts over")
    force: bool = setting(False, "Delete an existing run folder and start over.", spec=False,
                          why="the plan decides when a step starts over")

    def __post_init__(self):
        check_numbers(self)  # finite and in range, before the checks below compare them
        set_ = object.__setattr__
        for name in ("model", "data", "out"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must be a non-empty string")
        set_(self, "schedule", parse_schedule(self.schedule))
        check_positive("num_generations", self.num_generations, integer=True)
        if self.num_generations < 2:
            raise ConfigError(f"num_generations must be at least 2 (GRPO compares completions within a group), "
                              f"got {self.num_generations}")
        if self.global_batch is not None:
            check_positive("global_batch", self.global_batch, integer=True)
            if self.global_batch % self.num_generations:
                raise ConfigError(
                    f"num_generations {self.num_generations} does not divide the global batch of "
                    f"{self.global_batch} completions; use a multiple of {self.num_generations} (or batch_prompts)"
                )
            set_(self, "batch_prompts", None)
        if self.batch_prompts is not None:
            check_positive("batch_prompts", self.batch_prompts, integer=True)
        for name in ("per_device_batch", "max_steps", "max_completion_length", "save_every"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name), integer=True)
        check_positive("num_epochs", self.num_epochs)
        check_positive("logging_steps", self.logging_steps, integer=True)
        check_positive("vllm_tensor_parallel_size", self.vllm_tensor_parallel_size, integer=True)
        check_positive("temperature", self.temperature)
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        for name in ("adam_beta1", "adam_beta2", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 < self.epsilon < 1:
            raise ConfigError(f"epsilon (the clip range) must be in (0, 1), got {self.epsilon}")
        if self.beta < 0 or self.entropy_coef < 0 or self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ConfigError("beta, entropy_coef and weight_decay must be >= 0 and max_grad_norm > 0")
        if not 0 <= self.countdown_format_score < 1:
            raise ConfigError(f"countdown_format_score must be in [0, 1), got {self.countdown_format_score}")
        if not 0 < self.vllm_gpu_memory_utilization <= 1:
            raise ConfigError(f"vllm_gpu_memory_utilization must be in (0, 1], got {self.vllm_gpu_memory_utilization}")
        from sftlab.errors import check_seed

        check_seed("seed", self.seed)
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        check_choice("gp_arithmetic", self.gp_arithmetic, GP_ARITHMETIC)
        check_choice("scale_rewards", self.scale_rewards, SCALE_REWARDS)
        check_choice("lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        check_choice("report_to", self.report_to, REPORT_TO)
        check_choice("vllm_mode", self.vllm_mode, VLLM_MODES)
        if self.vllm_server_url is not None and self.vllm_mode != "server":
            raise ConfigError("vllm_server_url is only used with vllm_mode server")

    @property
    def completions_per_step(self) -> int:
        """Completions per optimizer step (prompts per step x generations; the paper's 256 prompts if unset)."""
        return self.global_batch or (self.batch_prompts or PAPER_BATCH_PROMPTS) * self.num_generations

    def resolved(self, *, gpu: bool, tasks) -> GrpoConfig:
        """This config with the device- and task-dependent defaults filled in (what a run records and uses)."""
        values = {}
        if self.batch_prompts is None and self.global_batch is None:
            values["batch_prompts"] = PAPER_BATCH_PROMPTS if gpu else CPU_BATCH_PROMPTS
        if self.max_completion_length is None:
            from sftlab.task_adapters import get_task

            by_task = max(get_task(t).grpo_max_completion for t in tasks)
            values["max_completion_length"] = by_task if gpu else min(by_task, CPU_MAX_COMPLETION)
        return dataclasses.replace(self, **values) if values else self

    def training_fields(self) -> dict:
        """The fields that define what is trained (recorded in run.json and compared on resume)."""
        fields = {k: list(v) if isinstance(v, tuple) else v
                  for k, v in dataclasses.asdict(self).items() if k not in _NOT_TRAINING}
        if fields["gp_arithmetic"] == "exact":  # how every run recorded before the field existed trained: those
            del fields["gp_arithmetic"]  # runs resume, and a float run is still told apart
        return fields

    @classmethod
    def from_dict(cls, values: dict) -> GrpoConfig:
        """Build from a YAML/CLI mapping; an unknown key is a ConfigError naming it and the known keys."""
        return config_from_mapping(cls, values, "GRPO")


def task_reward(config: GrpoConfig):
    """The reward a run trains on unless `reward_funcs` replaces it: each row's task reward (a TaskReward), with
    this config's reward options (gp_rescale, countdown_format_score, gp_arithmetic)."""
    from sftlab.train.rewards import TaskReward

    return TaskReward(gp_rescale=config.gp_rescale, countdown_format_score=config.countdown_format_score,
                      gp_arithmetic=config.gp_arithmetic)


# ---------------------------------------------------------------------------------------------------------------
# Data


def load_rl_rows(data: str) -> tuple[list[dict], dict | None]:
    """RL rows of a data folder or preset (prompt messages, answer, metadata, no completion) and its manifest.

    A demonstration (SFT) set, rows without an answer, or a task without a reward is a DataError.
    """
    from sftlab.io import read_jsonl, read_manifest

    try:
        from sftlab.data import load_rows
    except ImportError:  # the data stage is not in this tree yet: read the folder directly
        load_rows = None
    folder = Path(data)
    if load_rows is not None:
        rows = load_rows(data, split="train")
    else:
        if not folder.is_dir():
            raise DataError(f"no such data folder: {data} (build one with `sftlab data build PRESET --out DIR`)")
        read_manifest(folder)
        rows = read_jsonl(folder / "train.jsonl")
    manifest = read_manifest(folder) if folder.is_dir() else None
    if not rows:
        raise DataError(f"{data} has no training rows")
    from sftlab.train.rewards import TASK_NAMES

    for number, row in enumerate(rows, start=1):
        if row.get("completion"):
            raise DataError(
                f"{data}: row {number} has a completion: this is an SFT (demonstration) set; GRPO needs an RL set "
                "such as sokoban-rl, sokoban-diverse-rl, gp-rl or countdown-rl"
            )
        if not isinstance(row.get("prompt"), list) or not row["prompt"]:
            raise DataError(f"{data}: row {number}: prompt must be a non-empty list of chat messages")
        if row.get("answer") is None:
            raise DataError(f"{data}: row {number} has no answer to reward against")
        if row.get("task") not in TASK_NAMES:
            raise DataError(f"{data}: row {number}: no reward for task {row.get('task')!r} "
                            f"(GRPO supports {', '.join(TASK_NAMES)})")
    return rows, manifest


def trl_rows(rows: list[dict]) -> list[dict]:
    """Rows for TRL: the prompt messages plus the columns the reward reads; nested values as JSON text, so
    Arrow never reshapes them (the rewards decode them back)."""
    return [
        {"prompt": row["prompt"], "id": str(row.get("id", i)), "task": row["task"],
         "answer": json.dumps(row["answer"], sort_keys=True),
         "metadata": json.dumps(row.get("metadata") or {}, sort_keys=True)}
        for i, row in enumerate(rows)
    ]


# ---------------------------------------------------------------------------------------------------------------
# Training


def _summary(config: GrpoConfig, plan: dict) -> str:
    return (
        f"grpo {config.model} on {plan['rows']} prompts ({plan['task']}): {plan['total_steps']} steps "
        f"({plan['steps_per_epoch']}/epoch), {plan['prompts_per_step']} prompts x {config.num_generations} "
        f"generations = {plan['completions_per_step']} completions/step ({plan['per_device_batch']} x "
        f"{plan['grad_accum']} accum x {plan['world_size']} process(es)), max completion "
        f"{plan['max_completion_length']} tokens, loss {config.loss_type}, generation "
        f"{'vLLM ' + config.vllm_mode if plan['use_vllm'] else 'transformers generate'}, "
        f"checkpoints at {plan['checkpoint_steps']}"
    )


def train_grpo(config: GrpoConfig, progress: bool = True, reward_funcs=None) -> Path:
    """Train per `config` and return the run folder (RUN/run.json kind "grpo", checkpoints, logs).

    `reward_funcs` (library use) replaces the task reward with your own TRL-style reward functions; each is
    wrapped so that NaN or a wrong count stops training with a clear error. Resumes an interrupted run with the
    same training fields; an already complete one is returned untouched.
    """
    from sftlab.train import common
    from sftlab.train.rewards import CheckedReward

    n_procs = common.world_size()
    gpu = _gpu_available()
    if config.bf16 and not gpu:
        raise ConfigError("bf16 needs a GPU; on CPU train in fp32 (drop --bf16)")
    use_vllm = _resolve_vllm(config.use_vllm, gpu)
    rows, manifest = load_rl_rows(config.data)
    tasks = sorted({row["task"] for row in rows})
    cpu_sized = not gpu and (config.batch_prompts is None and config.global_batch is None
                             or config.max_completion_length is None)
    config = config.resolved(gpu=gpu, tasks=tasks)
    max_completion = config.max_completion_length
    per_device, accum = common.batch_plan(config.completions_per_step, config.per_device_batch, n_procs)

    if reward_funcs is None:
        reward_funcs = [task_reward(config)]
    elif callable(reward_funcs):
        reward_funcs = [reward_funcs]
    reward_funcs = [CheckedReward(fn) for fn in reward_funcs]

    run, resume_from, complete = common.open_run(config, kind="grpo", manifest=manifest, progress=progress)
    if complete:
        return run
    try:
        trainer = _build_trainer(config, run, rows, reward_funcs, per_device, accum, gpu, use_vllm,
                                 max_completion, progress)
        spe = common.steps_per_epoch(trainer)
        total = config.max_steps or math.ceil(config.num_epochs * spe)
        from sftlab.train.schedule import checkpoint_steps

        schedule = config.schedule
        if config.save_every is not None:
            schedule = tuple(range(config.save_every, total + 1, config.save_every)) or (total,)
        steps = checkpoint_steps(schedule, total, spe)
    except Exception as exc:
        common.mark_failed(run, exc)
        raise
    trainer.add_callback(common.CheckpointSchedule(run, steps))
    trainer.add_callback(common.JsonlLog(run))
    plan = {"rows": len(rows), "task": ",".join(tasks), "total_steps": total, "steps_per_epoch": spe,
            "prompts_per_step": config.completions_per_step // config.num_generations,
            "completions_per_step": config.completions_per_step, "per_device_batch": per_device,
            "grad_accum": accum, "world_size": n_procs, "max_completion_length": max_completion,
            "use_vllm": use_vllm, "checkpoint_steps": steps}
    plan["distributed"] = common.distribution(trainer)  # e.g. NO, MULTI_CPU, MULTI_GPU, FSDP
    common.update_run_json(run, plan=plan, status="running")
    if progress and common.is_main_process():
        print(_summary(config, plan) + (f"; resuming from {resume_from.name}" if resume_from else ""), flush=True)
        if cpu_sized:
            print(f"note: no GPU, so unset sizes use the CPU defaults ({CPU_BATCH_PROMPTS} prompts/step, at most "
                  f"{CPU_MAX_COMPLETION} new tokens) instead of the paper's {PAPER_BATCH_PROMPTS} and "
                  "1024/4096; set --batch-prompts / --max-completion-length to choose", flush=True)
    return common.train_to_end(trainer, run, resume_from)


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _resolve_vllm(requested: bool | None, gpu: bool) -> bool:
    installed = importlib.util.find_spec("vllm") is not None
    if requested is None:
        return gpu and installed
    if requested and not gpu:
        raise ConfigError("use_vllm needs a GPU; on CPU, GRPO generates with transformers (drop --use-vllm)")
    if requested and not installed:
        raise ConfigError("use_vllm needs the vllm package: pip install 'sftlab[vllm]'")
    return requested


def _build_trainer(config: GrpoConfig, run: Path, rows, reward_funcs, per_device: int, accum: int, gpu: bool,
                   use_vllm: bool, max_completion: int, progress: bool):
    import datasets
    from trl import GRPOConfig as TrlGRPOConfig
    from trl import GRPOTrainer

    from sftlab.models import load

    if not progress:
        datasets.disable_progress_bars()
    model, tokenizer = load(config.model, device="cpu", dtype="float32", for_training=True)
    vllm_kwargs = {}
    if use_vllm:
        vllm_kwargs = {"use_vllm": True, "vllm_mode": config.vllm_mode,
                       "vllm_gpu_memory_utilization": config.vllm_gpu_memory_utilization,
                       "vllm_tensor_parallel_size": config.vllm_tensor_parallel_size}
        if config.vllm_server_url:
            vllm_kwargs["vllm_server_base_url"] = config.vllm_server_url
    args = TrlGRPOConfig(
        output_dir=str(run / "checkpoints"),
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accum,  # steps_per_generation follows it: one generation batch per step
        num_generations=config.num_generations,
        num_iterations=1,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=config.weight_decay,
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        max_grad_norm=config.max_grad_norm,
        optim="adamw_torch",
        epsilon=config.epsilon,
        beta=config.beta,
        entropy_coef=config.entropy_coef,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        temperature=config.temperature,
        top_p=config.top_p,
        max_completion_length=max_completion,
        bf16=config.bf16,
        fp16=False,
        use_cpu=not gpu,
        gradient_checkpointing=config.gradient_checkpointing,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",  # sftlab.train.common.CheckpointSchedule decides when to save
        report_to=[] if config.report_to == "none" else [config.report_to],
        disable_tqdm=not progress,
        log_completions=False,
        **vllm_kwargs,
    )
    return GRPOTrainer(model=model, reward_funcs=reward_funcs, args=args,
                       train_dataset=datasets.Dataset.from_list(trl_rows(rows)), processing_class=tokenizer)


if __name__ == "__main__":  # `accelerate launch -m sftlab.train.grpo --model ... --data ... --out ...`
    import sys

    from sftlab.cli import main as _cli_main  # the entry point, not a library import: CLI parsing lives there

    sys.exit(_cli_main(["train", "grpo", *sys.argv[1:]]))
