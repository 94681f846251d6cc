"""sftlab's SFT trainer has TRL's fused LM head score only the labelled positions on CPU too, with the same
log-probabilities, entropy, token accuracy and gradients as TRL's score-every-position CPU path."""

from __future__ import annotations

import torch
import trl.trainer.utils as trl_utils
from trl.trainer.utils import add_fused_lm_head

from sftlab.models import load
from sftlab.train.sft_trainer import labelled_positions_only


def _batch(tokenizer):
    texts = ["<|im_start|>user\nPush the box onto the target.<|im_end|>\n<|im_start|>assistant\n<answer> Up </answer>",
             "<|im_start|>user\nSay yes.<|im_end|>\n<|im_start|>assistant\nyes, and more"]
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
    for row, trained in enumerate((6, 4)):  # only each row's last tokens are trained, as in prompt-completion rows
        end = int(encoded["attention_mask"][row].sum())
        labels[row, : end - trained] = -100
    return encoded, labels


def _fused_step(model, encoded, labels):
    model.zero_grad(set_to_none=True)
    out = model(**encoded, labels=labels, fused_lm_head=True, use_cache=False)
    (-out.log_probs.sum() / out.label_mask.sum()).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out, grads


def test_only_labelled_positions_are_scored_with_identical_results(monkeypatch):
    model, tokenizer = load("tiny-random", device="cpu", dtype="float32", for_training=True)
    tokenizer.padding_side = "right"
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    encoded, labels = _batch(tokenizer)

    scored = []  # rows each call of TRL's chunked log-prob kernel projects through the LM head
    kernel = trl_utils._ChunkedLogProbFunction

    class Counting:
        @staticmethod
        def apply(hidden, *args):
            scored.append(hidden.shape[0])
            return kernel.apply(hidden, *args)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Counting)
    every, every_grads = _fused_step(model, encoded, labels)
    with labelled_positions_only():
        only, only_grads = _fused_step(model, encoded, labels)

    rows, width = labels.shape
    assert scored == [rows * (width - 1), 6 + 4]  # every (shifted) position, then the labelled ones alone
    assert trl_utils._use_triton is not None and not trl_utils._use_triton(torch.device("cpu"))  # restored
    assert torch.equal(only.label_mask, every.label_mask)
    for name in ("log_probs", "entropy"):
        assert torch.allclose(getattr(only, name), getattr(every, name), atol=1e-5), name
    assert torch.equal(only.is_top1, every.is_top1)
    assert every_grads.keys() == only_grads.keys() and every_grads
    for name, grad in every_grads.items():
        assert torch.allclose(only_grads[name], grad, atol=1e-6, rtol=1e-4), name
