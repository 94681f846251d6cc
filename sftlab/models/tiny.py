"""Build `tiny-random`: a 2-layer random Llama-style model with SmolLM2's real tokenizer and chat template.

It exists for tests and smoke runs: a few MB, created in seconds, identical on every machine (fixed torch seed in
a forked RNG, so the caller's global torch RNG is untouched).
"""

from __future__ import annotations

from pathlib import Path

from sftlab.models.resolve import COMPLETE, cached_model_dir
from sftlab.models.smollm2 import load_tokenizer

SEED = 0
HIDDEN = 64


def build(dest: Path) -> None:
    """Write the tiny random model and SmolLM2's tokenizer into `dest`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _smollm2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=HIDDEN // 4,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = LlamaForCausalLM(config)
    model.config._name_or_path = "tiny-random"
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def _smollm2_tokenizer():
    """From the cached smollm2-135m folder when it is already built (fast), else straight from the GGUF file."""
    from transformers import AutoTokenizer

    cached = cached_model_dir("smollm2-135m")
    if (cached / COMPLETE).is_file():
        return AutoTokenizer.from_pretrained(str(cached), local_files_only=True)
    return load_tokenizer()
