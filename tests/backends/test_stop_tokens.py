"""Generation stops on the model's EOS and on the chat template's end of turn (a base model's EOS can differ:
Qwen2.5 base ends with <|endoftext|>, its template's turns with <|im_end|>)."""

from __future__ import annotations

import pytest
import torch

from sftlab.backends import SamplingParams, get_backend
from sftlab.backends.base import end_of_turn_id
from sftlab.backends.hf import render_chat

PROMPT = [{"role": "user", "content": "Say something."}]


@pytest.fixture(scope="module")
def base_like(tmp_path_factory):
    """tiny-random made a 'base model': its EOS is <|endoftext|> (id 0), and its output head always prefers the
    template's end of turn <|im_end|> (id 2) after PROMPT, the token an SFT'd model ends its answer with."""
    from sftlab.models import load

    model, tokenizer = load("tiny-random", device="cpu", dtype="float32")
    tokenizer.eos_token = "<|endoftext|>"
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    ids = tokenizer(render_chat(tokenizer, PROMPT), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = model.model(ids).last_hidden_state[0, -1]
    model.config.tie_word_embeddings = False
    head = torch.zeros_like(model.lm_head.weight)
    head[2] = hidden  # logit of <|im_end|> is |hidden|^2 > 0, every other logit 0
    model.lm_head.weight = torch.nn.Parameter(head)
    folder = tmp_path_factory.mktemp("base-like")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, tokenizer


def test_the_end_of_turn_token_is_read_from_the_chat_template(base_like):
    _, tokenizer = base_like
    assert tokenizer.eos_token_id == 0 and end_of_turn_id(tokenizer) == 2
    tokenizer_without_template = type(tokenizer).from_pretrained(base_like[0])
    tokenizer_without_template.chat_template = None
    assert end_of_turn_id(tokenizer_without_template) is None


def test_the_hf_backend_stops_at_the_end_of_turn_of_a_model_whose_eos_differs(base_like):
    backend = get_backend("hf", str(base_like[0]), batch_size=1)
    try:
        assert set(backend.eos_ids) == {0, 2}
        [[generation]] = backend.generate([PROMPT], SamplingParams(temperature=0, max_new_tokens=8))
    finally:
        backend.close()
    assert generation.num_tokens == 1 and generation.text == ""  # <|im_end|> ends it (without the fix: 8 tokens)
