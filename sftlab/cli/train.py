"""`sftlab train METHOD` (sft, grpo, dpo, a plugin's; sftlab.train.methods): thin wrappers that build the
method's config and call its train function.

Flags and YAML keys map onto the same config fields, and the flags are derived from those fields' declarations
(sftlab.settings); a flag given on the command line wins over the YAML.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Optional

import typer

from sftlab.errors import ConfigError, DataError
from sftlab.settings import with_settings
from sftlab.task_adapters.options import given_options, option_parameters

# CLI-style spellings accepted in YAML besides the config field names
YAML_ALIASES = {"epochs": "num_epochs", "lr": "learning_rate"}


def read_yaml_config(path: Path | None) -> dict:
    """The mapping in a YAML config file (empty without one); a missing file or a non-mapping is a clear error."""
    if path is None:
        return {}
    if not path.is_file():
        raise DataError(f"no such config file: {path}")
    from sftlab.yamlfile import read_yaml  # PyYAML: loaded only when a config file is given

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
        raise ConfigError(f"missing {', '.join(missing)} (give it as a flag or a key in --config)")
    return values


def _extra() -> list[inspect.Parameter]:
    """The options of `train METHOD` that are not config fields."""
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


def _command(method, train_app: typer.Typer) -> None:
    """Add `sftlab train <method>`: its options are derived from the method's config fields (sftlab.settings), and
    for a method that takes task options (GRPO: the tasks' reward options) from their declarations, so a new field
    or a new task option is a new flag."""
    kind = method.config.task_options[0] if hasattr(method.config, "task_options") else None
    fields = [f.name for f in dataclasses.fields(method.config)]
    task_flags = option_parameters(kind, taken=fields) if kind else []

    @train_app.command(method.name, help=method.help)
    @with_settings(method.config, [*_extra(), *task_flags])
    def command(values: dict, config: Path | None, quiet: bool, **flags) -> None:
        force = values.pop("force", False)
        values.update(given_options(kind, flags) if kind else {})
        run = method.train(method.config.from_dict(merged_values(config, values, force)), progress=not quiet)
        _echo_once(run)


_TRAIN_APP = typer.Typer(help="Fine-tune a model with a registered method: sft (supervised), grpo (RL), dpo "
                              "(preferences), or a plugin's.", no_args_is_help=True)


def add_method_commands() -> None:
    """A `sftlab train` command for every registered method that has none yet (plugins loaded after startup)."""
    from sftlab.train.methods import all_methods

    have = {info.name for info in _TRAIN_APP.registered_commands}
    for method in all_methods():
        if method.name not in have:
            _command(method, _TRAIN_APP)


def load_method_modules(paths) -> None:
    """Register the methods of these plugin files (`--method-module`) and give each new one its command."""
    from sftlab.train.methods import load_method_module

    for path in paths:
        load_method_module(path)
    add_method_commands()


def method_modules_in(argv: list[str]) -> list[str]:
    """The `--method-module` files of a command line: loaded before it is parsed, so that `sftlab --method-module
    m.py train mine` finds the plugin's command (the train commands are built from the method registry)."""
    found = []
    for i, arg in enumerate(argv):
        if arg == "--method-module" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--method-module="):
            found.append(arg.split("=", 1)[1])
    return found


def register(app: typer.Typer) -> None:
    add_method_commands()
    app.add_typer(_TRAIN_APP, name="train")
