"""verl's optimizer rules on a transformers Trainer (`optimizer_rules: verl`), the ones both originals train with.

The transformers Trainer and verl's FSDP trainers differ in three small ways; `VerlOptimizerRules` gives a
Trainer subclass verl's behaviour (docs/training.md, "Optimizer rules"):

- weight decay on every parameter (verl builds `AdamW(model.parameters(), weight_decay=wd)`); the Trainer exempts
  biases and normalisation weights;
- warmup steps `int(ratio x total)`, rounded down (the Trainer rounds up with `ceil`);
- an optimizer step whose (pre-clip) gradient norm is not finite is skipped: no AdamW update, no moment or step
  count change; the learning-rate schedule still advances (verl steps its scheduler every step).

This module imports torch only inside its methods.
"""

from __future__ import annotations

import math
import types

OPTIMIZER_RULES_VERL = "verl"


class VerlOptimizerRules:
    """A Trainer mixin: verl's optimizer rules when `self.optimizer_rules == "verl"`, the Trainer's otherwise.

    Put it before the Trainer class in the bases and set `optimizer_rules` before training starts.
    """

    optimizer_rules = "transformers"
    skipped_steps = 0  # optimizer steps skipped for a non-finite gradient norm (verl rules)

    def get_decay_parameter_names(self, model) -> list[str]:
        """Every parameter's name under verl's rules (all decay), else the Trainer's choice."""
        if self.optimizer_rules != OPTIMIZER_RULES_VERL:
            return super().get_decay_parameter_names(model)
        return [name for name, _ in model.named_parameters()]

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """The Trainer's scheduler, with verl's `int()` warmup steps under verl's rules."""
        if self.optimizer_rules == OPTIMIZER_RULES_VERL and 0 < self.args.warmup_steps < 1:
            self.args.warmup_steps = int(num_training_steps * self.args.warmup_steps)  # an absolute count now
        return super().create_scheduler(num_training_steps, optimizer)

    def create_optimizer(self, model=None):
        """The Trainer's AdamW; under verl's rules its `step` does nothing after a non-finite gradient norm."""
        optimizer = super().create_optimizer(model)
        if self.optimizer_rules == OPTIMIZER_RULES_VERL and not getattr(optimizer, "_sftlab_skips", False):
            step = optimizer.step
            trainer = self

            def guarded_step(_optimizer, *args, **kwargs):
                if trainer._last_grad_norm_finite:
                    return step(*args, **kwargs)
                trainer.skipped_steps += 1
                return None

            # a bound method, as torch's LR schedulers expect of `optimizer.step` (they wrap it)
            optimizer.step = types.MethodType(guarded_step, optimizer)
            optimizer._sftlab_skips = True
        return optimizer

    _last_grad_norm_finite = True

    def _clip_grad_norm(self, model):
        norm = super()._clip_grad_norm(model)
        if self.optimizer_rules == OPTIMIZER_RULES_VERL:
            value = float(norm.item() if hasattr(norm, "item") else norm)
            self._last_grad_norm_finite = math.isfinite(value)
        return norm
