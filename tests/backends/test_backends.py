"""Backends: sampling params, seeds, the hf backend on the real tiny model, policies, vllm's missing extra."""

from __future__ import annotations

import hashlib
import importlib.util
import random

import pytest

from sftlab.backends import SamplingParams, derive_seed, get_backend
from sftlab.backends.policies import random_formula
from sftlab.errors import ConfigError, ModelError


@pytest.mark.parametrize("kwargs", [
    {"temperature": -0.1}, {"temperature": float("nan")}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": 0},
    {"max_new_tokens": 0}, {"n": 0}, {"seed": -1}, {"n": True},
])
def test_sampling_params_reject_bad_values(kwargs):
    with pytest.raises(ConfigError):
        SamplingParams(**kwargs)


def test_sampling_defaults_are_the_papers():
    p = SamplingParams()
    assert (p.temperature, p.top_p, p.top_k, p.n, p.max_new_tokens) == (0.5, 1.0, -1, 1, 4096)


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(0, "a", 1) == derive_seed(0, "a", 1)
    assert derive_seed(0, "a", 1) != derive_seed(0, "a", 2) != derive_seed(1, "a", 1)
    # a fixed value: sha256-based, so it is the same in every process and on every machine
    expected = int.from_bytes(hashlib.sha256(b"1\x1f2").digest()[:8], "big") >> 1
    assert derive_seed(1, 2) == expected == 646312198828523517
    assert 0 <= derive_seed(123) < 2**63


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown backend 'gpt'"):
        get_backend("gpt", "tiny-random")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_missing_names_the_extra():
    with pytest.raises(ConfigError, match=r"sftlab\[vllm\]"):
        get_backend("vllm", "tiny-random")


def test_not_a_model_folder_is_a_model_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match="not a model folder"):
        get_backend("hf", str(tmp_path))


def test_policies_need_rows():
    with pytest.raises(ConfigError, match="needs the task row"):
        get_backend("oracle").generate([[{"role": "user", "content": "x"}]], SamplingParams())


@pytest.mark.parametrize("numbers", [[1, 2, 3, 4], [13, 13, 1, 7, 9], [5]])
def test_random_formula_uses_every_number_once(numbers):
    from sftlab.tasks.expr import numbers_used

    for seed in range(20):
        formula = random_formula(numbers, random.Random(seed))
        assert sorted(numbers_used(formula)) == sorted(numbers)


@pytest.fixture(scope="module")
def tiny():
    return get_backend("hf", "tiny-random", batch_size=3)


PROMPTS = [[{"role": "user", "content": f"Say something about the number {i}." + " pad" * i}] for i in range(5)]


def test_hf_samples_depend_only_on_the_prompt_seed(tiny):
    params = SamplingParams(max_new_tokens=6, n=2, seed=7)
    seeds = [derive_seed(7, i) for i in range(5)]
    first = tiny.generate(PROMPTS, params, seeds=seeds)
    assert len(first) == 5 and all(len(samples) == 2 for samples in first)
    tiny.batch_size = 10  # a different batch composition and order must not change any sample
    try:
        shuffled = tiny.generate(PROMPTS[::-1], params, seeds=seeds[::-1])
    finally:
        tiny.batch_size = 3
    assert shuffled[::-1] == first
    assert first[0][0] != first[0][1]  # the n samples of a prompt differ (a random model, 6 tokens)
    again = tiny.generate(PROMPTS, params)  # default seeds: derive_seed(params.seed, index)
    assert again == first


def test_hf_greedy_ignores_the_seed_and_counts_tokens(tiny):
    a = tiny.generate(PROMPTS[:2], SamplingParams(temperature=0, max_new_tokens=5, seed=1))
    b = tiny.generate(PROMPTS[:2], SamplingParams(temperature=0, max_new_tokens=5, seed=2))
    assert a == b
    for samples in a:
        assert 1 <= samples[0].num_tokens <= 5
        assert isinstance(samples[0].text, str)


def test_hf_rejects_malformed_prompts(tiny):
    with pytest.raises(ConfigError, match="role"):
        tiny.generate([[{"content": "no role"}]], SamplingParams(max_new_tokens=2))
