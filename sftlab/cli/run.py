"""`sftlab run` and `sftlab quickstart` (placeholder until the experiments stage lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("quickstart")
    def quickstart() -> None:
        """(Not built yet) Build fixed and diverse Sokoban sets, fine-tune SmolLM2-135M on each, evaluate, report."""
        typer.echo(
            "sftlab quickstart will: build small fixed- and diverse-prompt Sokoban answer-only sets, fine-tune "
            "smollm2-135m on each on the CPU, evaluate base/fixed/diverse/oracle/random on SimpleSokoban, "
            "Alphabetical, Numerical, Random and FakeNumerical, print the table and write an HTML report.\n"
            "It is not implemented yet.",
            err=True,
        )
        raise typer.Exit(1)
