"""Weight dynamics of LoRA runs: each checkpoint is a PEFT adapter, i.e. per adapted module W = W0 + s * B @ A.

The dense update s*B@A is never formed. With A (r x in), B (out x r) and r small:
- ||s B A||_F^2 = s^2 * sum((B^T B) * (A A^T))                        (two r x r products)
- <s1 B1 A1, s2 B2 A2> = s1 s2 * sum((B1^T B2) * (A1 A2^T))
- <W0, s B A> = s * sum((B^T W0) * A), with B^T W0 accumulated over row blocks of W0 streamed from the base file
so an 8B model's adapters are analysed in the memory of the adapters plus one block of the base.

Scale s = lora_alpha / r (alpha / sqrt(r) with `use_rslora`), with `alpha_pattern` honoured per module (PEFT's
rule: a pattern matches a module name equal to it or ending in ".<pattern>"). The rank is read from the tensors.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from sftlab.errors import DataError

ADAPTER_CONFIG = "adapter_config.json"
_PREFIX = "base_model.model."


def is_adapter(folder: str | Path) -> bool:
    """True for a PEFT adapter folder (adapter_config.json and no full-model config.json)."""
    folder = Path(folder)
    return (folder / ADAPTER_CONFIG).is_file() and not (folder / "config.json").is_file()


def _pattern_value(patterns: dict, module: str, default):
    for pattern, value in patterns.items():
        if module == pattern or re.match(rf".*\.{pattern}$", module):
            return value
    return default


class LoraAdapter:
    """The low-rank updates of one adapter folder: base tensor name -> (A, B, scale), float64."""

    def __init__(self, folder: str | Path):
        from safetensors.numpy import load_file

        self.folder = Path(folder)
        try:
            config = json.loads((self.folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.folder}: unreadable {ADAPTER_CONFIG} ({exc})") from None
        weights = self.folder / "adapter_model.safetensors"
        if not weights.is_file():
            raise DataError(f"{self.folder} has no adapter_model.safetensors (only safetensors adapters are read)")
        self.base_model = config.get("base_model_name_or_path")
        alpha, rslora = config.get("lora_alpha", 8), bool(config.get("use_rslora", False))
        alpha_pattern = config.get("alpha_pattern") or {}
        tensors = _load(weights, load_file)
        self.modules: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        for key in sorted(tensors):
            if not key.endswith(".lora_A.weight"):
                continue
            module = key[: -len(".lora_A.weight")]
            b_key = module + ".lora_B.weight"
            if b_key not in tensors:
                continue
            a, b = tensors[key], tensors[b_key]
            r = a.shape[0]
            name = module[len(_PREFIX):] if module.startswith(_PREFIX) else module
            module_alpha = _pattern_value(alpha_pattern, name, alpha)
            scale = module_alpha / math.sqrt(r) if rslora else module_alpha / r
            self.modules[name + ".weight"] = (a, b, scale)

    def delta_sq(self, key: str) -> float:
        """||s B A||_F^2 of one module."""
        a, b, s = self.modules[key]
        return s * s * float(np.sum((b.T @ b) * (a @ a.T)))

    def inner(self, other: LoraAdapter, key: str) -> float:
        """<delta_self, delta_other> of one module (0 when `other` does not adapt it)."""
        if key not in other.modules:
            return 0.0
        a1, b1, s1 = self.modules[key]
        a2, b2, s2 = other.modules[key]
        return s1 * s2 * float(np.sum((b1.T @ b2) * (a1 @ a2.T)))

    def inner_base(self, base, key: str, chunk_elems: int) -> float:
        """<W0, s B A> with W0 streamed from `base` (a weights.TensorSource) in row blocks."""
        a, b, s = self.modules[key]
        bt_w0 = np.zeros((b.shape[1], a.shape[1]))
        start = 0
        for block in base.chunks(key, chunk_elems):
            rows = block.shape[0]
            bt_w0 += b[start:start + rows].T @ block.reshape(rows, -1)
            start += rows
        return s * float(np.sum(bt_w0 * a))

    def shape(self, key: str) -> tuple[int, int]:
        """(out, in) of the adapted weight."""
        a, b, _ = self.modules[key]
        return (b.shape[0], a.shape[1])


def _load(path: Path, load_file) -> dict[str, np.ndarray]:
    try:
        return {k: v.astype(np.float64) for k, v in load_file(str(path)).items()}
    except (TypeError, ValueError):  # bf16 has no numpy dtype: go through torch
        import torch
        from safetensors.torch import load_file as load_torch

        return {k: v.to(torch.float64).numpy() for k, v in load_torch(str(path)).items()}


def shared_modules(adapter: LoraAdapter, base) -> list[str]:
    """Adapted modules that exist in the base with the adapter's (out, in) shape."""
    base_keys = set(base.keys())
    return [k for k in adapter.modules if k in base_keys and base.shape(k) == adapter.shape(k)]
