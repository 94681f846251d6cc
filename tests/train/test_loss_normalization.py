"""The three loss normalisations, proved on the real trainer: one optimizer step of 2 accumulated micro-batches of
tiny-random through TRL's SFTTrainer, whose gradient (as the optimizer receives it) must equal the gradient of a
loss computed by hand with plain torch cross-entropy on the same rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import TrainerCallback

from sftlab.train.sft import SftConfig, _build_trainer

# Hand-made rows with very different completion lengths, so the three normalisations weigh tokens differently.
ROWS = [
    ("Say yes.", "yes"),
    ("Count to twelve in words.", "one two three four five six seven eight nine ten eleven twelve, and that is all."),
    ("Name a colour.", "blue"),
    ("Describe the sea.", "The sea is wide, deep and grey, and the waves roll in from the west all day long."),
]


def _rows():
    return [{"prompt": [{"role": "user", "content": p}], "completion": [{"role": "assistant", "content": c}]}
            for p, c in ROWS]


class _GradAtStep(TrainerCallback):
    """Copies every parameter's gradient when the optimizer is about to step (after accumulation and clipping)."""

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def _one_step(tmp_path, mode: str, max_grad_norm: float = 1e9, **extra):
    config = SftConfig(model="tiny-random", data="unused", out=str(tmp_path / mode), global_batch=4,
                       per_device_batch=2, max_steps=1, learning_rate=1e-3, max_length=256, shuffle=False,
                       loss_normalization=mode, max_grad_norm=max_grad_norm, **extra)
    trainer = _build_trainer(config, tmp_path / mode, _rows(), 2, 2, gpu=False, progress=False)
    grab = _GradAtStep()
    trainer.add_callback(grab)
    trainer.train()
    return trainer, grab.grads


def _hand_gradient(trainer, mode: str) -> tuple[dict, float]:
    """The gradient of the mode's loss written out with plain torch, on a fresh copy of the same initial model."""
    from sftlab.models import load

    model, _ = load("tiny-random", device="cpu", dtype="float32", for_training=True)
    model.train()
    per_row = []  # the per-token NLL of each row's completion tokens (labels != -100)
    for i in range(len(ROWS)):
        ids = torch.tensor(trainer.train_dataset[i]["input_ids"])
        labels = torch.tensor(trainer.train_dataset[i]["labels"])
        logits = model(input_ids=ids[None]).logits[0, :-1]
        nll = F.cross_entropy(logits, ids[1:], reduction="none")
        per_row.append(nll[labels[1:] != -100])
    micro_batches = [torch.cat(per_row[0:2]), torch.cat(per_row[2:4])]  # sequential order, 2 rows per micro-batch
    if mode == "batch_token_mean":
        loss = torch.cat(per_row).sum() / sum(len(r) for r in per_row)
        logged = loss
    elif mode == "sequence_mean_sum":
        loss = sum(r.mean() for r in per_row)
        logged = loss / len(per_row)
    else:
        loss = sum(mb.mean() for mb in micro_batches)
        logged = loss / len(micro_batches)
    loss.backward()
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}, float(logged.detach())


def _flat(grads: dict) -> torch.Tensor:
    return torch.cat([grads[n].flatten() for n in sorted(grads)])


@pytest.mark.parametrize("mode", ["batch_token_mean", "sequence_mean_sum", "microbatch_mean_sum"])
def test_gradient_of_one_accumulated_step_matches_the_hand_computed_loss(tmp_path, mode):
    trainer, grads = _one_step(tmp_path, mode)
    hand, logged = _hand_gradient(trainer, mode)
    assert sorted(grads) == sorted(hand)
    got, want = _flat(grads), _flat(hand)
    assert torch.linalg.vector_norm(got - want) <= 1e-4 * torch.linalg.vector_norm(want)
    # the logged loss is the mean per token / sequence / micro-batch, whatever is summed for the gradient
    assert trainer.state.log_history[0]["loss"] == pytest.approx(logged, abs=2e-3)


