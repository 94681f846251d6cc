"""`sftlab eval`: evaluate a model, a run's checkpoints, or a reference policy on an eval suite."""

from __future__ import annotations

import inspect

import typer

from sftlab.errors import ConfigError
from sftlab.settings import settings_of, with_settings


def register(app: typer.Typer) -> None:
    from sftlab.evaluate.config import EvalConfig

    quiet_option = inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                                     default=typer.Option(False, "--quiet", help="No progress bars."))

    # Options are derived from EvalConfig's fields (sftlab.settings): a new field is a new flag.
    @app.command("eval")
    @with_settings(EvalConfig, [quiet_option])
    def eval_command(values: dict, quiet: bool) -> None:
        """Evaluate every requested checkpoint (and the base model) on a suite; print the per-split table.

        What the store under --out already holds for the same checkpoint content, suite and settings is skipped;
        a killed evaluation resumes where it stopped.
        """
        from rich.console import Console

        from sftlab.analysis.tables import sweep_table
        from sftlab.evaluate import evaluate

        if "suite" not in values:
            raise ConfigError("missing --suite (see `sftlab data list` for the eval suites)")
        check_task_options(values)
        config = EvalConfig(**{"model": "", **values})
        results = evaluate(config, progress=not quiet)
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
        console.print(sweep_table(results, config.suite, title=f"{config.suite} (95% Wilson intervals)"))
        typer.echo(f"results: {config.out}/results.sqlite, samples and aggregates under {config.out}/")

    def check_task_options(values: dict) -> None:
        """A task's own option (e.g. --gp-arithmetic) given for another task's suite is a one-line error."""
        from sftlab.task_adapters import all_tasks, task_of_suite

        mine = task_of_suite(values["suite"]).eval_options
        declared = {s.name: s for s in settings_of(EvalConfig)}
        flags = {name: s.flag.split("/")[0] for name, s in declared.items()}
        for task in all_tasks():
            for name in task.eval_options:
                if name in values and name not in mine and values[name] != declared[name].default:
                    suites = ", ".join(s.name for s in task.suites())
                    raise ConfigError(f"{flags[name]} applies to {suites} only, not {values['suite']}")

    @app.command("eval-harness")
    def eval_harness_command(
        model: str = typer.Argument(..., help="Model name, folder, hub id, or a RUN folder (base + checkpoints)."),
        tasks: str = typer.Option(..., "--tasks", help="lm-eval task names, comma-separated (e.g. ifeval)."),
        out: str = typer.Option("eval", "--out", help="The EVAL folder whose results.sqlite gets the numbers."),
        checkpoints: str = typer.Option("all", help="For a RUN: all, last, or a list of steps like 0,40,80."),
        limit: int = typer.Option(None, help="At most this many items per task (quick looks only)."),
        batch_size: int = typer.Option(8, "--batch-size", help="lm-eval batch size."),
        device: str = typer.Option(None, help="e.g. cuda:0 or cpu (default: lm-eval's choice)."),
        include_path: str = typer.Option(
            None, "--include-path", help="A folder of your own task YAMLs (e.g. over local data files)."),
    ) -> None:
        """Run lm-evaluation-harness tasks (MATH500, GPQA, IFEval ... when you have their data) on every
        checkpoint; results join sftlab's store as suite `lm-eval`. Needs: pip install 'sftlab[lm-eval]'."""
        from sftlab.integrations.lm_eval import run_harness

        names = [t.strip() for t in tasks.split(",") if t.strip()]
        stored = run_harness(model, names, out, checkpoints=checkpoints, limit=limit, batch_size=batch_size,
                             device=device, include_path=include_path)
        typer.echo(f"stored {stored} lm-eval numbers in {out}/results.sqlite")
