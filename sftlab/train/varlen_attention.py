"""Padding-free attention without the dense mask: PyTorch SDPA run sequence by sequence.

A padding-free (or packed) batch is one row that holds several sequences. transformers' `sdpa` attention gives it a
dense block-diagonal mask over the whole row, so SDPA computes every pair of positions of the row, (sum of lengths)^2,
of which only sum(length^2) are allowed: for 4 Sokoban rows of ~360 tokens that is 4x the attention FLOPs of the
padded batch, and on CPU padding-free training ran slower than padded (docs/performance.md). Here each sequence of
the row (TRL's collator gives their bounds as `cu_seq_lens_q`) is attended on its own with a causal SDPA, the same
arithmetic as flash-attention's variable-length kernel; any other batch goes to transformers' own sdpa unchanged.

This module imports torch and transformers at the top: import it only inside the functions that train.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "sftlab_varlen_sdpa"


def varlen_sdpa_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None,
                        cu_seq_lens_q=None, cu_seq_lens_k=None, **kwargs):
    """transformers' attention-function signature; `(output (batch, length, heads, dim), None)` like sdpa's."""
    same_bounds = cu_seq_lens_k is None or cu_seq_lens_k is cu_seq_lens_q or torch.equal(cu_seq_lens_k, cu_seq_lens_q)
    if cu_seq_lens_q is None or query.shape[0] != 1 or not same_bounds:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    bounds = cu_seq_lens_q.tolist()
    parts = [
        sdpa_attention_forward(module, query[:, :, start:end], key[:, :, start:end], value[:, :, start:end], None,
                               dropout=dropout, scaling=scaling, is_causal=True, **kwargs)[0]
        for start, end in zip(bounds, bounds[1:], strict=False) if end > start
    ]
    return torch.cat(parts, dim=1), None


def use_varlen_sdpa(model) -> None:
    """Switch `model` (a transformers model using sdpa) to `varlen_sdpa_forward`; padded batches keep sdpa's masks."""
    AttentionInterface.register(NAME, varlen_sdpa_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    model.set_attn_implementation(NAME)