def test_the_modes_give_different_gradients_on_rows_of_different_lengths(tmp_path):
    trainer, _ = _one_step(tmp_path, "batch_token_mean")
    flats = {mode: _flat(_hand_gradient(trainer, mode)[0])
             for mode in ("batch_token_mean", "sequence_mean_sum", "microbatch_mean_sum")}
    norms = {mode: float(torch.linalg.vector_norm(g)) for mode, g in flats.items()}
    # the summed modes carry no 1/n factor: about 4 sequences' and 2 micro-batches' worth of gradient
    assert norms["sequence_mean_sum"] > 2.5 * norms["batch_token_mean"]
    assert norms["microbatch_mean_sum"] > 1.5 * norms["batch_token_mean"]
    cos = F.cosine_similarity(flats["sequence_mean_sum"], flats["batch_token_mean"], dim=0)
    assert cos < 0.999  # not just a rescaling: short sequences weigh more per token


def test_clipping_applies_to_the_summed_gradient(tmp_path):
    trainer, _ = _one_step(tmp_path, "microbatch_mean_sum")
    hand = _flat(_hand_gradient(trainer, "microbatch_mean_sum")[0])
    norm = float(torch.linalg.vector_norm(hand))
    _, grads = _one_step(tmp_path / "clipped", "microbatch_mean_sum", max_grad_norm=norm / 4)
    got = _flat(grads)
    # clipped once, after both micro-batches were summed: the direction of the sum at a quarter of its norm
    assert torch.linalg.vector_norm(got - hand / 4) <= 1e-4 * torch.linalg.vector_norm(hand / 4)


def test_sequence_mean_sum_is_the_same_in_padding_free_batches(tmp_path):
    trainer, grads = _one_step(tmp_path, "sequence_mean_sum", padding_free=True)
    assert "attention_mask" not in trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    got, want = _flat(grads), _flat(_hand_gradient(trainer, "sequence_mean_sum")[0])
    assert torch.linalg.vector_norm(got - want) <= 1e-4 * torch.linalg.vector_norm(want)


TWO_PROCESS_MODES = [
    ("sequence_mean_sum", 1),  # 2 accumulated micro-batches of 1 row on each process: rows 0, 2 and 1, 3
    ("microbatch_mean_sum", 2),  # 1 micro-batch of 2 rows on each process: rows 0, 1 and 2, 3
]


@pytest.fixture(scope="module")
def ddp_grads(tmp_path_factory) -> Path:
    """One real 2-process launch (torchrun, gloo) that takes one step per mode: OUT/MODE/grads.pt from rank 0."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(root / "tests/train/ddp_step.py"), str(out), *(f"{m}:{b}" for m, b in TWO_PROCESS_MODES)],
                   check=True, env=env, cwd=root, capture_output=True, timeout=900)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("mode, per_device", TWO_PROCESS_MODES)
def test_two_processes_sum_their_own_units_and_average_the_processes(tmp_path, ddp_grads, mode, per_device):
    got = _flat(torch.load(ddp_grads / mode / "grads.pt"))
    config = SftConfig(model="tiny-random", data="unused", out=str(tmp_path / "t"), global_batch=4,
                       per_device_batch=2, max_length=256, shuffle=False)
    trainer = _build_trainer(config, tmp_path / "t", _rows(), 2, 2, gpu=False, progress=False)
    # Either mode: each process sums its units (all 4 sequences / both micro-batches over the 2 processes, as the
    # sampler deals them), then DDP averages the 2 processes: half the one-process sum.
    hand = _flat(_hand_gradient(trainer, mode)[0]) / 2
    assert torch.linalg.vector_norm(got - hand) <= 1e-4 * torch.linalg.vector_norm(hand)


def test_sequence_mean_sum_on_the_worked_example_of_the_docs():
    from sftlab.train.sft_trainer import sequence_mean_sum

    # docs/training.md: micro-batch 1 holds A (one token, loss 2.0) and B (three tokens, loss 1.0 each)
    nll = torch.tensor([[2.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    loss, units = sequence_mean_sum(-nll, mask, {"attention_mask": torch.ones(2, 4)})
    assert (float(loss), units) == (3.0, 2)  # 2.0 + 1.0
    # the same two sequences packed in one padding-free row: positions restart at 0 where B begins
    packed_nll = torch.tensor([[2.0, 0.0, 1.0, 1.0, 1.0]])  # targets of tokens 1..5; token 2 starts B (no label)
    packed_mask = torch.tensor([[1, 0, 1, 1, 1]])
    loss, units = sequence_mean_sum(-packed_nll, packed_mask, {"position_ids": torch.tensor([[0, 1, 0, 1, 2, 3]])})
    assert (float(loss), units) == (3.0, 2)
