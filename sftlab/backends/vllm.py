"""The vLLM backend (optional extra `pip install sftlab[vllm]`, GPU): prefix caching, per-request seeds.

This module is small on purpose: it could not be run in the session that wrote it (no GPU, no vllm installed).
It applies the tokenizer's chat template itself (like the hf backend, so both see identical prompt text), expands
each prompt into `n` requests with the same per-sample seeds as the hf backend, and hands everything to one
`LLM.generate` call, which batches and caches shared prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sftlab.backends.base import Backend, Generation, Messages, SamplingParams, end_of_turn_id, sample_seeds
from sftlab.errors import ConfigError, ModelError


class VLLMBackend(Backend):
    """A model served by vLLM (bf16, eager mode, prefix caching on, as the original eval does).

    Keyword arguments go to `vllm.LLM` (e.g. tensor_parallel_size, gpu_memory_utilization, max_model_len);
    `batch_size` and `progress` are accepted for interface parity and ignored (vLLM schedules its own batches).
    """

    name = "vllm"

    def __init__(self, model, *, batch_size: int | None = None, progress: bool = False, dtype: str = "bfloat16",
                 **llm_kwargs):
        if model is None:
            raise ConfigError("the vllm backend needs a model name, folder or hub id")
        try:
            import vllm
        except ImportError:
            raise ConfigError("the vllm backend needs the optional extra: pip install 'sftlab[vllm]' "
                              "(and a CUDA GPU); use --backend hf otherwise") from None
        from sftlab.models import is_adapter_dir, resolve

        location = resolve(model)
        if is_adapter_dir(location):
            raise ModelError(f"{model} is a LoRA adapter; merge it first (sftlab models merge {model} --out DIR) "
                             "and evaluate the merged folder with vllm")
        self._vllm = vllm
        self.model_name = str(model)
        options = {"enforce_eager": True, "enable_prefix_caching": True, "seed": 0} | llm_kwargs
        self.llm = vllm.LLM(model=location, dtype=dtype, **options)
        self.tokenizer = self.llm.get_tokenizer()
        # vLLM stops on the model's EOS (generation_config) by itself; add the tokenizer's EOS and the chat
        # template's end of turn, which a base model's EOS is not (Qwen2.5 base: <|endoftext|> vs <|im_end|>)
        self.stop_token_ids = sorted({i for i in (self.tokenizer.eos_token_id, end_of_turn_id(self.tokenizer))
                                      if i is not None})

    def generate(
        self,
        prompts: Sequence[Messages],
        params: SamplingParams,
        rows: Sequence[dict] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[list[Generation]]:
        """Per prompt, `params.n` samples; see `Backend.generate`."""
        from sftlab.backends.hf import render_chat

        per_prompt = sample_seeds(params, len(prompts), seeds)
        texts = [render_chat(self.tokenizer, p) for p in prompts]
        requests, request_params = [], []
        for text, sample_seeds_ in zip(texts, per_prompt, strict=True):
            # Token ids, not text: the template already holds any BOS, and vLLM would add another.
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            for s in sample_seeds_:
                requests.append({"prompt_token_ids": ids})
                request_params.append(self._params(params, s))
        outputs = self.llm.generate(requests, request_params, use_tqdm=False)
        flat = [Generation(text=o.outputs[0].text, num_tokens=len(o.outputs[0].token_ids)) for o in outputs]
        return [flat[i * params.n:(i + 1) * params.n] for i in range(len(prompts))]

    def _params(self, params: SamplingParams, seed: int):
        kwargs = {"n": 1, "temperature": params.temperature, "top_p": params.top_p,
                  "max_tokens": params.max_new_tokens, "seed": seed % (2**31),
                  "stop_token_ids": self.stop_token_ids}
        if params.top_k > 0:
            kwargs["top_k"] = params.top_k
        return self._vllm.SamplingParams(**kwargs)

    def close(self) -> None:
        self.llm = None
