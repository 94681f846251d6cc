"""The `sftlab` command: one sub-command per pipeline stage.

The CLI is a package with one small module per verb group (tasks, data, models, train, eval, report, run), so
each stage's flags live next to each other and stay thin: parse, call a library function, print. Heavy ML
imports happen inside the commands, so `sftlab --help` and `sftlab data build` start fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sftlab import __version__
from sftlab.errors import SftlabError, environment_error

app = typer.Typer(
    name="sftlab",
    help="Controlled experiments on when SFT generalizes, and how it compares with RL (GRPO).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The modules under sftlab.cli; each one's register(app) adds its Typer sub-app or commands to `app`.
_COMMAND_MODULES = ["tasks", "data", "models", "train", "evaluate", "report", "run"]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sftlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    task_module: list[str] = typer.Option(
        None, "--task-module", help="A Python file defining your own task (repeatable); see docs/adding-a-task.md."
    ),
    method_module: list[str] = typer.Option(
        None, "--method-module", help="A Python file defining your own training method (repeatable); see "
                                      "docs/training.md."
    ),
) -> None:
    """Controlled experiments on when SFT generalizes, and how it compares with RL (GRPO)."""
    if task_module:
        from sftlab.task_adapters import load_task_module

        for path in task_module:
            load_task_module(path)
    _train_verb().load_method_modules(method_module or ())


def _train_verb():
    """sftlab.cli.train, which loads method plugins and gives each its command (loaded by name, as `_register`
    loads every verb module: this package imports no stage itself)."""
    return importlib.import_module("sftlab.cli.train")


def _register() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f"sftlab.cli.{name}").register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors print one `error: ...` line and return 2.

    In a distributed launch, an error that rank 0 decided for every rank (a refused run folder) is printed by
    rank 0 alone; the other ranks return the same code silently.
    """
    try:
        train = _train_verb()
        train.load_method_modules(train.method_modules_in(list(sys.argv[1:] if argv is None else argv)))
        result = app(args=argv, standalone_mode=False, prog_name="sftlab")
    except SftlabError as exc:
        if not getattr(exc, "reported_by_rank0", False):  # another rank's copy of rank 0's error: said there
            typer.echo(f"error: {exc}", err=True)
        return 2
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        exc.show()
        return getattr(exc, "exit_code", 2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # only file-system refusals (disk full, read-only, ...) become one line; bugs raise
        mapped = environment_error(exc)
        if mapped is None:
            raise
        if not getattr(exc, "reported_by_rank0", False):
            typer.echo(f"error: {mapped}", err=True)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
