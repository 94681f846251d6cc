"""`sftlab report DIR` (one self-contained HTML report + report.md) and `sftlab analyze table|weights`."""

from __future__ import annotations

from pathlib import Path

import typer

from sftlab.errors import ConfigError, DataError, check_choice
from sftlab.io import atomic_write_bytes, atomic_write_text, check_output_path

TABLE_FORMATS = ("markdown", "csv", "latex", "html")


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        directory: Path = typer.Argument(..., help="A run, eval or experiment folder (searched recursively)."),
        out: Path = typer.Option(None, "--out", "-o", help="HTML file to write [default: DIR/report.html]."),
        step: int = typer.Option(None, help="Show this training step in the tables instead of the last one."),
        weights: bool = typer.Option(True, "--weights/--no-weights", help="Run the weight analyses."),
        samples: int = typer.Option(3, help="Sample transcripts per split (failures first)."),
    ) -> None:
        """Write one self-contained HTML report (tables, curves, weights, transcripts, configs) and report.md."""
        from sftlab.analysis.report import build_report

        if samples < 0:
            raise ConfigError(f"--samples must be 0 or more, got {samples}")
        path = build_report(directory, out, step=step, weights=weights, samples_per_split=samples)
        typer.echo(f"wrote {path} and {path.with_suffix('.md')}")

    analyze = typer.Typer(help="Single analyses: results tables and weight dynamics.", no_args_is_help=True)

    @analyze.command("table")
    def table(
        directory: Path = typer.Argument(..., help="A folder holding results.sqlite (searched recursively)."),
        suite: str = typer.Option(None, help="Suite (needed when the results hold several)."),
        metric: str = typer.Option(None, help="Metric [default: the suite's headline, e.g. success or acc]."),
        step: int = typer.Option(None, help="Training step to show [default: each run's last checkpoint]."),
        fmt: str = typer.Option("markdown", "--format", "-f", help="markdown, csv, latex or html."),
        out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of printing."),
        where: list[str] = typer.Option(None, "--where", help="Only evaluations with this setting, KEY=VALUE "
                                        "(repeatable), e.g. --where episodes=200 [default: each cell's latest]."),
    ) -> None:
        """Print the paper-style table of one suite and metric."""
        from sftlab.analysis import sources, tables

        check_choice("format", fmt, TABLE_FORMATS)
        chosen = {}
        for item in where or ():
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--where {item!r}: expected KEY=VALUE, e.g. --where episodes=200")
            chosen[key.strip()] = value.strip()
        if out is not None:
            check_output_path(out)
        stores = sources.find_stores(directory)
        if not stores:
            raise ConfigError(f"no results store (results.sqlite) below {directory}")
        groups = []
        for path in stores:
            rows, notices = sources.read_store(path)
            for notice in notices:
                typer.echo(f"note: {notice}", err=True)
            groups.append(rows)
        result = tables.results_table(sources.merge_results(groups), suite=suite, metric=metric, step=step,
                                      where=chosen)
        render = {"markdown": tables.to_markdown, "csv": tables.to_csv, "latex": tables.to_latex,
                  "html": tables.to_html}[fmt]
        text = render(result)
        if out is not None:
            atomic_write_text(out, text)
            typer.echo(f"wrote {out}")
        else:
            typer.echo(text, nl=False)

    @analyze.command("weights")
    def weights_cmd(
        run: Path = typer.Argument(..., help="A run folder (run.json + checkpoints/checkpoint-N)."),
        base: Path = typer.Option(None, help="Base model folder [default: run.json's base_model, if local]."),
        out: Path = typer.Option(None, "--out", "-o", help="Output folder [default: RUN/analysis]."),
    ) -> None:
        """L2 distance of each checkpoint to the base (CSV) and the relative-change heatmap (PNG)."""
        from sftlab.analysis import sources, weights
        from sftlab.analysis.style import figure_png

        if not (run / "run.json").is_file():
            raise DataError(f"{run} is not a run folder (no run.json)")
        info = sources.read_run(run / "run.json")
        if not info.checkpoints:
            raise DataError(f"{run} has no complete checkpoints (checkpoints/checkpoint-N with COMPLETE)")
        out = out or run / "analysis"
        if base is None:
            base, why = weights.local_base_folder(info.base_model)
            if base is None:
                typer.echo(f"note: {why}; only consecutive-checkpoint changes are computed", err=True)
        if base is not None:
            rows = weights.l2_to_base(info.checkpoints, base, out_csv=out / "l2_to_base.csv", progress=True)
            typer.echo("phase,l2,rel_l2,num_params,num_elems")
            for r in rows:
                typer.echo(f"{r.phase},{r.l2:.6g},{r.rel_l2:.6g},{r.num_params},{r.num_elems}")
            typer.echo(f"wrote {out / 'l2_to_base.csv'}")
        from sftlab.analysis.lora import is_adapter

        if base is None and any(is_adapter(c.path) for c in info.checkpoints):
            typer.echo("note: LoRA checkpoints need the base weights (--base) for the relative change", err=True)
        elif len(info.checkpoints) + (base is not None) >= 2:
            change = weights.relative_change(info.checkpoints, base=base, progress=True)
            fig = weights.relative_change_heatmap(change, f"{info.name}: relative change per layer/module")
            atomic_write_bytes(out / "relative_change.png", figure_png(fig))
            typer.echo(f"wrote {out / 'relative_change.png'}")

    app.add_typer(analyze, name="analyze")
