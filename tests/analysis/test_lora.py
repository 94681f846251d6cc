"""LoRA checkpoints: the low-rank formulas must equal the same analysis on the merged full weights (real PEFT)."""

import json

import numpy as np
import pytest

from sftlab.analysis.lora import LoraAdapter, is_adapter
from sftlab.analysis.weights import l2_to_base, relative_change
from sftlab.errors import DataError


@pytest.fixture(scope="module")
def peft_run(tmp_path_factory):
    """A tiny Llama base, two real PEFT adapter checkpoints, and their merged full-weight equivalents."""
    torch = pytest.importorskip("torch")
    peft = pytest.importorskip("peft")
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("lora")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True)
    base_model = LlamaForCausalLM(config)
    base_model.save_pretrained(root / "base")
    adapters, merged = [], []
    for index, (rank, rslora) in enumerate(((4, False), (2, True))):
        model = LlamaForCausalLM.from_pretrained(root / "base")
        lora = peft.LoraConfig(r=rank, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                               init_lora_weights=False, use_rslora=rslora, alpha_pattern={"down_proj": 3})
        model = peft.get_peft_model(model, lora)
        step = 10 * (index + 1)
        folder = root / "run" / "checkpoints" / f"checkpoint-{step}"
        model.save_pretrained(folder)
        (folder / "COMPLETE").write_text("")
        adapters.append(folder)
        full = root / "merged" / f"checkpoint-{step}"
        model.merge_and_unload().save_pretrained(full)
        merged.append(full)
    return root / "base", adapters, merged


def test_adapter_is_read_with_peft_scales(peft_run):
    _, adapters, _ = peft_run
    assert is_adapter(adapters[0])
    first = LoraAdapter(adapters[0])
    assert set(first.modules) == {f"model.layers.{i}.{m}.weight" for i in range(2)
                                  for m in ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj")}
    assert first.modules["model.layers.0.self_attn.q_proj.weight"][2] == 8 / 4
    assert first.modules["model.layers.0.mlp.down_proj.weight"][2] == 3 / 4  # alpha_pattern
    second = LoraAdapter(adapters[1])
    assert second.modules["model.layers.0.self_attn.q_proj.weight"][2] == pytest.approx(8 / np.sqrt(2))  # rslora


def test_l2_of_adapters_equals_l2_of_merged_weights(peft_run):
    base, adapters, merged = peft_run
    low_rank = l2_to_base(adapters, base)
    dense = l2_to_base(merged, base)
    assert [r.l2 for r in low_rank] == pytest.approx([r.l2 for r in dense], rel=1e-4)
    assert [r.rel_l2 for r in low_rank] == pytest.approx([r.rel_l2 for r in dense], rel=1e-4)
    assert all(r.l2 > 0 for r in low_rank)
    assert low_rank[0].num_params == 6  # q, v, down in 2 layers


def test_relative_change_of_adapters_equals_merged(peft_run):
    base, adapters, merged = peft_run
    low_rank = relative_change(adapters, base=base)
    dense = relative_change(merged, base=base)
    assert low_rank.columns == dense.columns == ["base→10", "10→20"]
    assert low_rank.rows == dense.rows == [f"L{i}.{m}" for i in range(2) for m in ("q", "k", "v", "o", "mlp")]
    np.testing.assert_allclose(low_rank.values, dense.values, rtol=1e-4, atol=1e-6)
    assert low_rank.values[1].tolist() == [0.0, 0.0]  # k_proj is not adapted
    with pytest.raises(DataError, match="needs the base"):
        relative_change(adapters)


def test_adapter_without_safetensors_is_a_clear_error(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 4}))
    with pytest.raises(DataError, match="no adapter_model.safetensors"):
        LoraAdapter(tmp_path)


def test_report_analyses_lora_runs(peft_run, tmp_path):
    from sftlab.analysis.report import build_report

    base, adapters, _ = peft_run
    run = adapters[0].parent.parent
    (run / "run.json").write_text(json.dumps({"kind": "sft", "base_model": str(base), "config": {"lora": True}}))
    text = build_report(run, tmp_path / "r.html").read_text()
    assert "<h3>run: distance to base</h3>" in text and "<h3>run: relative change</h3>" in text
    assert text.count('src="data:image/png;base64,') == 2  # the L2 plot and the heatmap
    (run / "run.json").write_text(json.dumps({"kind": "sft", "base_model": str(tmp_path / "gone")}))
    text = build_report(run, tmp_path / "r2.html").read_text()
    assert "the weight analysis of its LoRA adapters skipped" in text
