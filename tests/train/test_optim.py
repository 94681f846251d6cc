"""The optimizer rules (`optimizer_rules: verl`, the originals') and pure bf16 (`precision: pure_bf16`, Rethinking)
on the real TRL trainers with the tiny model: decay groups, warmup rounding, skipped non-finite steps, bf16 states."""

from __future__ import annotations

import math

import pytest
import torch

from sftlab.train.grpo import GrpoConfig
from sftlab.train.sft import SftConfig, _build_trainer, train_sft

from .conftest import sokoban_rows, write_data_folder
from .test_recipes import CPU, _rows


def _trainer(tmp_path, name, **fields):
    config = SftConfig(out=str(tmp_path / name), **{**CPU, **fields})
    return _build_trainer(config, tmp_path / name, _rows(4), 2, 2, gpu=False, progress=False)


def _decayed(trainer) -> set[str]:
    optimizer = trainer.create_optimizer()
    ids = {id(p) for group in optimizer.param_groups if group["weight_decay"] > 0 for p in group["params"]}
    return {name for name, p in trainer.model.named_parameters() if id(p) in ids}


def test_paper_recipes_use_verls_rules_and_the_default_keeps_the_trainers():
    for recipe, rules in (("default", "transformers"), ("debunk", "verl"), ("rethinking", "verl")):
        assert SftConfig(model="m", data="d", out="o", recipe=recipe).optimizer_rules == rules
    assert GrpoConfig(model="m", data="d", out="o").optimizer_rules == "verl"
    # runs recorded before the field existed trained with the Trainer's rules: they resume
    assert "optimizer_rules" not in SftConfig(model="m", data="d", out="o").training_fields()
    assert SftConfig(model="m", data="d", out="o", recipe="debunk").training_fields()["optimizer_rules"] == "verl"


def test_verl_rules_decay_every_parameter_the_trainer_exempts_norms(tmp_path):
    verl = _trainer(tmp_path, "v", optimizer_rules="verl")
    hf = _trainer(tmp_path, "h", optimizer_rules="transformers")
    every = {name for name, p in verl.model.named_parameters() if p.requires_grad}
    assert _decayed(verl) == every
    exempt = every - _decayed(hf)
    assert exempt and all("norm" in name or "bias" in name for name in exempt)


@pytest.mark.parametrize(("rules", "warmup"), [("verl", 1), ("transformers", 2)])
def test_warmup_steps_round_down_under_verl_rules(tmp_path, rules, warmup):
    # 15 steps x warmup ratio 0.1 = 1.5 warmup steps: verl's int() gives 1, the Trainer's ceil 2
    trainer = _trainer(tmp_path, rules, optimizer_rules=rules, warmup_ratio=0.1)
    trainer.create_optimizer()
    scheduler = trainer.create_scheduler(15)
    factors = [scheduler.lr_lambdas[0](step) for step in range(3)]
    assert factors[warmup] == pytest.approx(1.0) and all(f < 1.0 for f in factors[:warmup])


@pytest.mark.parametrize("rules", ["verl", "transformers"])
def test_a_step_with_a_non_finite_gradient_norm_is_skipped_under_verl_rules(tmp_path, rules):
    trainer = _trainer(tmp_path, rules, optimizer_rules=rules)
    optimizer = trainer.create_optimizer()
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.full_like(p, 0.01)
    params[0].grad[0] = float("inf")
    norm = trainer._clip_grad_norm(trainer.model)
    assert not math.isfinite(float(norm))
    optimizer.step()
    unchanged = all(torch.equal(p, b) for p, b in zip(params, before, strict=True))
    if rules == "verl":
        assert unchanged and not optimizer.state and trainer.skipped_steps == 1  # no update, no moments
        for p in params:
            p.grad = torch.full_like(p, 0.01)
        trainer._clip_grad_norm(trainer.model)
        optimizer.step()  # a finite step after it updates as usual
        assert not torch.equal(params[1], before[1]) and optimizer.state
    else:
        assert not unchanged  # the Trainer steps anyway: the weights take the clipped non-finite gradient


def _one_small_step(trainer) -> float:
    """One AdamW step with the same gradient for every run; the share of weights it changed."""
    optimizer = trainer.create_optimizer()
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    generator = torch.Generator().manual_seed(0)
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator).to(p.dtype)
    optimizer.step()
    assert all(state["exp_avg"].dtype == trainer.model.dtype for state in optimizer.state.values())
    changed = sum(int((p != b).sum()) for p, b in zip(params, before, strict=True))
    return changed / sum(p.numel() for p in params)


def test_pure_bf16_keeps_weights_and_adam_states_in_bf16_and_loses_small_updates(tmp_path):
    # a late step of the Rethinking schedule: AdamW moves each weight by about lr = 1e-7, far below bf16's
    # resolution (~1e-4 for weights near 0.02): in pure bf16 almost nothing moves, with fp32 weights all do
    assert SftConfig(model="m", data="d", out="o", recipe="rethinking").precision == "pure_bf16"
    bf16 = _trainer(tmp_path, "b", precision="pure_bf16", learning_rate=1e-7)
    fp32 = _trainer(tmp_path, "f", precision="fp32", learning_rate=1e-7)
    assert bf16.model.dtype == torch.bfloat16 and fp32.model.dtype == torch.float32
    assert _one_small_step(bf16) < 0.05 < 0.99 < _one_small_step(fp32)


def test_a_pure_bf16_run_trains_and_saves_bf16_weights(tmp_path):
    data = write_data_folder(tmp_path / "data", sokoban_rows(1)[:2])
    run = train_sft(SftConfig(model="tiny-random", data=str(data), out=str(tmp_path / "run"), precision="pure_bf16",
                              global_batch=2, per_device_batch=2, max_length=512, max_steps=1, schedule=(1,)),
                    progress=False)
    from safetensors.torch import load_file

    weights = load_file(run / "checkpoints" / "checkpoint-1" / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
