"""`sftlab tasks`: list the registered tasks (built-in and plugins) and show one instance as the model sees it."""

from __future__ import annotations

import typer

from sftlab.errors import check_seed


def register(app: typer.Typer) -> None:
    tasks_app = typer.Typer(help="List task worlds and show instances.", no_args_is_help=False)

    @tasks_app.callback(invoke_without_command=True)
    def list_tasks(ctx: typer.Context) -> None:
        """List the tasks, their variants, presets and eval suites."""
        if ctx.invoked_subcommand is not None:
            return
        from sftlab.task_adapters import all_tasks, capabilities_of

        for task in all_tasks():
            aliases = f" (alias: {', '.join(task.aliases[:1])})" if task.aliases else ""
            typer.echo(f"{task.name}{aliases}: {task.description}")
            for variant, text in task.variants().items():
                typer.echo(f"    {variant:<28} {text}")
            names = [p.name for p in task.presets()]
            if names:
                typer.echo(f"    presets: {', '.join(names)}")
            typer.echo(f"    capabilities: {', '.join(('core', *capabilities_of(task)))}")

    @tasks_app.command("show")
    def show(
        task: str = typer.Argument(..., help="A task name from `sftlab tasks` (e.g. sokoban, gp, countdown)."),
        seed: int = typer.Option(0, help="Instance seed (non-negative)."),
        variant: str = typer.Option(None, "--variant", "--split", help="Variant (Sokoban) or split (GP)."),
    ) -> None:
        """Print one instance as the model sees it, and its solution."""
        from sftlab.task_adapters import get_task

        check_seed("--seed", seed)
        typer.echo(get_task(task).show(seed=seed, variant=variant))

    app.add_typer(tasks_app, name="tasks")
