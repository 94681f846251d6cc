"""The transformers backend: batched generation with left padding, on CPU or GPU, with per-prompt seeds.

Sampling is done by our own logits processor rather than by `generate(do_sample=True)`: each row draws its token
from its own `torch.Generator` (inverse-CDF with one uniform per step), and greedy decoding then takes that
token. A row's samples therefore depend only on its seed, not on its neighbours in the batch or on the batch
size (up to floating-point differences of batched matrix products, which flip a token only in near-ties).
"""

from __future__ import annotations

from collections.abc import Sequence

from sftlab.backends.base import Backend, Generation, Messages, SamplingParams, sample_seeds
from sftlab.errors import ConfigError, ModelError


def render_chat(tokenizer, messages: Messages) -> str:
    """The prompt text for a chat via the tokenizer's chat template, ending with the assistant turn's opening."""
    if not isinstance(messages, (list, tuple)) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in messages
    ):
        raise ConfigError("a prompt must be a non-empty list of {'role': str, 'content': str} messages")
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


class HFBackend(Backend):
    """A transformers causal LM loaded once (via `sftlab.models.load`), serving batched `generate` calls.

    batch_size: prompts (times n) per forward batch; prompts are sorted by length first to limit padding.
    device/dtype: as in `sftlab.models.load` (default cuda if available, bf16 on capable GPUs, else CPU fp32).
    """

    name = "hf"

    def __init__(self, model, *, batch_size: int = 32, device=None, dtype=None, progress: bool = False):
        if model is None:
            raise ConfigError("the hf backend needs a model name, folder or hub id")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        from sftlab.models import load

        self.model_name = str(model)
        self.batch_size = batch_size
        self.progress = progress
        self.model, self.tokenizer = load(model, device=device, dtype=dtype, for_training=False)
        self.tokenizer.padding_side = "left"
        self.device = next(self.model.parameters()).device
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.max_positions = getattr(self.model.config, "max_position_embeddings", None)

    def generate(
        self,
        prompts: Sequence[Messages],
        params: SamplingParams,
        rows: Sequence[dict] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """Per prompt, `params.n` samples; see `Backend.generate`. Long prompts get fewer new tokens so that
        prompt + generation fits the model's context (max_position_embeddings)."""
        per_prompt = sample_seeds(params, len(prompts), seeds)
        texts = [render_chat(self.tokenizer, p) for p in prompts]
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        jobs = [(i, j, s) for i, ss in enumerate(per_prompt) for j, s in enumerate(ss)]
        # Longest first: similar lengths share a batch, and an out-of-memory error shows up at once.
        jobs.sort(key=lambda job: (-len(encoded[job[0]]), job[0], job[1]))
        out: list[list[Generation | None]] = [[None] * params.n for _ in prompts]
        batches = [jobs[k:k + self.batch_size] for k in range(0, len(jobs), self.batch_size)]
        iterator = batches
        if self.progress and len(batches) > 1:
            from tqdm.auto import tqdm

            iterator = tqdm(batches, desc="generate", unit="batch", leave=False)
        for batch in iterator:
            gens = self._generate_batch([encoded[i] for i, _, _ in batch], [s for _, _, s in batch], params)
            for (i, j, _), g in zip(batch, gens, strict=True):
                out[i][j] = g
        return out  # type: ignore[return-value]

    def _generate_batch(self, ids: list[list[int]], seeds: list[int], params: SamplingParams) -> list[Generation]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device)
        attention = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device)
        max_new = params.max_new_tokens
        if self.max_positions:
            max_new = min(max_new, self.max_positions - width)
            if max_new < 1:
                raise ModelError(f"a prompt of {width} tokens leaves no room in {self.model_name}'s context of "
                                 f"{self.max_positions} tokens")
        config = GenerationConfig(
            do_sample=False, max_new_tokens=max_new, eos_token_id=self.eos_ids, pad_token_id=pad,
            num_beams=1, temperature=None, top_p=None, top_k=None,
        )
        processors = LogitsProcessorList()
        if not params.greedy:
            processors.append(SeededSampler(seeds, params, self.device))
        with torch.inference_mode():
            sequences = self.model.generate(
                input_ids=input_ids, attention_mask=attention, generation_config=config,
                logits_processor=processors,
            )
        new = sequences[:, width:].tolist()
        eos = set(self.eos_ids)
        results = []
        for tokens in new:
            count = next((k + 1 for k, t in enumerate(tokens) if t in eos), len(tokens))
            text = self.tokenizer.decode(tokens[:count], skip_special_tokens=True)
            results.append(Generation(text=text, num_tokens=count))
        return results

    def close(self) -> None:
        self.model = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass


def _eos_ids(model, tokenizer) -> list[int]:
    ids = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    for value in (configured if isinstance(configured, (list, tuple)) else [configured]) + [tokenizer.eos_token_id]:
        if value is not None and value not in ids:
            ids.append(int(value))
    if not ids:
        raise ModelError("the model and tokenizer define no end-of-sequence token")
    return ids


class SeededSampler:
    """A logits processor that samples one token per row from the row's own generator and masks all others.

    Temperature, top-k and top-p are applied as in vLLM/transformers; with greedy decoding after it, `generate`
    emits exactly the sampled token. Each row consumes one uniform per step, finished rows included, so its
    sequence depends only on its seed.
    """

    def __init__(self, seeds: Sequence[int], params: SamplingParams, device):
        import torch

        self.params = params
        self.generators = [torch.Generator().manual_seed(int(s) % (2**63)) for s in seeds]
        self.device = device

    def __call__(self, input_ids, scores):
        import torch

        logits = scores.float() / self.params.temperature
        if self.params.top_k > 0 and self.params.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.params.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        if self.params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
            before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # mass strictly above each token
            sorted_probs = sorted_probs.masked_fill(before >= self.params.top_p, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
        cdf = torch.cumsum(probs, dim=-1)
        u = torch.cat([torch.rand(1, generator=g) for g in self.generators]).to(cdf.device)
        u = (u * cdf[:, -1]).unsqueeze(-1)
        chosen = torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.shape[-1] - 1)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, chosen, 0.0)
