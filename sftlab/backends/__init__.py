"""Generation backends: one small interface for models (hf, vllm) and reference policies (oracle, random).

    from sftlab.backends import get_backend, SamplingParams
    backend = get_backend("hf", "tiny-random", batch_size=16)
    outs = backend.generate([[{"role": "user", "content": "Hi"}]], SamplingParams(max_new_tokens=32, n=2))
    outs[0][1].text, outs[0][1].num_tokens

They sit below `evaluate` because the data builder's teacher sampling uses them too. No heavy import happens until
a model backend is constructed.
"""

from __future__ import annotations

from sftlab.backends.base import (
    BACKENDS,
    Backend,
    Generation,
    Messages,
    SamplingParams,
    derive_seed,
    sample_seeds,
)
from sftlab.backends.hf import HFBackend
from sftlab.backends.policies import OraclePolicy, RandomPolicy
from sftlab.backends.vllm import VLLMBackend
from sftlab.errors import check_choice


def get_backend(kind: str, model=None, **kwargs) -> Backend:
    """A loaded backend of `kind` ("hf", "vllm", "oracle" or "random").

    `model` is a model name, folder or hub id for hf/vllm (ignored by the reference policies); keyword arguments
    go to the backend (hf: batch_size, device, dtype; vllm: tensor_parallel_size, gpu_memory_utilization, ...).
    """
    check_choice("backend", kind, BACKENDS)
    if kind == "hf":
        return HFBackend(model, **kwargs)  # torch/transformers are imported when the model is loaded
    if kind == "vllm":
        return VLLMBackend(model, **kwargs)
    return OraclePolicy(**kwargs) if kind == "oracle" else RandomPolicy(**kwargs)


__all__ = [
    "BACKENDS",
    "Backend",
    "Generation",
    "Messages",
    "SamplingParams",
    "derive_seed",
    "get_backend",
    "sample_seeds",
]
