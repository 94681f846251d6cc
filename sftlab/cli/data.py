"""`sftlab data`: build presets, list them, show rows, export to other trainers' formats."""

from __future__ import annotations

import inspect
import json
from fnmatch import fnmatchcase
from pathlib import Path

import typer

from sftlab.data import BuildConfig, build, load_rows
from sftlab.data.presets import PRESETS, get_preset, parse_options
from sftlab.errors import ConfigError, DataError
from sftlab.io import ensure_writable
from sftlab.settings import with_settings


def _expand(patterns: list[str]) -> list[str]:
    """Preset names from names, shell-style patterns (`sokoban-*`) or `all` (every preset that needs no teacher)."""
    names: list[str] = []
    for pattern in patterns:
        if pattern == "all":
            hits = [n for n, p in PRESETS.items() if p.demo != "teacher"]
        elif any(ch in pattern for ch in "*?["):
            hits = [n for n in PRESETS if fnmatchcase(n, pattern)]
            if not hits:
                raise ConfigError(f"no preset matches {pattern!r} (see `sftlab data list`)")
        else:
            get_preset(pattern)  # an unknown name, or a training preset of a task without training data: one line
            hits = [pattern]
        names += [n for n in hits if n not in names]
    return names


def _param(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Build, list, show and export datasets.", no_args_is_help=True)

    extra = [
        _param("presets", list[str], typer.Argument(..., help="Preset name(s); patterns like 'gp-*' or 'all' work.")),
        _param("out", str, typer.Option(None, "--out", help="Output folder (one preset) or parent folder (several). "
                                        "Default: data/<preset>.")),
        _param("force", bool, typer.Option(False, "--force", help="Overwrite an existing output folder.")),
        _param("option", list[str], typer.Option(None, "--option", "-o", help="Knob override KEY=VALUE, e.g. "
                                                 "dead_ends=4 (repeatable).")),
        _param("quiet", bool, typer.Option(False, "--quiet", help="No progress bars.")),
    ]

    # The build settings' flags are derived from BuildConfig's fields (sftlab.settings): a new field is a new flag.
    @data_app.command("build")
    @with_settings(BuildConfig, extra)
    def build_cmd(values: dict, presets: list[str], out: str | None, force: bool, option: list[str] | None,
                  quiet: bool) -> None:
        """Build dataset presets into folders (train.jsonl/.parquet or test.*, and manifest.json)."""
        from rich.console import Console
        from rich.table import Table

        names = _expand(presets)
        if option:
            values["options"] = parse_options(option)
        configs = [BuildConfig(name, **values) for name in names]
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
        from sftlab.data.schema import read_data_manifest

        if n < 0:
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
