"""Merge a LoRA adapter folder into its base model and save a plain HF model folder."""

from __future__ import annotations

import os
from pathlib import Path

from sftlab.errors import ModelError
from sftlab.io import staged_dir
from sftlab.models.resolve import is_adapter_dir, load


def merge_adapter(adapter_dir: str | os.PathLike, out: str | os.PathLike, force: bool = False) -> Path:
    """Load `adapter_dir` on its base model, merge the LoRA weights, and save model + tokenizer into `out`.

    `out` is written through a staged folder (complete or absent); an existing `out` needs `force`.
    """
    adapter_dir = Path(adapter_dir)
    if not is_adapter_dir(adapter_dir):
        raise ModelError(f"{adapter_dir} is not a LoRA adapter folder (no adapter_config.json)")
    model, tokenizer = load(str(adapter_dir), device="cpu", dtype="float32", for_training=False)
    with staged_dir(out, force=force, inputs=[adapter_dir]) as tmp:
        model.save_pretrained(tmp)
        tokenizer.padding_side = "right"
        tokenizer.save_pretrained(tmp)
    return Path(out)
