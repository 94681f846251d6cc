"""The hf backend's decoding caches on tiny-random: the preallocated KV cache (bit-identical logits) and the
cross-turn episode cache (the same text, the right keys and values, bounded and scoped)."""

from __future__ import annotations

import pytest

from sftlab.backends import SamplingParams, get_backend
from sftlab.backends.hf import render_chat
from sftlab.data.suites import suite_rows
from sftlab.evaluate import closed_loop


@pytest.fixture(scope="module")
def tiny():
    return get_backend("hf", "tiny-random", batch_size=4)


def chat(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


BOARDS = [chat("Push the box onto the goal. Board: " + " #_P" * k + ". Answer in <answer></answer>.") for k in range(6)]
GREEDY = SamplingParams(temperature=0, max_new_tokens=10)
SAMPLED = SamplingParams(temperature=0.8, top_k=30, max_new_tokens=10, n=2, seed=3)


def token_ids(backend, messages) -> list[int]:
    return backend.tokenizer(render_chat(backend.tokenizer, messages), add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("capacity_short", [False, True], ids=["sized", "grown"])
def test_preallocated_cache_gives_bit_identical_logits(tiny, capacity_short):
    import torch
    from transformers import DynamicCache, GenerationConfig

    from sftlab.backends.kv import preallocated_cache

    ids = [token_ids(tiny, p) for p in BOARDS]
    width, pad = max(map(len, ids)), tiny.tokenizer.pad_token_id
    inputs = {"input_ids": torch.tensor([[pad] * (width - len(x)) + x for x in ids]),
              "attention_mask": torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])}
    config = GenerationConfig(do_sample=False, max_new_tokens=12, min_new_tokens=12, pad_token_id=pad,
                              eos_token_id=None, return_dict_in_generate=True, output_logits=True)
    capacity = width + 3 if capacity_short else width + 12  # "grown": the buffers are enlarged mid-generation
    name = tiny._cache_kwarg()  # "cache" ("past_key_values" before transformers 5)
    with torch.inference_mode():
        a = tiny.model.generate(**inputs, generation_config=config, **{name: DynamicCache(config=tiny.model.config)})
        cache = preallocated_cache(tiny.model.config, capacity, limit=width + 12)
        b = tiny.model.generate(**inputs, generation_config=config, **{name: cache})
    assert all(torch.equal(x, y) for x, y in zip(a.logits, b.logits, strict=True))  # bit for bit, every step
    assert torch.equal(a.sequences, b.sequences)
    layer = cache.layers[0]
    assert layer.keys.shape[-2] == width + 11  # the prompt and the 11 fed-back tokens, as a view of the buffer
    assert layer.keys.data_ptr() == layer._key_buffer.data_ptr()
    assert layer._key_buffer.shape[-2] == width + 12  # grown by doubling, but not beyond the limit


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "seeded-sampling"])
def test_preallocate_gives_the_same_text(tiny, params):
    tiny.preallocate = False
    try:
        dynamic = tiny.generate(BOARDS, params)
    finally:
        tiny.preallocate = True
    assert tiny.generate(BOARDS, params) == dynamic


def turns(backend, params, episode_cache: bool) -> list:
    """Three calls like three closed-loop turns: turn 1 repeats 4 of turn 0's prompts (episodes that did not move)
    and changes 2; turn 2 repeats all of turn 1's. Each turn gets its own seeds, as in closed-loop play."""
    backend.episode_cache = episode_cache
    calls = [BOARDS, BOARDS[:4] + [chat("Another board: #_X"), chat("Moved: _P_#")]]
    calls.append(calls[1])
    try:
        with backend.episodes():
            return [backend.generate(prompts, params, seeds=[100 * t + i for i in range(len(prompts))])
                    for t, prompts in enumerate(calls)]
    finally:
        backend.episode_cache = True


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "seeded-sampling"])
def test_episode_cache_gives_the_same_text(tiny, params):
    hits = tiny.episode_hits
    plain = turns(tiny, params, episode_cache=False)
    assert tiny.episode_hits == hits  # off means off
    cached = turns(tiny, params, episode_cache=True)
    # rows served whole from the cache: turn 1's 4 unchanged prompts, turn 2's 6, each with its n samples
    assert tiny.episode_hits - hits == (4 + 6) * params.n
    assert cached == plain
    assert tiny._episode_kv is None  # freed when the block ends
    if params.n == 2:
        assert plain[1][0] != plain[0][0]  # the same prompt, another turn's seed: other samples


def test_kept_keys_and_values_are_the_prompts_own(tiny):
    # the text of tiny-random barely depends on its input, so check the cache itself: what a call keeps for each
    # prompt must be that prompt's keys and values, computed alone and unpadded (float noise only)
    import torch

    with tiny.episodes():
        tiny.generate(BOARDS, GREEDY)
        kept = dict(tiny._episode_kv)
    assert len(kept) == len(BOARDS)
    for prompt in BOARDS:
        x = token_ids(tiny, prompt)
        with torch.inference_mode():
            alone = tiny._kv([x[:-1]])
        for (k, v), (k0, v0) in zip(kept[tuple(x)], alone, strict=True):
            assert k.shape == k0.shape == (1, k0.shape[1], len(x) - 1, k0.shape[3])
            assert torch.allclose(k, k0, atol=1e-5, rtol=0) and torch.allclose(v, v0, atol=1e-5, rtol=0)


def test_episode_cache_stays_within_its_memory_budget(tiny, monkeypatch):
    import sftlab.backends.hf as hf

    with tiny.episodes():
        tiny.generate(BOARDS[:1], GREEDY)
        one = sum(k.nbytes + v.nbytes for kv in tiny._episode_kv.values() for k, v in kv)
        monkeypatch.setattr(hf, "EPISODE_CACHE_BYTES", 3 * one)  # room for about three of the six prompts
        tiny.generate(BOARDS, GREEDY)
        size = sum(k.nbytes + v.nbytes for kv in tiny._episode_kv.values() for k, v in kv)
        assert 0 < len(tiny._episode_kv) < len(BOARDS) and size <= 3 * one


def test_episode_cache_is_off_outside_episodes_and_by_switch(tiny, monkeypatch):
    hits = tiny.episode_hits
    tiny.generate(BOARDS, GREEDY)
    tiny.generate(BOARDS, GREEDY)
    assert tiny.episode_hits == hits and tiny._episode_kv is None  # nothing kept outside an episodes() block
    monkeypatch.setenv("SFTLAB_EPISODE_CACHE", "0")
    assert get_backend("hf", "tiny-random").episode_cache is False
    monkeypatch.delenv("SFTLAB_EPISODE_CACHE")
    assert get_backend("hf", "tiny-random").episode_cache is True


def test_closed_loop_play_reuses_unchanged_prompts_with_the_same_results(tiny):
    # tiny-random never answers validly, so no episode ever moves: every turn after the first is served from the cache
    rows = suite_rows("sokoban-eval", n=1)[:3]
    params = SamplingParams(temperature=0.5, max_new_tokens=6)
    tiny.episode_cache = False
    try:
        plain = closed_loop.play(tiny, rows, params, max_turns=3)
    finally:
        tiny.episode_cache = True
    hits = tiny.episode_hits
    cached = closed_loop.play(tiny, rows, params, max_turns=3)
    assert tiny.episode_hits - hits == 2 * len(rows)
    assert cached == plain
