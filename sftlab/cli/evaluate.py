"""`sftlab eval`: evaluate a model, a run's checkpoints, or a reference policy on an eval suite."""

from __future__ import annotations

import dataclasses
import inspect

import typer

from sftlab.errors import ConfigError
from sftlab.settings import with_settings
from sftlab.task_adapters.options import given_options, option_parameters


def register(app: typer.Typer) -> None:
    from sftlab.evaluate.config import EvalConfig

    quiet_option = inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                                     default=typer.Option(False, "--quiet", help="No progress bars."))
    fields = [f.name for f in dataclasses.fields(EvalConfig)]
    task_flags = option_parameters("eval", taken=fields)  # --prompt-protocol, --gp-arithmetic, --option K=V ...

    # Options are derived from EvalConfig's fields and the tasks' eval options (sftlab.settings): a new field or a
    # new task option is a new flag.
    @app.command("eval")
    @with_settings(EvalConfig, [quiet_option, *task_flags])
    def eval_command(values: dict, quiet: bool, **flags) -> None:
        """Evaluate every requested checkpoint (and the base model) on a suite; print the per-split table.

        What the store under --out already holds for the same checkpoint content, suite and settings is skipped;
        a killed evaluation resumes where it stopped.
        """
        from rich.console import Console

        from sftlab.analysis.tables import sweep_table
        from sftlab.evaluate import evaluate

        if "suite" not in values:
            raise ConfigError("missing --suite (see `sftlab data list` for the eval suites)")
        config = EvalConfig(**{"model": "", **values, "options": given_options("eval", flags)})
        results = evaluate(config, progress=not quiet)
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
        console.print(sweep_table(results, config.suite, title=f"{config.suite} (95% Wilson intervals)"))
        typer.echo(f"results: {config.out}/results.sqlite, samples and aggregates under {config.out}/")

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
