"""The generation interface every backend implements: chat prompts + sampling params -> texts and token counts.

A backend is loaded once (a model, or a reference policy) and serves many `generate` calls. Randomness is
per prompt: prompt i is sampled with its own seed (`seeds[i]`, or `derive_seed(params.seed, i)`), so a prompt's
samples do not depend on which other prompts share its batch, or on the batch order.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sftlab.errors import ConfigError, check_positive

Messages = list[dict]  # one chat: [{"role": "user", "content": "..."}, ...]

BACKENDS = ("hf", "vllm", "oracle", "random")


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. The defaults are the Debunk paper's eval settings (spec 7), except max_new_tokens.

    temperature: 0 means greedy decoding; top_p: nucleus mass kept (1 = off); top_k: tokens kept (-1 = off);
    max_new_tokens: the cap on generated tokens per sample; n: samples per prompt; seed: the base seed from which
    each prompt's seed is derived when the caller gives no explicit per-prompt seeds.
    """

    temperature: float = 0.5
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int = 4096
    n: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.temperature, (int, float)) or not math.isfinite(self.temperature) \
                or self.temperature < 0:
            raise ConfigError(f"temperature must be a number >= 0 (0 = greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not _is_int(self.top_k) or (self.top_k != -1 and self.top_k < 1):
            raise ConfigError(f"top_k must be -1 (off) or a positive integer, got {self.top_k!r}")
        check_positive("max_new_tokens", self.max_new_tokens, integer=True)
        check_positive("n (samples per prompt)", self.n, integer=True)
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Generation:
    """One sampled response: its text (special tokens removed) and the number of tokens generated (EOS included)."""

    text: str
    num_tokens: int


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from integers and strings, stable across processes and machines (sha256, never `hash`)."""
    data = "\x1f".join(str(p) if isinstance(p, str) else str(int(p)) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big") >> 1


def sample_seeds(params: SamplingParams, num_prompts: int, seeds: Sequence[int] | None) -> list[list[int]]:
    """Per prompt, the seed of each of its `params.n` samples: `derive_seed(prompt_seed, j)`."""
    if seeds is None:
        seeds = [derive_seed(params.seed, i) for i in range(num_prompts)]
    elif len(seeds) != num_prompts:
        raise ValueError(f"got {len(seeds)} seeds for {num_prompts} prompts")
    return [[derive_seed(s, j) for j in range(params.n)] for s in seeds]


class Backend(ABC):
    """Something that answers chat prompts: a model (hf, vllm) or a reference policy (oracle, random).

    `generate(prompts, params, rows=None, seeds=None)` returns, per prompt, `params.n` Generations.
    - `rows[i]` (optional) is the task row of prompt i (docs/contracts.md row shape; for closed-loop Sokoban its
      `metadata["rows"]` is the *current* state). Models ignore it; reference policies need it.
    - `seeds[i]` (optional) is prompt i's seed; sample j uses `derive_seed(seeds[i], j)`. Without it prompt i
      uses `derive_seed(params.seed, i)`, so results then depend on the prompt's position in the call.
    """

    name: str = "backend"

    @abstractmethod
    def generate(
        self,
        prompts: Sequence[Messages],
        params: SamplingParams,
        rows: Sequence[dict] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """Per prompt, `params.n` samples."""

    def episodes(self) -> contextlib.AbstractContextManager:
        """A block whose `generate` calls are the successive turns of episodes (closed-loop play), so a backend may
        keep state from one call for the next (hf: the KV of prompts that come back unchanged). The results are the
        same with or without it. Here: nothing."""
        return contextlib.nullcontext()

    def close(self) -> None:
        """Release the model (GPU memory); the backend cannot be used afterwards. Policies hold nothing."""
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


_TURN_PROBE = "sftlab-end-of-turn-probe"


def end_of_turn_id(tokenizer) -> int | None:
    """The special token the tokenizer's chat template closes an assistant turn with (`<|im_end|>`, `<|eot_id|>`,
    `<end_of_turn>`), or None when there is no template or it closes turns with plain text.

    A base model's EOS can be another token (Qwen2.5 base: `<|endoftext|>`), and a model trained on chat-template
    completions ends its answers with this one: generation stops on both (docs/evaluation.md).
    """
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _TURN_PROBE}]
    try:
        text = tokenizer.apply_chat_template(turns, tokenize=False)
    except Exception:  # noqa: BLE001 (no template, or one that rejects this chat: no end-of-turn token to add)
        return None
    if not isinstance(text, str) or _TURN_PROBE not in text:
        return None
    tail = tokenizer(text.split(_TURN_PROBE, 1)[1], add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) | {
        i for i, token in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(token, "special", False)}
    return next((int(t) for t in tail if t in special), None)
