"""`sftlab eval`: evaluate a model, a run's checkpoints, or a reference policy on an eval suite."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        model: str = typer.Option("", "--model", help="Model name, folder, hub id, or a RUN folder (has run.json)."),
        suite: str = typer.Option(
            ..., "--suite", help="sokoban-eval, gp-eval, countdown-eval, crossdomain-eval or safety-eval."),
        checkpoints: str = typer.Option("all", help="For a RUN: all, last, or a list of steps like 0,40,80."),
        episodes: int = typer.Option(None, help="Episodes per Sokoban tag / rows per split (default 100 / 500)."),
        backend: str = typer.Option("hf", help="hf, vllm, oracle or random."),
        out: str = typer.Option("eval", "--out", help="The EVAL folder (results.sqlite, samples, aggregates)."),
        temperature: float = typer.Option(0.5, help="Sampling temperature (0 = greedy)."),
        top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass (1 = off)."),
        max_new_tokens: int = typer.Option(
            None, "--max-new-tokens", help="Default 4096 (Sokoban) / 8192 (GP, Countdown); 64 with hf on CPU."),
        seed: int = typer.Option(0, help="Sampling seed."),
        max_turns: int = typer.Option(30, "--max-turns", help="Sokoban turns per episode."),
        batch_size: int = typer.Option(32, "--batch-size", help="Prompts per forward pass (hf)."),
        multi_turn: bool = typer.Option(False, "--multi-turn", help="GP/Countdown: verifier feedback, 5 attempts."),
        run_name: str = typer.Option(None, "--run-name", help="Run name for a plain model (default: its name)."),
        device: str = typer.Option(None, help="hf device, e.g. cpu or cuda (default: cuda if available)."),
        splits: str = typer.Option(None, help="Only these tags/splits, comma-separated (default: all)."),
        safety_prompts: str = typer.Option(
            None, "--safety-prompts", help="safety-eval: a local CSV/JSONL set (HEx-PHI, AdvBench, XSTest)."),
        refusal_judge: str = typer.Option(
            None, "--refusal-judge", help="safety-eval: a model that judges refusals (default: patterns)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        """Evaluate every requested checkpoint (and the base model) on a suite; print the per-split table.

        What the store under --out already holds for the same checkpoint content, suite and settings is skipped;
        a killed evaluation resumes where it stopped.
        """
        from rich.console import Console

        from sftlab.analysis.tables import sweep_table
        from sftlab.evaluate import EvalConfig, evaluate

        config = EvalConfig(
            model=model, suite=suite, checkpoints=checkpoints, episodes=episodes, backend=backend, out=out,
            temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed, max_turns=max_turns,
            batch_size=batch_size, multi_turn=multi_turn, run_name=run_name, device=device,
            splits=tuple(x.strip() for x in splits.split(",") if x.strip()) if splits else None,
            safety_prompts=safety_prompts, refusal_judge=refusal_judge,
        )
        results = evaluate(config, progress=not quiet)
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
        console.print(sweep_table(results, suite, title=f"{suite} (95% Wilson intervals)"))
        typer.echo(f"results: {out}/results.sqlite, samples and aggregates under {out}/")

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
