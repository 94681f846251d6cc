import json
import math

import numpy as np
import pytest
from safetensors.numpy import save_file

from sftlab.analysis.weights import (
    TensorSource,
    l2_to_base,
    module_row,
    relative_change,
    relative_change_heatmap,
)
from sftlab.errors import ModelError

Q = "model.layers.0.self_attn.q_proj.weight"
NORM = "model.norm.weight"
GATE = "model.layers.0.mlp.gate_proj.weight"
DOWN = "model.layers.0.mlp.down_proj.weight"
EMBED = "model.embed_tokens.weight"

A = np.array([[1, 2], [3, 4]], dtype=np.float32)
G = np.eye(2, dtype=np.float32)
D = np.ones((1, 8), dtype=np.float32)


def _folder(path, tensors, complete=True):
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path / "model.safetensors"))
    if complete:
        (path / "COMPLETE").write_text("")
    return path


@pytest.fixture
def tiny_run(tmp_path):
    """A base and two checkpoints whose distances are worked out by hand in the tests."""
    base = _folder(tmp_path / "base", {
        Q: A, NORM: np.ones(3, np.float32), GATE: G, DOWN: D, EMBED: np.ones((3, 2), np.float32),
        "position_ids": np.arange(4, dtype=np.int64),
    })
    e = np.array([[1, 0], [0, 0]], dtype=np.float32)
    d1 = D.copy()
    d1[0, 0] += 2
    ckpt1 = {Q: A + e, NORM: np.array([1, 3, 1], np.float32), GATE: G + e, DOWN: d1,
             EMBED: np.ones((4, 2), np.float32),  # resized vocabulary: different shape, not compared
             "position_ids": np.arange(4, dtype=np.int64) + 7, "extra.weight": np.ones(2, np.float32)}
    ckpt2 = {**ckpt1, Q: 2 * A, NORM: np.ones(3, np.float32)}
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"kind": "sft", "base_model": str(base)}))
    _folder(run / "checkpoints" / "checkpoint-10", ckpt1)
    _folder(run / "checkpoints" / "checkpoint-20", ckpt2)
    _folder(run / "checkpoints" / "checkpoint-30", ckpt2, complete=False)  # unfinished: ignored
    return run, base


def test_l2_to_base_matches_a_hand_computation(tiny_run, tmp_path):
    run, base = tiny_run
    rows = l2_to_base(run, base, out_csv=tmp_path / "l2.csv")
    # ckpt1: q +1 at one entry (1), norm +2 (4), gate +1 (1), down +2 (4) -> 10; ||base||^2 = 30+3+2+8+6 = 49
    # ckpt2: q doubled (||A||^2 = 30), norm back to base, gate/down as ckpt1 (5) -> 35
    assert [r.phase for r in rows] == ["checkpoint-10", "checkpoint-20"]
    assert [r.step for r in rows] == [10, 20]
    assert rows[0].l2 == pytest.approx(math.sqrt(10), rel=1e-12)
    assert rows[0].rel_l2 == pytest.approx(math.sqrt(10) / 7, rel=1e-12)
    assert rows[1].l2 == pytest.approx(math.sqrt(35), rel=1e-12)
    # shared, same-shape, floating tensors only: q, norm, gate, down (embed resized, position_ids integer)
    assert (rows[0].num_params, rows[0].num_elems) == (4, 4 + 3 + 4 + 8)
    lines = (tmp_path / "l2.csv").read_text().splitlines()
    assert lines[0] == "phase,l2,rel_l2,num_params,num_elems"
    phase, l2, rel, num_params, num_elems = lines[1].split(",")
    assert (phase, float(l2), float(rel), num_params, num_elems) == (
        "checkpoint-10", rows[0].l2, rows[0].rel_l2, "4", "19")


def test_streaming_in_tiny_chunks_gives_the_same_numbers(tiny_run):
    run, base = tiny_run
    whole = l2_to_base(run, base)
    chunked = l2_to_base(run, base, chunk_elems=1)
    assert [r.l2 for r in chunked] == pytest.approx([r.l2 for r in whole], rel=1e-12)
    source = TensorSource(base)
    pieces = list(source.chunks(DOWN, chunk_elems=1))  # one row of 8: a row is never split
    assert [p.shape for p in pieces] == [(1, 8)]
    pieces = list(source.chunks(Q, chunk_elems=2))
    assert [p.shape for p in pieces] == [(1, 2), (1, 2)]


def test_bf16_and_sharded_checkpoints(tiny_run, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch

    run, base = tiny_run
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    (sharded / "config.json").write_text("{}")
    src = TensorSource(run / "checkpoints" / "checkpoint-10")
    tensors = {k: torch.from_numpy(next(src.chunks(k, 1 << 20)).copy()) for k in src.keys()
               if k != "position_ids"}
    first = {k: v.to(torch.bfloat16) for k, v in tensors.items() if k in (Q, NORM)}  # small ints: exact in bf16
    second = {k: v.float() for k, v in tensors.items() if k not in (Q, NORM)}
    save_torch(first, str(sharded / "model-00001-of-00002.safetensors"))
    save_torch(second, str(sharded / "model-00002-of-00002.safetensors"))
    weight_map = {k: "model-00001-of-00002.safetensors" for k in first}
    weight_map.update({k: "model-00002-of-00002.safetensors" for k in second})
    (sharded / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    [row] = l2_to_base([sharded], base)
    assert row.l2 == pytest.approx(math.sqrt(10), rel=1e-12)


def test_relative_change_per_layer_and_module_by_hand(tiny_run):
    run, base = tiny_run
    change = relative_change(run, base=base)
    assert change.columns == ["base→10", "10→20"]
    assert change.rows == ["L0.q", "L0.mlp"]
    q_base_to_1 = 1 / math.sqrt(30)
    q_1_to_2 = math.sqrt(29 / 33)  # 2A - (A + e) = [[0,2],[3,4]]; ||A + e||^2 = 33
    mlp_base_to_1 = (4 * (1 / math.sqrt(2)) + 8 * (2 / math.sqrt(8))) / 12  # element-weighted gate + down
    np.testing.assert_allclose(change.values, [[q_base_to_1, q_1_to_2], [mlp_base_to_1, 0.0]], rtol=1e-12)
    without_base = relative_change(run)
    assert without_base.columns == ["10→20"]
    fig = relative_change_heatmap(change)
    image = fig.axes[0].images[0]
    low, high = image.get_clim()
    finite = change.values.ravel()
    assert (low, high) == (pytest.approx(np.percentile(finite, 1)), pytest.approx(np.percentile(finite, 99)))


def test_module_names():
    assert module_row("model.layers.12.self_attn.v_proj.weight") == (12, "v")
    assert module_row("model.layers.3.mlp.up_proj.weight") == (3, "mlp")
    assert module_row("model.layers.3.input_layernorm.weight") is None
    assert module_row("model.embed_tokens.weight") is None


def test_adapters_and_missing_weights_are_clear_errors(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(ModelError, match="LoRA adapter"):
        TensorSource(adapter)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    from sftlab.errors import DataError

    with pytest.raises(DataError, match="no .safetensors"):
        TensorSource(empty)
    with pytest.raises(DataError, match="no complete checkpoints"):
        l2_to_base(tmp_path, empty)
