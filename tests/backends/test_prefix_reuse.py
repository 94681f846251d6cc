"""The hf backend's prefix reuse: the plan on token ids, and identical text with and without it on tiny-random."""

from __future__ import annotations

import pytest

from sftlab.backends import SamplingParams, get_backend
from sftlab.backends.hf import plan_prefixes


def test_plan_shares_the_prefix_of_each_group():
    a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    b = [1, 2, 3, 4, 5, 6, 7, 8, 11]
    c = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]
    d = [20, 21, 22, 23, 24, 25, 26, 27, 31, 32]
    plan = plan_prefixes([a, c, b, d])
    assert plan == [8, 8, 8, 8]  # each pair shares its first 8 tokens; no cache across the pairs


def test_plan_prefers_the_longer_groups_over_one_short_common_prefix():
    head = list(range(100, 110))  # shared by all (like the chat template)
    rows = [head + [t] * 30 + [i] for t in (1, 2) for i in range(3)]
    plan = plan_prefixes(rows)
    assert plan == [40] * 6  # per group 10 + 30 tokens, not the 10 shared by all


def test_plan_keeps_at_least_one_token_and_handles_repeated_prompts():
    rows = [[5] * 50, [5] * 50, [5] * 50]  # n samples of one prompt
    assert plan_prefixes(rows) == [49, 49, 49]


def test_plan_leaves_an_unrelated_row_uncached():
    shared = list(range(1, 41))
    plan = plan_prefixes([shared + [41, 42], shared + [43], list(range(200, 260))])
    assert plan == [40, 40, 0]


def test_plan_is_none_when_nothing_worth_sharing():
    assert plan_prefixes([[1, 2, 3], [4, 5, 6], [7, 8]]) is None
    assert plan_prefixes([[1, 2, 3, 4]]) is None
    assert plan_prefixes([[1] + list(range(10, 60)), [1] + list(range(70, 120))]) is None  # 1 shared token


@pytest.fixture(scope="module")
def tiny():
    return get_backend("hf", "tiny-random", batch_size=4)


INSTRUCTIONS = ("You are playing a puzzle. The board uses # for walls, _ for floor, P for you, X for a box and O "
                "for a goal. Answer with one move inside <answer></answer>. ")
PROMPTS = (
    # two "tags" (different instruction texts) of varying lengths, prompts whose strings share a prefix that ends
    # inside a token, and one prompt that shares nothing with the others
    [[{"role": "user", "content": INSTRUCTIONS + "Moves: up, down, left, right. Board:" + " #_P" * k}]
     for k in (1, 4, 9)]
    + [[{"role": "user", "content": INSTRUCTIONS + "Moves: north, south, west, east. Board:" + " X_O#" * k}]
       for k in (2, 3)]
    + [[{"role": "user", "content": INSTRUCTIONS + "Moves: up, down, left, right. Board: #_Pa"}],
       [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Name a colour."}]]
)


@pytest.mark.parametrize("params", [
    SamplingParams(temperature=0, max_new_tokens=12),
    SamplingParams(temperature=0.7, top_k=20, max_new_tokens=12, n=2, seed=5),
], ids=["greedy", "seeded-sampling"])
def test_prefix_reuse_gives_the_same_text(tiny, params):
    tiny.reuse_prefix = False
    before = tiny.reused_tokens
    try:
        plain = tiny.generate(PROMPTS, params)
        assert tiny.reused_tokens == before  # off means off
    finally:
        tiny.reuse_prefix = True
    reused = tiny.generate(PROMPTS, params)
    assert tiny.reused_tokens > before  # the shared prefixes were really served from the cache
    assert reused == plain
    if params.n == 2:
        assert any(s[0] != s[1] for s in plain)  # sampling is on: the two samples of a prompt differ


def test_prefix_reuse_respects_the_context_limit(tiny):
    # with the prompt's tokens in the cache, the new-token budget must still come from the longest prompt
    long = [[{"role": "user", "content": INSTRUCTIONS + "x" * 10}], [{"role": "user", "content": INSTRUCTIONS}]]
    saved = tiny.max_positions
    tiny.max_positions = len(tiny.tokenizer(tiny.tokenizer.apply_chat_template(
        long[0], tokenize=False, add_generation_prompt=True), add_special_tokens=False)["input_ids"]) + 3
    try:
        out = tiny.generate(long, SamplingParams(temperature=0, max_new_tokens=50))
    finally:
        tiny.max_positions = saved
    assert out[0][0].num_tokens <= 3


def test_cached_layout_gives_the_same_logits(tiny):
    # tiny-random's greedy text is nearly constant, so compare the scores of each step: the cache assembled from
    # shared prefixes and per-length rests must hold what the left-padded batch computes (float noise only)
    import torch
    from transformers import GenerationConfig

    ids = [tiny.tokenizer(tiny.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True),
                          add_special_tokens=False)["input_ids"] for p in PROMPTS]
    plan = plan_prefixes(ids)
    assert plan is not None and len(set(plan)) > 1  # several prefixes of different lengths in one batch
    pad = tiny.tokenizer.pad_token_id
    width = max(map(len, ids))
    plain = {"input_ids": torch.tensor([[pad] * (width - len(x)) + x for x in ids]),
             "attention_mask": torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])}
    config = GenerationConfig(do_sample=False, max_new_tokens=4, pad_token_id=pad, eos_token_id=None,
                              return_dict_in_generate=True, output_logits=True)
    with torch.inference_mode():
        tiny._cache_kwarg()
        cached = tiny._prefix_inputs(ids, plan, {})
        a = tiny.model.generate(**plain, generation_config=config)
        b = tiny.model.generate(**cached, generation_config=config)
    assert torch.equal(cached["input_ids"], plain["input_ids"])
    assert torch.equal(cached["attention_mask"], plain["attention_mask"])
    for x, y in zip(a.logits, b.logits, strict=True):
        assert torch.allclose(x, y, atol=1e-5, rtol=0), (x - y).abs().max()
    assert torch.equal(a.sequences, b.sequences)


def test_the_environment_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("SFTLAB_PREFIX_REUSE", "0")
    assert get_backend("hf", "tiny-random").reuse_prefix is False
    assert get_backend("hf", "tiny-random", reuse_prefix=True).reuse_prefix is True
    monkeypatch.delenv("SFTLAB_PREFIX_REUSE")
    assert get_backend("hf", "tiny-random").reuse_prefix is True
