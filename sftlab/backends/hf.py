"""The transformers backend: batched generation with left padding, on CPU or GPU, with per-prompt seeds.

Sampling is done by our own logits processor rather than by `generate(do_sample=True)`: each row draws its token
from its own `torch.Generator` (inverse-CDF with one uniform per step), and greedy decoding then takes that
token. A row's samples therefore depend only on its seed, not on its neighbours in the batch or on the batch
size (up to floating-point differences of batched matrix products, which flip a token only in near-ties).

Prefix reuse: prompts of one evaluation share long token prefixes (the chat template, the task instructions of a
tag). When that saves enough work, a batch computes the KV cache of each shared prefix once (on token ids) and
prefills only the suffixes; see `plan_prefixes` and `HFBackend._prefix_inputs`. The generated text is the same as
without it (tested; up to the same floating-point near-ties as above). Turn it off with `reuse_prefix=False` or,
for any command, the environment variable `SFTLAB_PREFIX_REUSE=0`.

Preallocated KV cache: each batch's keys and values live in buffers sized once for prompt + new tokens
(`sftlab.backends.kv`), so a decode step no longer copies the whole cache; the logits are bit-for-bit those of
transformers' dynamic cache (tested). `preallocate=False` gives the dynamic cache back.

Episode cache (cross-turn): inside `with backend.episodes():` (closed-loop play), the KV of every prompt of a
`generate` call is kept until the next call, and a prompt that comes back unchanged (a turn that did not move the
episode) takes it whole instead of being prefilled again. Its text is the same as without it, for greedy and seeded
sampling alike: the cache holds only the prompt's keys and values, which do not depend on the turn's seed (tested;
floating-point near-ties as above). Off with `episode_cache=False` or `SFTLAB_EPISODE_CACHE=0`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from sftlab.backends.base import Backend, Generation, Messages, SamplingParams, end_of_turn_id, sample_seeds
from sftlab.errors import ConfigError, ModelError

PREALLOCATED_TOKENS = 512  # new tokens the KV buffers have room for at first (then doubled as needed)
EPISODE_CACHE_BYTES = 2 * 1024**3  # the most memory the episode cache keeps between two calls (prompts beyond it are
# prefilled as usual); SmolLM2-135M in fp32 needs about 46 KB per prompt token, ~25 MB per Sokoban prompt


def _env_switch(name: str) -> bool:
    """False when the environment variable `name` says 0/false/no/off, else True."""
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")


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
    reuse_prefix: compute the KV cache of prompt prefixes shared within a batch once (see the module doc); default
    on unless the environment sets SFTLAB_PREFIX_REUSE=0.
    preallocate: keep each batch's KV cache in buffers allocated once instead of growing it every step (module doc).
    episode_cache: within `episodes()`, reuse the KV of a prompt that the previous call had too (module doc);
    default on unless the environment sets SFTLAB_EPISODE_CACHE=0.
    """

    name = "hf"

    def __init__(self, model, *, batch_size: int = 32, device=None, dtype=None, progress: bool = False,
                 reuse_prefix: bool | None = None, preallocate: bool = True, episode_cache: bool | None = None):
        if model is None:
            raise ConfigError("the hf backend needs a model name, folder or hub id")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        from sftlab.models import load

        self.model_name = str(model)
        self.batch_size = batch_size
        self.progress = progress
        self.reuse_prefix = _env_switch("SFTLAB_PREFIX_REUSE") if reuse_prefix is None else bool(reuse_prefix)
        self.reused_tokens = 0  # prompt tokens taken from a shared prefix cache instead of being prefilled
        self.preallocate = bool(preallocate)
        self.episode_cache = _env_switch("SFTLAB_EPISODE_CACHE") if episode_cache is None else bool(episode_cache)
        self.episode_hits = 0  # prompts whose KV came whole from the previous call (episode cache)
        self._episode_kv: dict | None = None  # inside episodes(): the last call's prompt tokens -> per-layer KV
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
        prefixes: dict = {}  # prefix tokens -> KV, shared by this call's batches
        kept = {} if self._episode_kv is not None else None  # this call's prompts -> KV, for the next call
        for batch in iterator:
            gens = self._generate_batch([encoded[i] for i, _, _ in batch], [s for _, _, s in batch], params,
                                        prefixes, kept)
            for (i, j, _), g in zip(batch, gens, strict=True):
                out[i][j] = g
        if kept is not None:
            self._episode_kv = kept
        return out  # type: ignore[return-value]

    @contextlib.contextmanager
    def episodes(self) -> Iterator[None]:
        """Within the block, `generate` calls are the turns of episodes (closed-loop play): each call keeps its
        prompts' keys and values (up to EPISODE_CACHE_BYTES) until the next call, where an unchanged prompt is not
        prefilled again. Exact (module doc); the memory is freed when the block ends. A no-op when `episode_cache`
        is off, when the model's cache is not plain full attention, or inside another `episodes()` block."""
        if not self.episode_cache or self._episode_kv is not None or self._cache_kwarg() is None:
            yield
            return
        self._episode_kv = {}
        try:
            yield
        finally:
            self._episode_kv = None

    def _generate_batch(self, ids: list[list[int]], seeds: list[int], params: SamplingParams,
                        prefixes: dict | None = None, kept: dict | None = None) -> list[Generation]:
        """One forward batch. `prefixes` (token tuple -> per-layer KV) is shared by the batches of one call; `kept`
        collects the prompts' KV for the next call (episode cache)."""
        import torch
        from transformers import DynamicCache, GenerationConfig, LogitsProcessorList

        from sftlab.backends.kv import preallocated_cache

        longest = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        max_new = params.max_new_tokens
        if self.max_positions:
            max_new = min(max_new, self.max_positions - longest)
            if max_new < 1:
                raise ModelError(f"a prompt of {longest} tokens leaves no room in {self.model_name}'s context of "
                                 f"{self.max_positions} tokens")
        config = GenerationConfig(
            do_sample=False, max_new_tokens=max_new, eos_token_id=self.eos_ids, pad_token_id=pad,
            num_beams=1, temperature=None, top_p=None, top_k=None,
        )
        processors = LogitsProcessorList()
        if not params.greedy:
            processors.append(SeededSampler(seeds, params, self.device))
        prefixes = {} if prefixes is None else prefixes
        with torch.inference_mode():
            cache = None
            if self._cache_kwarg():  # else generate's own cache (layers other than plain full attention)
                cache = (preallocated_cache(self.model.config, longest + min(max_new, PREALLOCATED_TOKENS),
                                            longest + max_new) if self.preallocate
                         else DynamicCache(config=self.model.config))
            plan = self._plan(ids, prefixes) if cache is not None else None
            inputs = self._prefix_inputs(ids, plan, prefixes, cache) if plan else None
            if inputs is None:
                inputs = {
                    "input_ids": torch.tensor([[pad] * (longest - len(x)) + x for x in ids], device=self.device),
                    "attention_mask": torch.tensor([[0] * (longest - len(x)) + [1] * len(x) for x in ids],
                                                   device=self.device),
                }
                if cache is not None:
                    inputs[self._cache_kwarg()] = cache
            width = inputs["input_ids"].shape[1]
            sequences = self.model.generate(**inputs, generation_config=config, logits_processor=processors)
            if kept is not None and cache is not None:
                self._keep(ids, cache, width, kept)
        new = sequences[:, width:].tolist()
        eos = set(self.eos_ids)
        results = []
        for tokens in new:
            count = next((k + 1 for k, t in enumerate(tokens) if t in eos), len(tokens))
            text = self.tokenizer.decode(tokens[:count], skip_special_tokens=True)
            results.append(Generation(text=text, num_tokens=count))
        return results

    def _cache_kwarg(self) -> str | None:
        """The name under which this model's forward takes a KV cache ("cache" from transformers 5, before that
        "past_key_values"), or None when prefix reuse cannot be exact for it (layers other than plain full
        attention, e.g. sliding windows or recurrent state)."""
        if not hasattr(self, "_cache_arg"):
            import inspect

            from transformers import DynamicCache

            params = inspect.signature(self.model.forward).parameters
            name = next((n for n in ("cache", "past_key_values") if n in params), None)
            self._keep_logits = "logits_to_keep" in params
            try:
                layers = DynamicCache(config=self.model.config).layers
                plain = bool(layers) and all(type(layer).__name__ == "DynamicLayer" for layer in layers)
            except Exception:  # an unusual config: stay on the plain path
                plain = False
            self._cache_arg = name if plain else None
        return self._cache_arg

    def _plan(self, ids: list[list[int]], prefixes: dict) -> list[int] | None:
        """Per row, how many leading tokens come from a KV cache (None: none). A prompt the previous call had
        (episode cache) takes all but its last token, its KV put in `prefixes`; the others take the shared prefixes
        of `plan_prefixes` when prefix reuse is on."""
        plan = [0] * len(ids)
        rest = []
        for r, x in enumerate(ids):
            kv = self._episode_kv.get(tuple(x)) if self._episode_kv and len(x) > 1 else None
            if kv is None:
                rest.append(r)
            else:
                prefixes[tuple(x[:-1])] = kv
                plan[r] = len(x) - 1
        self.episode_hits += len(ids) - len(rest)
        shared = plan_prefixes([ids[r] for r in rest]) if self.reuse_prefix and rest else None
        for r, p in zip(rest, shared or (), strict=False):
            plan[r] = p
        return plan if any(plan) else None

    def _keep(self, ids: list[list[int]], cache, width: int, kept: dict) -> None:
        """Copy each distinct prompt's KV (all but its last token, right-aligned under `width` columns in the
        generation's `cache`) into `kept`, while the total stays within EPISODE_CACHE_BYTES."""
        size = sum(k.nbytes + v.nbytes for kvs in kept.values() for k, v in kvs)
        for r, x in enumerate(ids):
            key = tuple(x)
            if key in kept or len(x) < 2:
                continue
            kv = (self._episode_kv or {}).get(key)  # this batch took it from there: keep it as it is
            fresh = kv is None
            if fresh:
                kv = [(layer.keys[r:r + 1, :, width - len(x):width - 1],
                       layer.values[r:r + 1, :, width - len(x):width - 1]) for layer in cache.layers]
            size += sum(k.nbytes + v.nbytes for k, v in kv)
            if size > EPISODE_CACHE_BYTES:
                return
            kept[key] = [(k.clone(), v.clone()) for k, v in kv] if fresh else kv

    def _kv(self, tokens: list[list[int]], past: list | None = None) -> list:
        """Per layer, the (keys, values) of `tokens` (rows of one length) continuing the per-layer `past` (batch 1,
        broadcast to the rows; None: from position 0): shape rows x heads x (past + len) x dim."""
        import torch
        from transformers import DynamicCache

        kwargs = {"use_cache": True}
        if self._keep_logits:
            kwargs["logits_to_keep"] = 1  # only the keys and values are used
        if past is not None:
            cache = DynamicCache(config=self.model.config)
            for layer, (k, v) in enumerate(past):
                cache.update(k.expand(len(tokens), -1, -1, -1).contiguous(),
                             v.expand(len(tokens), -1, -1, -1).contiguous(), layer)
            kwargs[self._cache_kwarg()] = cache
        out = self.model(input_ids=torch.tensor(tokens, device=self.device), **kwargs)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _prefix_inputs(self, ids: list[list[int]], plan: list[int], prefixes: dict, cache=None) -> dict | None:
        """generate() inputs for the usual left-padded batch plus a KV cache (`cache`, else a new dynamic one) of
        every row's prompt but its last token, so generate prefills one token per row. The cache is computed
        without padding: each distinct prefix once (`prefixes`, shared by a call's batches; a whole prompt there
        when the episode cache had it), then the rest of the distinct prompts, batched by (prefix, length) on top
        of their prefix's cache. Each row's keys/values are right-aligned under its
        tokens, so positions and the attention mask are exactly those of the plain batch."""
        import torch
        from transformers import DynamicCache

        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        for x, p in zip(ids, plan, strict=True):
            if p and tuple(x[:p]) not in prefixes:
                prefixes[tuple(x[:p])] = self._kv([x[:p]])
                self.reused_tokens -= p
        self.reused_tokens += sum(plan)
        groups: dict[tuple[tuple[int, ...], int], dict[tuple[int, ...], list[int]]] = {}
        for r, (x, p) in enumerate(zip(ids, plan, strict=True)):
            groups.setdefault((tuple(x[:p]), len(x) - 1 - p), {}).setdefault(tuple(x), []).append(r)
        keys = values = None
        for (prefix, rest), prompts in groups.items():
            kv = prefixes[prefix] if prefix else None
            if rest:  # else the prefix is the whole prompt but its last token (or the prompt is one token)
                kv = self._kv([list(x[len(prefix):-1]) for x in prompts], kv)
            if kv is None:
                continue
            if keys is None:
                keys = [k.new_zeros((len(ids), k.shape[1], width - 1, k.shape[3])) for k, _ in kv]
                values = [v.new_zeros((len(ids), v.shape[1], width - 1, v.shape[3])) for _, v in kv]
            length = len(prefix) + rest
            for j, rows in enumerate(prompts.values()):
                for layer, (k, v) in enumerate(kv):
                    src = 0 if k.shape[0] == 1 else j
                    keys[layer][rows, :, width - 1 - length:] = k[src]
                    values[layer][rows, :, width - 1 - length:] = v[src]
        if keys is None:
            return None
        cache = DynamicCache(config=self.model.config) if cache is None else cache
        for layer, (k, v) in enumerate(zip(keys, values, strict=True)):
            cache.update(k, v, layer)
        return {
            "input_ids": torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device),
            "attention_mask": torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids],
                                           device=self.device),
            self._cache_kwarg(): cache,
        }

    def close(self) -> None:
        self.model = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass


