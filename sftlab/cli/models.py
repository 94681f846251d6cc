"""`sftlab models`: list the known model names, build one into the cache, merge a LoRA adapter."""

from __future__ import annotations

from pathlib import Path

import typer

from sftlab.errors import check_choice


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="Model names, the local model cache, and LoRA merging.", no_args_is_help=True)

    @models_app.command("list")
    def list_models() -> None:
        """List the built-in model names, whether each is built, and where the cache is."""
        from sftlab.models import MODEL_NAMES, cache_dir
        from sftlab.models.resolve import COMPLETE, cached_model_dir

        for name, text in MODEL_NAMES.items():
            built = "built" if (cached_model_dir(name) / COMPLETE).is_file() else "not built"
            typer.echo(f"{name:<14} {built:<10} {text}")
        typer.echo(f"cache: {cache_dir()} (set SFTLAB_CACHE to move it); any other name is a local folder or hub id")

    @models_app.command("import")
    def import_model(name: str = typer.Argument(..., help="A built-in name: smollm2-135m or tiny-random.")) -> None:
        """Build a built-in model into the cache now (later runs load the cached folder)."""
        from sftlab.models import MODEL_NAMES, resolve

        check_choice("model", name, MODEL_NAMES)
        typer.echo(resolve(name))

    @models_app.command("merge")
    def merge(
        adapter: Path = typer.Argument(..., help="A LoRA checkpoint folder, e.g. RUN/checkpoints/checkpoint-40."),
        out: Path = typer.Option(..., "--out", help="Folder for the merged full model."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing --out."),
    ) -> None:
        """Merge a LoRA adapter into its base model and save a plain HF model folder."""
        from sftlab.models.merge import merge_adapter

        typer.echo(merge_adapter(adapter, out, force=force))

    app.add_typer(models_app, name="models")
