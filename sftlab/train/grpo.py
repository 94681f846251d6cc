"""GRPO on TRL's GRPOTrainer with the Debunk paper's RL recipe as defaults, on the same run folders as SFT.

Defaults (spec/debunk.md section 6, the original's verl scripts): 8 generations per prompt at temperature 1.0 and
top_p 1.0; 256 prompts per optimizer step (one update per batch, one PPO epoch); clip epsilon 0.2; no KL (beta 0),
no entropy bonus; AdamW lr 1e-6 constant, weight decay 0.01 on every parameter, gradient clipping 1.0, a step whose
gradient norm is not finite skipped (verl's optimizer rules); token-mean loss (TRL's `loss_type="dapo"`: token
losses averaged over every completion token of the global batch; verl's dynamic micro-batches weigh them slightly
differently, docs/training.md); advantages normalised by the group's reward std (verl's GRPO default); no vLLM
importance-sampling correction (verl has none); the original's Sokoban reward; max completion 1024 tokens for
Sokoban, 4096 for General Points and Countdown.

`train_grpo(GrpoConfig(...))` writes a run folder exactly like `train_sft` (docs/contracts.md: run.json with kind
"grpo", checkpoints/checkpoint-N with COMPLETE, logs/log_history.jsonl), resumes the same way, and returns it.
Rewards come from `sftlab.train.rewards` (the same scorers verl uses through `sftlab.integrations.verl`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from sftlab.data import load_rows
from sftlab.errors import ConfigError, DataError, check_choice, check_positive
from sftlab.io import read_manifest
from sftlab.models import load
from sftlab.settings import setting
from sftlab.task_adapters import Rewards, get_task, require, reward_task_names
from sftlab.task_adapters.options import check_keys, check_values, declared, takes_task_options
from sftlab.train.config import TrainConfig, check_device, trainer_args
from sftlab.train.recipes import OPTIMIZER_RULES
from sftlab.train.rewards import CheckedReward, TaskReward

# TRL 1.16's names. dapo = token-mean over the global batch (TRL's default, and the closest to the paper's verl,
# which token-means each dynamic micro-batch: docs/training.md "Loss types"); grpo = mean over each sequence's tokens,
# then over sequences (the original GRPO paper); dr_grpo = sum over tokens divided by a constant
# (max_completion_length); bnpo = token-mean over the local micro-batch.
LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")
PAPER_BATCH_PROMPTS = 256
# CPU fallbacks for unset sizes: a tiny-model step takes about a minute on 2 cores with these (docs/performance.md).
CPU_BATCH_PROMPTS = 2
CPU_MAX_COMPLETION = 64


@takes_task_options("reward", "reward_options")
@dataclass(frozen=True)
class GrpoConfig(TrainConfig):
    """One GRPO run: the shared training fields (sftlab.train.config; `global_batch` counts completions, a multiple
    of num_generations), GRPO's own, and the tasks' reward options (`reward_options`, each also taken by its own
    name: `GrpoConfig(..., sokoban_reward="strict")`)."""

    LABEL = "GRPO"
    DEFAULTS = {"num_epochs": 1.0, "learning_rate": 1e-6, "lr_scheduler": "constant", "warmup_ratio": 0.0,
                "weight_decay": 0.01, "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
                "schedule": "log"}
    NOT_TRAINING = (*TrainConfig.NOT_TRAINING, "use_vllm", "vllm_mode", "vllm_server_url",
                    "vllm_gpu_memory_utilization", "vllm_tensor_parallel_size")
    BEFORE_THE_FIELD = {"gp_arithmetic": "exact", "sokoban_reward": "strict",
                        "vllm_importance_sampling_correction": True, "optimizer_rules": "transformers",
                        "prompt_prefill": False}

    num_generations: int = setting(8, "Completions sampled per prompt (the group).")
    # None: the paper's 256 on a GPU, CPU_BATCH_PROMPTS on CPU (the paper's batch takes hours per step there); the
    # resolved value is recorded.
    batch_prompts: int | None = setting(None, "Prompts per optimizer step (256 on a GPU, 2 on CPU).")
    epsilon: float = setting(0.2, "PPO clip range.")
    beta: float = setting(0.0, "KL coefficient (0: no reference model is loaded).")
    entropy_coef: float = setting(0.0, "Entropy bonus coefficient.")
    loss_type: str = setting("dapo", "dapo (token-mean), grpo, dr_grpo or bnpo.")
    scale_rewards: str = setting("group", "Advantage scaling: group, batch or none.")
    temperature: float = setting(1.0, "Sampling temperature.")
    top_p: float = setting(1.0, "Nucleus sampling mass.")
    max_completion_length: int | None = setting(
        None, "New tokens per completion (by task: Sokoban 1024, GP/Countdown 4096; 64 on CPU).")
    reward_options: dict = setting(
        help="The tasks' reward options given (e.g. sokoban_reward: strict).", factory=dict, cli=False, spec=False,
        why="each task declares its reward options (Rewards.reward_options): their flags, --option KEY=VALUE and "
            "spec keys are derived from that declaration (sftlab.task_adapters.options)")
    prompt_prefill: bool = setting(
        True, "End each RL prompt with what the original's prompt had already written of the answer (Sokoban: "
        "`<think>`, which the reward counts); off: the model writes it itself.")
    optimizer_rules: str = setting(
        "verl", "verl (the originals: weight decay on every parameter, warmup steps rounded down, a step with a "
        "non-finite gradient norm skipped) or transformers (no decay on biases and norms, warmup rounded up).",
        choices=OPTIMIZER_RULES)
    save_every: int | None = setting(None, "Checkpoint every N steps (overrides schedule; paper: 500 / 100).")
    use_vllm: bool | None = setting(None, "vLLM generation (default when a GPU and vllm are present).",
                                    flag="--use-vllm/--no-vllm")
    vllm_mode: str = setting("colocate", "colocate (inside the training process) or server (trl vllm-serve).")
    vllm_server_url: str | None = setting(None, "Server mode URL, e.g. http://localhost:8000.")
    vllm_gpu_memory_utilization: float = setting(0.3, "Share of GPU memory vLLM may take (colocate).")
    vllm_tensor_parallel_size: int = setting(1, "vLLM tensor parallel size.")
    vllm_importance_sampling_correction: bool = setting(
        False, "TRL's correction of vLLM's sampling log-probs (sequence mask, cap 3; off: verl and the paper have "
        "none).", flag="--vllm-is-correction/--no-vllm-is-correction")

    def __post_init__(self):
        super().__post_init__()
        check_positive("num_generations", self.num_generations, integer=True)
        if self.num_generations < 2:
            raise ConfigError(f"num_generations must be at least 2 (GRPO compares completions within a group), "
                              f"got {self.num_generations}")
        if self.global_batch is not None:
            if self.global_batch % self.num_generations:
                raise ConfigError(
                    f"num_generations {self.num_generations} does not divide the global batch of "
                    f"{self.global_batch} completions; use a multiple of {self.num_generations} (or batch_prompts)"
                )
            object.__setattr__(self, "batch_prompts", None)
        for name in ("batch_prompts", "max_completion_length", "save_every"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name), integer=True)
        check_positive("vllm_tensor_parallel_size", self.vllm_tensor_parallel_size, integer=True)
        check_positive("temperature", self.temperature)
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 < self.epsilon < 1:
            raise ConfigError(f"epsilon (the clip range) must be in (0, 1), got {self.epsilon}")
        if self.beta < 0 or self.entropy_coef < 0:
            raise ConfigError("beta and entropy_coef must be >= 0")
        if not 0 < self.vllm_gpu_memory_utilization <= 1:
            raise ConfigError(f"vllm_gpu_memory_utilization must be in (0, 1], got {self.vllm_gpu_memory_utilization}")
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        if not isinstance(self.reward_options, dict):
            raise ConfigError(f"reward_options must be a mapping of option: value, got {self.reward_options!r}")
        check_values("reward", self.reward_options)  # each key declared by a task, each value valid there
        check_choice("optimizer_rules", self.optimizer_rules, OPTIMIZER_RULES)
        check_choice("scale_rewards", self.scale_rewards, SCALE_REWARDS)
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
            by_task = max(require(get_task(t), Rewards).grpo_max_completion for t in tasks)
            values["max_completion_length"] = by_task if gpu else min(by_task, CPU_MAX_COMPLETION)
        return dataclasses.replace(self, **values) if values else self

    def training_fields(self) -> dict:
        """The shared rule (TrainConfig.training_fields), with every task's reward option recorded by its own name
        (given or its default), as runs recorded them when GrpoConfig declared them, so those runs resume."""
        fields = super().training_fields()
        del fields["reward_options"]
        for name in declared("reward"):
            value = getattr(self, name)
            if self.BEFORE_THE_FIELD.get(name, ...) != value:
                fields[name] = value
        return fields

    def checkpoint_schedule(self, total_steps: int):
        """Every `save_every` steps when set, else `schedule`."""
        if self.save_every is not None:
            return tuple(range(self.save_every, total_steps + 1, self.save_every)) or (total_steps,)
        return self.schedule


def task_reward(config: GrpoConfig):
    """The reward a run trains on unless `reward_funcs` replaces it: each row's task reward (a TaskReward), with
    this config's reward options (each row's task takes the ones it declares)."""
    return TaskReward(options=config.reward_options)


# ---------------------------------------------------------------------------------------------------------------
# Data


def load_rl_rows(data: str) -> tuple[list[dict], dict | None]:
    """RL rows of a data folder or preset (prompt messages, answer, metadata, no completion) and its manifest.

    A demonstration (SFT) set, rows without an answer, or a task without a reward is a DataError.
    """
    folder = Path(data)
    rows = load_rows(data, split="train")
    manifest = read_manifest(folder) if folder.is_dir() else None
    if not rows:
        raise DataError(f"{data} has no training rows")
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
        if row.get("task") not in reward_task_names():
            raise DataError(f"{data}: row {number}: no reward for task {row.get('task')!r} "
                            f"(GRPO supports {', '.join(reward_task_names())})")
    return rows, manifest


def trl_rows(rows: list[dict], tokenizer=None) -> list[dict]:
    """Rows for TRL: the prompt plus the columns the reward reads; nested values as JSON text, so Arrow never
    reshapes them (the rewards decode them back).

    The prompt is the chat messages, or, given a `tokenizer` (prompt_prefill), for a task with an RL prefill the
    text its chat template renders with the assistant turn opened, followed by the prefill (`...assistant\n<think>`,
    the original's prompt): TRL renders message prompts with a fresh assistant turn, so a prefill must be text.
    """
    def prompt(row):
        prefill = require(get_task(row["task"]), Rewards).rl_prefill if tokenizer is not None else ""
        if not prefill:
            return row["prompt"]
        from sftlab.backends.hf import render_chat

        return render_chat(tokenizer, row["prompt"]) + prefill

    return [
        {"prompt": prompt(row), "id": str(row.get("id", i)), "task": row["task"],
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

    n_procs = common.world_size()
    gpu = check_device(config)
    use_vllm = _resolve_vllm(config.use_vllm, gpu)
    rows, manifest = load_rl_rows(config.data)
    tasks = sorted({row["task"] for row in rows})
    check_keys(config.reward_options, "reward", [get_task(t) for t in tasks])  # another task's option: refused
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

    def build(run: Path):
        return _build_trainer(config, run, rows, reward_funcs, per_device, accum, gpu, use_vllm, max_completion,
                              progress)

    def describe(trainer, steps: dict) -> dict:
        return {"rows": len(rows), "task": ",".join(tasks), **steps,
                "prompts_per_step": config.completions_per_step // config.num_generations,
                "completions_per_step": config.completions_per_step, "per_device_batch": per_device,
                "grad_accum": accum, "world_size": n_procs, "max_completion_length": max_completion,
                "use_vllm": use_vllm}

    notes = ()
    if cpu_sized:
        notes = (f"note: no GPU, so unset sizes use the CPU defaults ({CPU_BATCH_PROMPTS} prompts/step, at most "
                 f"{CPU_MAX_COMPLETION} new tokens) instead of the paper's {PAPER_BATCH_PROMPTS} and "
                 "1024/4096; set --batch-prompts / --max-completion-length to choose",)
    return common.train_run(config, kind="grpo", manifest=manifest, build=build, describe=describe,
                            summary=lambda plan: _summary(config, plan), progress=progress, notes=notes)


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
        **trainer_args(config, run, per_device, accum, gpu, progress),
        # gradient_accumulation_steps: steps_per_generation follows it, one generation batch per optimizer step
        num_generations=config.num_generations,
        num_iterations=1,
        epsilon=config.epsilon,
        beta=config.beta,
        entropy_coef=config.entropy_coef,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        temperature=config.temperature,
        top_p=config.top_p,
        max_completion_length=max_completion,
        gradient_checkpointing=config.gradient_checkpointing,
        log_completions=False,
        vllm_importance_sampling_correction=config.vllm_importance_sampling_correction,
        **vllm_kwargs,
    )
    from sftlab.train.optim import VerlOptimizerRules

    class SftlabGRPOTrainer(VerlOptimizerRules, GRPOTrainer):
        """TRL's GRPOTrainer with the run's optimizer rules (sftlab.train.optim)."""

        optimizer_rules = config.optimizer_rules

    dataset = datasets.Dataset.from_list(trl_rows(rows, tokenizer if config.prompt_prefill else None))
    return SftlabGRPOTrainer(model=model, reward_funcs=reward_funcs, args=args, train_dataset=dataset,
                             processing_class=tokenizer)


if __name__ == "__main__":  # `accelerate launch -m sftlab.train.grpo --model ... --data ... --out ...`
    import sys

    from sftlab.cli import main as _cli_main  # the entry point, not a library import: CLI parsing lives there

    sys.exit(_cli_main(["train", "grpo", *sys.argv[1:]]))
