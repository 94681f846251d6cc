"""`sftlab tasks`: list the task worlds and show one instance as the model sees it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    tasks_app = typer.Typer(help="List task worlds and show instances.", no_args_is_help=False)

    @tasks_app.callback(invoke_without_command=True)
    def list_tasks(ctx: typer.Context) -> None:
        """List the tasks and their variants."""
        if ctx.invoked_subcommand is not None:
            return
        from sftlab.tasks import TASKS, get_task

        for name, description in TASKS.items():
            typer.echo(f"{name}: {description}")
            try:
                variants = get_task(name).VARIANTS
            except (ImportError, AttributeError):
                typer.echo("    (not built yet)")
                continue
            for variant, text in variants.items():
                typer.echo(f"    {variant:<28} {text}")

    @tasks_app.command("show")
    def show(
        task: str = typer.Argument(..., help="sokoban, general_points or countdown"),
        seed: int = typer.Option(0, help="Instance seed (non-negative)."),
        variant: str = typer.Option(None, "--variant", "--split", help="Variant (Sokoban) or split (GP)."),
    ) -> None:
        """Print one instance as the model sees it, and its solution."""
        from sftlab.errors import check_seed
        from sftlab.tasks import get_task

        check_seed("--seed", seed)
        typer.echo(get_task(task).show(seed=seed, variant=variant))

    app.add_typer(tasks_app, name="tasks")
