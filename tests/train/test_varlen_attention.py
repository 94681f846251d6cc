"""Padding-free SFT on CPU attends each sequence of the row on its own (sftlab.train.varlen_attention), with the
same outputs as transformers' sdpa over the dense block-diagonal mask and as each sequence run alone."""

from __future__ import annotations

import torch

from sftlab.models import load
from sftlab.train.varlen_attention import NAME, use_varlen_sdpa

from .conftest import sokoban_rows


def test_a_packed_row_gives_each_sequence_its_own_outputs():
    model, _ = load("tiny-random", device="cpu", dtype="float32", for_training=True)
    lengths = [7, 12, 1, 5]
    ids = torch.randint(10, 1000, (1, sum(lengths)), generator=torch.Generator().manual_seed(0))
    positions = torch.cat([torch.arange(n) for n in lengths])[None]
    bounds = torch.tensor([0, 7, 19, 20, 25], dtype=torch.int32)
    with torch.no_grad():
        dense = model(input_ids=ids, position_ids=positions, use_cache=False).logits  # sdpa, block-diagonal mask
        use_varlen_sdpa(model)
        packed = model(input_ids=ids, position_ids=positions, cu_seq_lens_q=bounds, cu_seq_lens_k=bounds,
                       use_cache=False).logits
        alone = torch.cat([model(input_ids=ids[:, a:b], use_cache=False).logits
                           for a, b in zip(bounds.tolist(), bounds[1:].tolist(), strict=False)], dim=1)
        padded = model(input_ids=ids[:, :7], attention_mask=torch.ones(1, 7, dtype=torch.long), use_cache=False).logits
    assert model.config._attn_implementation == NAME
    assert torch.allclose(packed, alone, atol=1e-5) and torch.allclose(packed, dense, atol=1e-5)
    assert torch.allclose(padded, alone[:, :7], atol=1e-5)  # a batch without bounds takes sdpa's own path


def test_padding_free_training_on_cpu_uses_it_and_padded_training_does_not(tmp_path):
    from sftlab.train.sft import SftConfig, _build_trainer

    rows = [{"prompt": r["prompt"], "completion": r["completion"]} for r in sokoban_rows(1)[:2]]
    kinds = {}
    for name, flags in {"padded": {}, "padding_free": {"padding_free": True}}.items():
        config = SftConfig(model="tiny-random", data="unused", out=str(tmp_path / name), global_batch=2,
                           max_length=512, **flags)
        trainer = _build_trainer(config, tmp_path / name, rows, 2, 1, gpu=False, progress=False)
        kinds[name] = trainer.model.config._attn_implementation
    assert kinds == {"padded": "sdpa", "padding_free": NAME}
