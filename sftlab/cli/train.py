"""`sftlab train sft` and `sftlab train grpo`: thin wrappers that build a config and call the trainer.

Flags and YAML keys map onto the same config fields; a flag given on the command line wins over the YAML.
"""

from __future__ import annotations

from pathlib import Path

import typer

# CLI-style spellings accepted in YAML besides the SftConfig field names
YAML_ALIASES = {"epochs": "num_epochs", "lr": "learning_rate"}


def read_yaml_config(path: Path | None) -> dict:
    """The mapping in a YAML config file (empty without one); a missing file or a non-mapping is a clear error."""
    if path is None:
        return {}
    from sftlab.errors import ConfigError, DataError
    from sftlab.yamlfile import read_yaml

    if not path.is_file():
        raise DataError(f"no such config file: {path}")
    values = read_yaml(path) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, not {type(values).__name__}")
    return {YAML_ALIASES.get(str(k).replace("-", "_"), str(k).replace("-", "_")): v for k, v in values.items()}


def merged_values(config: Path | None, flags: dict, force: bool) -> dict:
    """The YAML config's keys overridden by the flags that were given; missing model/data/out is a clear error."""
    values = read_yaml_config(config)
    values.update({k: v for k, v in flags.items() if v is not None})
    if force:
        values["force"] = True
    missing = [f"--{k}" for k in ("model", "data", "out") if not values.get(k)]
    if missing:
        from sftlab.errors import ConfigError

        raise ConfigError(f"missing {', '.join(missing)} (give it as a flag or a key in --config)")
    return values


