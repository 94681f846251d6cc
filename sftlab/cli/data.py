"""`sftlab data`: build presets, list them, show rows, export to other trainers' formats."""

from __future__ import annotations

import typer


def _expand(patterns: list[str]) -> list[str]:
    """Preset names from names, shell-style patterns (`sokoban-*`) or `all` (every preset that needs no teacher)."""
    from fnmatch import fnmatchcase

    from sftlab.data.presets import PRESETS
    from sftlab.errors import check_choice

    names: list[str] = []
    for pattern in patterns:
        if pattern == "all":
            hits = [n for n, p in PRESETS.items() if p.demo != "teacher"]
        elif any(ch in pattern for ch in "*?["):
            hits = [n for n in PRESETS if fnmatchcase(n, pattern)]
            if not hits:
                from sftlab.errors import ConfigError

                raise ConfigError(f"no preset matches {pattern!r} (see `sftlab data list`)")
        else:
            check_choice("preset", pattern, PRESETS)
            hits = [pattern]
        names += [n for n in hits if n not in names]
    return names


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Build, list, show and export datasets.", no_args_is_help=True)

    @data_app.command("build")
    def build_cmd(
        presets: list[str] = typer.Argument(..., help="Preset name(s); patterns like 'gp-*' or 'all' work."),
        out: str = typer.Option(None, "--out", help="Output folder (one preset) or parent folder (several). "
                                "Default: data/<preset>."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random choice (eval suites: base seed, "
                                 "0 = the paper's)."),
        n: int = typer.Option(None, "--n", help="Puzzles / hands / queries (eval suites: per tag or split)."),
        teacher: str = typer.Option(None, "--teacher", help="Rejection-sample the CoT from this model."),
        paper_seeds: bool = typer.Option(False, "--paper-seeds", help="Use the original's training seeds "
                                         "(42..), which replay eval items; needs --allow-overlap."),
        allow_overlap: bool = typer.Option(False, "--allow-overlap", help="Build even if eval items appear in "
                                           "the training rows."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing output folder."),
        option: list[str] = typer.Option(None, "--option", "-o", help="Knob override KEY=VALUE, e.g. "
                                         "dead_ends=4 (repeatable)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        """Build dataset presets into folders (train.jsonl/.parquet or test.*, and manifest.json)."""
        from pathlib import Path

        from rich.console import Console
        from rich.table import Table

        from sftlab.data import BuildConfig, build
        from sftlab.data.presets import parse_options
        from sftlab.io import ensure_writable

        names = _expand(presets)
        options = parse_options(option or [])
        configs = [BuildConfig(name, seed=seed, n=n, teacher=teacher, paper_seeds=paper_seeds,
                               allow_overlap=allow_overlap, options=options) for name in names]
        if len(names) == 1:
            outs = [Path(out) if out else Path("data") / names[0]]
        else:
            outs = [(Path(out) if out else Path("data")) / name for name in names]
        for path in outs:  # refuse before building anything
            ensure_writable(path, force)
        console = Console(stderr=True)
        if not console.is_terminal:
            console.width = 160
        table = Table(title="sftlab data build")
        for column in ("preset", "rows", "seconds", "verified", "eval overlap", "output"):
            table.add_column(column, justify="right" if column in ("rows", "seconds") else "left")
        total = 0.0
        for config, path in zip(configs, outs, strict=True):
            result = build(config, path, force=force, progress=not quiet)
            total += result.seconds
            ver = result.manifest["verification"]
            verified = f"{ver['correct']}/{ver['checked']}" if ver["checked"] else "-"
            leak = result.manifest.get("leakage")
            overlap = "-" if leak is None else f"{leak['overlap']}/{leak['eval_items']}"
            table.add_row(config.preset, str(result.rows), f"{result.seconds:.1f}", verified, overlap, str(path))
        if len(configs) > 1:
            table.add_row("total", "", f"{total:.1f}", "", "", "")
        console.print(table)

    @data_app.command("list")
    def list_cmd() -> None:
        """List the presets: task, kind, default size and what each one is."""
        from rich.console import Console
        from rich.table import Table

        from sftlab.data.presets import PRESETS

        table = Table(title="dataset presets")
        for column in ("preset", "task", "kind", "n", "description"):
            table.add_column(column)
        for p in PRESETS.values():
            table.add_row(p.name, p.task, p.kind, str(p.default_n), p.description)
        Console(width=200).print(table)

    @data_app.command("show")
    def show_cmd(
        path: str = typer.Argument(..., help="A built data folder."),
        n: int = typer.Option(3, "--n", help="Rows to show."),
        split: str = typer.Option(None, "--split", help="train or test (default: whichever the folder has)."),
    ) -> None:
        """Print a folder's manifest summary and its first rows (prompt, completion, answer)."""
        import json
        from pathlib import Path

        from sftlab.data import load_rows
        from sftlab.data.schema import read_data_manifest
        from sftlab.errors import DataError

        if n < 0:
            from sftlab.errors import ConfigError

            raise ConfigError(f"--n must be 0 or more (rows to show), got {n}")
        folder = Path(path)
        if not folder.is_dir():
            raise DataError(f"no data folder {path}; build one with `sftlab data build PRESET --out {path}`")
        manifest = read_data_manifest(folder)
        if split is None:
            split = "train" if "train.jsonl" in manifest["files"] else "test"
        rows = load_rows(folder, split)
        cfg = manifest.get("config", {})
        typer.echo(f"{folder}: preset {cfg.get('preset')}, {len(rows)} {split} rows, seed {cfg.get('seed')}")
        for key in ("counts", "verification", "leakage", "teacher"):
            if key in manifest:
                typer.echo(f"{key}: {json.dumps(manifest[key], sort_keys=True)}")
        for row in rows[:n]:
            typer.echo(f"\n=== {row['id']} (split {row['split']}, variant {row['variant']}, seed {row['seed']})")
            typer.echo("--- prompt (user) ---\n" + row["prompt"][-1]["content"])
            if "completion" in row:
                typer.echo("--- completion (assistant) ---\n" + row["completion"][-1]["content"])
            typer.echo("--- answer ---\n" + json.dumps(row["answer"], ensure_ascii=False))

    @data_app.command("export")
    def export_cmd(
        fmt: str = typer.Argument(..., help="verl or trl"),
        src: str = typer.Argument(..., help="A built data folder."),
        out: str = typer.Option(..., "--out", help="Destination folder."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing destination."),
    ) -> None:
        """Export a built folder to verl parquet (data_source, prompt, ability, reward_model, extra_info) or TRL."""
        from sftlab.data.export import export

        path = export(fmt, src, out, force=force)
        typer.echo(f"wrote {fmt} files to {path}")

    app.add_typer(data_app, name="data")
