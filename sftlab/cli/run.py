"""`sftlab run SPEC` (a whole study from a YAML spec, resumably) and `sftlab quickstart`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        spec: Path = typer.Argument(..., help="The experiment spec (YAML), e.g. experiments/paper-sokoban.yaml."),
        out: Path = typer.Option(None, "--out", help="Experiment folder (default: out/<spec name>)."),
        only: list[str] = typer.Option(
            [], "--only", help="Run a slice: KEY=VALUE (condition, model, seed, suite, method, kind, step); "
                               "repeatable, VALUE may be a comma list."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, what is done and what would run."),
        executor: str = typer.Option("local", "--executor", help="local (one step at a time) or ray."),
        ray_address: str = typer.Option(None, "--ray-address", help="Join this Ray cluster (ray executor)."),
        keep_going: bool = typer.Option(False, "--keep-going", help="After a failed step, still run the others."),
    ) -> None:
        """Run an experiment spec: data -> train -> eval per cell, baselines, report; finished steps are skipped."""
        from sftlab.experiment import run_experiment

        run_experiment(spec, out, only=only, executor=executor, ray_address=ray_address, keep_going=keep_going,
                       dry_run=dry_run)

    @app.command("quickstart")
    def quickstart(
        out: Path = typer.Option(Path("quickstart"), "--out", help="Experiment folder (rerunning resumes)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and what would run."),
    ) -> None:
        """Fixed vs diverse Sokoban prompts: fine-tune SmolLM2-135M on each (CPU), evaluate, print the table."""
        from sftlab.experiment.quickstart import run_quickstart

        run_quickstart(out, dry_run=dry_run)
