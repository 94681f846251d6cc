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
    get_backend,
    sample_seeds,
)

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
