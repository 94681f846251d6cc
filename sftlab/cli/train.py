"""`sftlab train sft` and `sftlab train grpo`: thin wrappers that build a config and call the trainer.

Flags and YAML keys map onto the same config fields, and the flags are derived from those fields' declarations
(sftlab.settings); a flag given on the command line wins over the YAML.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Optional

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


def _extra() -> list[inspect.Parameter]:
    """The options of `train sft|grpo` that are not config fields."""
    kw = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter("config", kw, annotation=Optional[Path],  # noqa: UP045 - typer reads typing.Optional
                          default=typer.Option(None, "--config", help="YAML file of config keys; flags override it.")),
        inspect.Parameter("quiet", kw, annotation=bool,
                          default=typer.Option(False, "--quiet", help="No progress bars.")),
    ]


def _echo_once(run) -> None:
    """Print the run folder from the main process only (every process of an `accelerate launch` returns it)."""
    from sftlab.train.common import is_main_process

    if is_main_process():
        typer.echo(str(run))


def register(app: typer.Typer) -> None:
    from sftlab.settings import with_settings
    from sftlab.train.grpo import GrpoConfig
    from sftlab.train.sft import SftConfig

    train_app = typer.Typer(help="Fine-tune a model: sft (supervised), grpo (RL).", no_args_is_help=True)

    # Options are derived from the config fields (sftlab.settings): a new field is a new flag.
    @train_app.command("sft")
    @with_settings(SftConfig, _extra())
    def sft(values: dict, config: Path | None, quiet: bool) -> None:
        """Supervised fine-tuning (TRL SFTTrainer) with a paper's recipe (--recipe); prints the run folder."""
        from sftlab.train.sft import train_sft

        force = values.pop("force", False)
        run = train_sft(SftConfig.from_dict(merged_values(config, values, force)), progress=not quiet)
        _echo_once(run)

    @train_app.command("grpo")
    @with_settings(GrpoConfig, _extra())
    def grpo(values: dict, config: Path | None, quiet: bool) -> None:
        """GRPO with the Debunk paper's RL settings (TRL GRPOTrainer, task rewards); prints the run folder."""
        from sftlab.train.grpo import train_grpo

        force = values.pop("force", False)
        run = train_grpo(GrpoConfig.from_dict(merged_values(config, values, force)), progress=not quiet)
        _echo_once(run)

    app.add_typer(train_app, name="train")
