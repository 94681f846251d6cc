"""A KV cache for the hf backend whose keys and values are preallocated for the whole generation.

transformers' `DynamicCache` appends each decode step's keys and values with `torch.cat`, which copies the whole
cache of every layer at every step: for SmolLM2-135M at batch 32 and ~600 positions that is about 1 GB of copying
per generated token on CPU, as much time as the model's matrix products. `PreallocatedLayer` writes each step into
a buffer allocated ahead (doubled when full, up to prompt + new tokens, so a generation that stops early does not
hold the memory of `max_new_tokens`) and hands attention a view of the filled part: the same values with
the same shape as the dynamic cache, so the attention and every logit are bit-for-bit the same (tested), only the
copying is gone. (transformers' `StaticCache` also avoids the copy, but attends over its full length at every step
and changes the attention's shapes, and with them the floating-point results.)

Imported only when the hf backend generates (torch and transformers are heavy imports).
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """A `DynamicLayer` that keeps its keys and values in buffers of `capacity` positions, doubled when full but
    not beyond `limit` positions (if given) unless more are written.

    `keys` / `values` are always views of the filled positions, so everything that reads a dynamic layer (lengths,
    masks, cropping, batch selection) works unchanged; an operation that replaces them with new tensors makes the
    next update copy them into fresh buffers.
    """

    def __init__(self, capacity: int, limit: int | None = None):
        super().__init__()
        self.capacity = capacity
        self.limit = limit
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        """Write the new positions after the filled ones; return views of all filled positions."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        filled = self.get_seq_length()
        needed = filled + key_states.shape[-2]
        if not self._holds_views(key_states, needed):
            self._reallocate(key_states, value_states, filled, needed)
        self._key_buffer[:, :, filled:needed] = key_states
        self._value_buffer[:, :, filled:needed] = value_states
        self.keys = self._key_buffer[:, :, :needed]
        self.values = self._value_buffer[:, :, :needed]
        return self.keys, self.values

    def _holds_views(self, key_states: torch.Tensor, needed: int) -> bool:
        """Whether `keys`/`values` are still views at the start of buffers that fit `needed` positions."""
        buffer = self._key_buffer
        return (buffer is not None and needed <= buffer.shape[-2] and self.keys.numel() > 0
                and self.keys.data_ptr() == buffer.data_ptr() and self.values.data_ptr() == self._value_buffer.data_ptr()
                and buffer.shape[0] == key_states.shape[0])

    def _reallocate(self, key_states: torch.Tensor, value_states: torch.Tensor, filled: int, needed: int) -> None:
        batch, heads, _, key_dim = key_states.shape
        length = max(self.capacity, 2 * filled)
        length = max(needed, min(length, self.limit) if self.limit else length)
        self._key_buffer = key_states.new_empty((batch, heads, length, key_dim))
        self._value_buffer = value_states.new_empty((batch, heads, length, value_states.shape[-1]))
        if filled:
            self._key_buffer[:, :, :filled] = self.keys
            self._value_buffer[:, :, :filled] = self.values

    def reset(self) -> None:
        self._key_buffer = self._value_buffer = None
        super().reset()


def preallocated_cache(config, capacity: int, limit: int | None = None) -> DynamicCache:
    """A `DynamicCache` for `config` (plain full-attention layers only) whose layers are `PreallocatedLayer`s of
    `capacity` positions growing to at most `limit`: pass it to `generate` as the model's cache."""
    cache = DynamicCache(config=config)
    cache.layers = [PreallocatedLayer(capacity, limit) for _ in cache.layers]
    return cache