def _echo_once(run) -> None:
    """Print the run folder from the main process only (every process of an `accelerate launch` returns it)."""
    from sftlab.train.common import is_main_process

    if is_main_process():
        typer.echo(str(run))


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Fine-tune a model: sft (supervised), grpo (RL).", no_args_is_help=True)

    @train_app.command("sft")
    def sft(
        model: str = typer.Option(None, "--model", help="smollm2-135m, tiny-random, a local folder or a hub id."),
        data: str = typer.Option(None, "--data", help="A built data folder (sftlab data build) or a preset."),
        out: str = typer.Option(None, "--out", help="The run folder (re-running resumes it)."),
        config: Path = typer.Option(None, "--config", help="YAML file of SftConfig keys; flags override it."),
        recipe: str = typer.Option(
            None, "--recipe", help="default, debunk or rethinking: the paper's settings for every flag left unset."
        ),
        loss_normalization: str = typer.Option(
            None, "--loss-normalization",
            help="batch_token_mean (TRL, the default), sequence_mean_sum (debunk), microbatch_mean_sum (rethinking).",
        ),
        shuffle: bool = typer.Option(None, "--shuffle/--no-shuffle", help="Shuffle rows each epoch (default yes; rethinking no)."),
        completion_end: str = typer.Option(
            None, "--completion-end", help="chat_template (the default) or eos (raw EOS token, rethinking)."
        ),
        max_steps: int = typer.Option(None, "--max-steps", help="Stop after N optimizer steps (overrides epochs)."),
        epochs: float = typer.Option(None, "--epochs", help="Epochs [5]."),
        schedule: str = typer.Option(None, "--schedule", help="Checkpoints: epoch [default], log, or 10,20,40."),
        lr: float = typer.Option(None, "--lr", help="Peak learning rate [1e-5]."),
        lr_scheduler: str = typer.Option(None, "--lr-scheduler", help="cosine [default], linear, constant, ..."),
        global_batch: int = typer.Option(None, "--global-batch", help="Sequences per optimizer step [128]."),
        per_device_batch: int = typer.Option(None, "--per-device-batch", help="Micro-batch per device [auto]."),
        max_length: int = typer.Option(None, "--max-length", help="Max tokens of prompt + completion [2048]."),
        packing: bool = typer.Option(None, "--packing/--no-packing", help="Pack rows into max-length blocks."),
        padding_free: bool = typer.Option(None, "--padding-free/--no-padding-free", help="No padding tokens."),
        lora: bool = typer.Option(None, "--lora/--no-lora", help="Train a LoRA adapter instead of all weights."),
        lora_r: int = typer.Option(None, "--lora-r", help="LoRA rank [32]; needs --lora."),
        lora_alpha: int = typer.Option(None, "--lora-alpha", help="LoRA alpha [16]; needs --lora."),
        lora_target_modules: str = typer.Option(
            None, "--lora-target-modules", help="all-linear [default] or q_proj,v_proj,...; needs --lora."
        ),
        lora_dropout: float = typer.Option(None, "--lora-dropout", help="LoRA dropout [0]; needs --lora."),
        bf16: bool = typer.Option(None, "--bf16/--no-bf16", help="bf16 autocast (GPU only)."),
        gradient_checkpointing: bool = typer.Option(
            None, "--gradient-checkpointing/--no-gradient-checkpointing", help="Trade compute for memory."
        ),
        attn_implementation: str = typer.Option(
            None, "--attn-implementation", help="sdpa [default], eager, flash_attention_2 (GPU)."
        ),
        seed: int = typer.Option(None, "--seed", help="Seed of data order and initialisation [1]."),
        report_to: str = typer.Option(None, "--report-to", help="none [default], tensorboard, wandb, trackio."),
        force: bool = typer.Option(False, "--force", help="Delete an existing run folder and start over."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        """Supervised fine-tuning (TRL SFTTrainer) with a paper's recipe (--recipe); prints the run folder."""
        from sftlab.train.sft import SftConfig, train_sft

        if isinstance(lora_target_modules, str) and "," in lora_target_modules:
            lora_target_modules = [m.strip() for m in lora_target_modules.split(",") if m.strip()]
        flags = {
            "model": model, "data": data, "out": out, "recipe": recipe, "loss_normalization": loss_normalization,
            "shuffle": shuffle, "completion_end": completion_end, "max_steps": max_steps, "num_epochs": epochs,
            "schedule": schedule, "learning_rate": lr, "lr_scheduler": lr_scheduler, "global_batch": global_batch,
            "per_device_batch": per_device_batch, "max_length": max_length, "packing": packing,
            "padding_free": padding_free, "lora": lora, "lora_r": lora_r, "lora_alpha": lora_alpha,
            "lora_target_modules": lora_target_modules, "lora_dropout": lora_dropout, "bf16": bf16,
            "gradient_checkpointing": gradient_checkpointing, "attn_implementation": attn_implementation,
            "seed": seed, "report_to": report_to,
        }
        values = merged_values(config, flags, force)
        run = train_sft(SftConfig.from_dict(values), progress=not quiet)
        _echo_once(run)

    @train_app.command("grpo")
    def grpo(
        model: str = typer.Option(None, "--model", help="smollm2-135m, tiny-random, a folder (an SFT checkpoint)."),
        data: str = typer.Option(None, "--data", help="An RL data folder or preset: sokoban-rl, gp-rl, ..."),
        out: str = typer.Option(None, "--out", help="The run folder (re-running resumes it)."),
        config: Path = typer.Option(None, "--config", help="YAML file of GrpoConfig keys; flags override it."),
        max_steps: int = typer.Option(None, "--max-steps", help="Stop after N optimizer steps (overrides epochs)."),
        epochs: float = typer.Option(None, "--epochs", help="Passes over the prompts [1]."),
        num_generations: int = typer.Option(None, "--num-generations", help="Completions per prompt [8]."),
        batch_prompts: int = typer.Option(None, "--batch-prompts", help="Prompts per optimizer step [256]."),
        global_batch: int = typer.Option(None, "--global-batch", help="Or: completions per step (x generations)."),
        per_device_batch: int = typer.Option(None, "--per-device-batch", help="Completions per micro-batch [auto]."),
        max_completion_length: int = typer.Option(
            None, "--max-completion-length", help="New tokens per completion [Sokoban 1024, GP/Countdown 4096]."
        ),
        lr: float = typer.Option(None, "--lr", help="Learning rate, constant [1e-6]."),
        loss_type: str = typer.Option(None, "--loss-type", help="dapo (token-mean) [default], grpo, dr_grpo, bnpo."),
        beta: float = typer.Option(None, "--beta", help="KL coefficient [0: no reference model]."),
        temperature: float = typer.Option(None, "--temperature", help="Sampling temperature [1.0]."),
        schedule: str = typer.Option(None, "--schedule", help="Checkpoints: log [default], epoch, or 10,20,40."),
        save_every: int = typer.Option(None, "--save-every", help="Checkpoint every N steps (overrides schedule)."),
        gp_rescale: bool = typer.Option(None, "--gp-rescale/--no-gp-rescale", help="GP reward in [0, 1]."),
        use_vllm: bool = typer.Option(None, "--use-vllm/--no-vllm", help="vLLM generation [auto: GPU + vllm]."),
        vllm_mode: str = typer.Option(None, "--vllm-mode", help="colocate [default] or server (trl vllm-serve)."),
        vllm_server_url: str = typer.Option(None, "--vllm-server-url", help="Server mode URL, http://host:8000."),
        bf16: bool = typer.Option(None, "--bf16/--no-bf16", help="bf16 autocast (GPU only)."),
        gradient_checkpointing: bool = typer.Option(
            None, "--gradient-checkpointing/--no-gradient-checkpointing", help="Trade compute for memory."
        ),
        seed: int = typer.Option(None, "--seed", help="Seed of data order and sampling [1]."),
        report_to: str = typer.Option(None, "--report-to", help="none [default], tensorboard, wandb, trackio."),
        force: bool = typer.Option(False, "--force", help="Delete an existing run folder and start over."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        """GRPO with the Debunk paper's RL settings (TRL GRPOTrainer, task rewards); prints the run folder."""
        from sftlab.train.grpo import GrpoConfig, train_grpo

        flags = {
            "model": model, "data": data, "out": out, "max_steps": max_steps, "num_epochs": epochs,
            "num_generations": num_generations, "batch_prompts": batch_prompts, "global_batch": global_batch,
            "per_device_batch": per_device_batch, "max_completion_length": max_completion_length,
            "learning_rate": lr, "loss_type": loss_type, "beta": beta, "temperature": temperature,
            "schedule": schedule, "save_every": save_every, "gp_rescale": gp_rescale, "use_vllm": use_vllm,
            "vllm_mode": vllm_mode, "vllm_server_url": vllm_server_url, "bf16": bf16,
            "gradient_checkpointing": gradient_checkpointing, "seed": seed, "report_to": report_to,
        }
        values = merged_values(config, flags, force)
        run = train_grpo(GrpoConfig.from_dict(values), progress=not quiet)
        _echo_once(run)

    app.add_typer(train_app, name="train")