def plan_prefixes(ids: Sequence[Sequence[int]], *, min_saving: float = 0.2) -> list[int] | None:
    """Per row, how many leading tokens it takes from a KV cache computed once per distinct prefix (0: none), or
    None when nothing is shared or the tokens to prefill (each distinct prefix once, then each distinct prompt's
    rest, no padding) would not be at least `min_saving` fewer than in the padded batch. Each row keeps at least
    one token after its prefix.

    Rows are grouped into runs of the token-sorted prompts (a trie's subtrees are contiguous in that order); a
    dynamic programme picks the runs that save the most, a run of m rows sharing P tokens saving (m - 1) x P.
    """
    count: dict[tuple[int, ...], int] = {}
    for x in ids:
        count[tuple(x)] = count.get(tuple(x), 0) + 1
    unique = sorted(count)
    common = [_common_length(a, b) for a, b in zip(unique, unique[1:], strict=False)]
    best = [0] * (len(unique) + 1)  # best[j]: the most saved over unique[:j]
    choice: list[tuple[int, int]] = [(0, 0)] * (len(unique) + 1)  # (start of the last run, its shared length)
    for j in range(1, len(unique) + 1):
        best[j], choice[j] = best[j - 1], (j - 1, 0)
        rows, shared, shortest = 0, None, None
        for i in range(j - 1, -1, -1):  # the run unique[i:j]
            rows += count[unique[i]]
            shortest = len(unique[i]) if shortest is None else min(shortest, len(unique[i]))
            if i < j - 1:
                shared = common[i] if shared is None else min(shared, common[i])
            length = min(shortest - 1, shared if shared is not None else shortest)
            if length <= 0:
                break
            if best[i] + (rows - 1) * length > best[j]:
                best[j], choice[j] = best[i] + (rows - 1) * length, (i, length)
    prefix: dict[tuple[int, ...], int] = {}
    j = len(unique)
    while j > 0:
        i, length = choice[j]
        for key in unique[i:j]:
            prefix[key] = length
        j = i
    if not any(prefix.values()):
        return None
    cost = sum(len(key) for key in {key[:p] for key, p in prefix.items() if p})
    cost += sum(len(key) - prefix[key] for key in unique)
    plain = len(ids) * max(len(x) for x in ids)
    return [prefix[tuple(x)] for x in ids] if cost <= (1 - min_saving) * plain else None


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _eos_ids(model, tokenizer) -> list[int]:
    """The ids generation stops on: the model's EOS ids, the tokenizer's EOS, the chat template's end of turn."""
    ids = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    configured = configured if isinstance(configured, (list, tuple)) else [configured]
    for value in [*configured, tokenizer.eos_token_id, end_of_turn_id(tokenizer)]:
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
