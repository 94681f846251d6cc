"""TRL's SFTTrainer with the papers' loss normalisations, and the raw-EOS tokenization of the Rethinking original.

This module imports trl at the top: import it only inside the functions that train.

Loss modes (`sftlab.train.recipes.LOSS_NORMALIZATIONS`), for the per-token cross-entropy l of the completion tokens:

- `batch_token_mean` (TRL): sum(l) / (completion tokens of the whole accumulated batch of every process). TRL passes
  that count as `num_items_in_batch`; the Trainer then does not divide by the accumulation steps.
- `microbatch_mean_sum` (Rethinking): each micro-batch backpropagates sum(l) / (its own completion tokens), with no
  1/accumulation factor, so the step's gradient is the sum of the micro-batch means (verl's `token-mean` with a
  `loss.backward()` per micro-batch, the division by the micro-batch count applied only to the logged value).
- `sequence_mean_sum` (Debunk): each micro-batch backpropagates the sum over its sequences of each sequence's own
  token-mean, no 1/accumulation factor: the same gradient verl computes with micro-batch 1, whatever the micro-batch.

In every mode DDP/FSDP averages the gradients of the processes, as verl's FSDP does, and clipping comes after.
The logged `loss` is always a mean (per token, per micro-batch or per sequence), comparable across modes.
"""

from __future__ import annotations

import contextlib

import torch
import trl.trainer.utils as trl_utils
from trl import SFTTrainer

from sftlab.errors import DataError
from sftlab.train.optim import VerlOptimizerRules


class NormalizedSFTTrainer(VerlOptimizerRules, SFTTrainer):
    """`SFTTrainer` whose training loss is normalised per `loss_normalization` (module docstring), with the
    Trainer's or verl's `optimizer_rules` (`sftlab.train.optim`)."""

    def __init__(self, *args, loss_normalization: str = "batch_token_mean", optimizer_rules: str = "transformers",
                 **kwargs):
        self.optimizer_rules = optimizer_rules
        super().__init__(*args, **kwargs)
        self.loss_normalization = loss_normalization
        if loss_normalization != "batch_token_mean":
            # Tell the Trainer the loss is final: it must not divide it by the gradient accumulation steps.
            self.loss_is_scaled_for_ga = True
        self._units = 1  # sequences (or micro-batches) summed into the last micro-batch's loss, for the logged mean

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The loss `training_step` backpropagates for one micro-batch, per `loss_normalization`."""
        with labelled_positions_only():
            return self._normalized_loss(model, inputs, return_outputs, num_items_in_batch)

    def _normalized_loss(self, model, inputs, return_outputs, num_items_in_batch):
        if self.loss_normalization == "batch_token_mean" or return_outputs or not self.model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self.loss_normalization == "microbatch_mean_sum":
            self._units = 1
            # Without num_items_in_batch, TRL divides by this micro-batch's own completion tokens and does not
            # multiply by the process count: exactly the micro-batch token-mean.
            return super().compute_loss(model, inputs, False, None)
        # sequence_mean_sum: TRL runs the forward and records its metrics; its loss is replaced by the per-sequence
        # one, built from the same per-token log-probabilities (captured, so nothing is computed twice).
        captured = []

        def forward(*args, **kwargs):
            captured.append(model(*args, **kwargs))
            return captured[-1]

        super().compute_loss(forward, inputs, False, None)
        outputs = captured[-1]
        loss, self._units = sequence_mean_sum(outputs.log_probs, outputs.label_mask, inputs)
        return loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        """Backpropagate one micro-batch; return the value to log: the mean per token, micro-batch or sequence."""
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self.loss_normalization == "batch_token_mean":
            return loss
        return loss / (max(self._units, 1) * self.current_gradient_accumulation_steps)


@contextlib.contextmanager
def labelled_positions_only():
    """Within this block TRL's fused LM head scores only the positions that have a label (the completion tokens),
    on every device.

    TRL projects only those positions on Triton devices (CUDA, XPU); elsewhere it scores every position against the
    whole vocabulary, forward and again in its backward, and zeroes the prompt's results afterwards, to keep tile
    shapes fixed for compilers such as Neuron's. On CPU that cost a fifth of an SFT step of SmolLM2-135M on
    prompt-heavy rows (a Sokoban answer-only row is 346 prompt and 15 completion tokens; the LM head is a fifth of
    the model's FLOPs). The loss, its gradient, the entropy and the token accuracy are the same, position by
    position: the skipped positions were zeroed. A TRL without this switch is left as it is.
    """
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        yield
        return
    trl_utils._use_triton = lambda device: True
    try:
        yield
    finally:
        trl_utils._use_triton = original


def sequence_mean_sum(log_probs: torch.Tensor, label_mask: torch.Tensor, inputs: dict) -> tuple[torch.Tensor, int]:
    """Sum over the sequences of a micro-batch of each sequence's mean completion-token NLL, and the sequence count.

    `log_probs`/`label_mask` are aligned with the next-token targets (`(rows, length - 1)`). In a padding-free or
    packed batch several sequences share a row; they are told apart by their positions restarting at 0.
    """
    rows, width = label_mask.shape
    if "attention_mask" not in inputs and "position_ids" in inputs:
        # the target at t is token t + 1; a sequence's first token has position 0
        segment = (inputs["position_ids"] == 0).long().cumsum(-1)[:, 1:]
    else:
        segment = torch.zeros_like(label_mask, dtype=torch.long)
    segment = segment + torch.arange(rows, device=segment.device).unsqueeze(1) * (width + 1)
    mask = label_mask.bool()
    ids = segment[mask]
    _, ids = torch.unique(ids, return_inverse=True)
    n = int(ids.max()) + 1 if ids.numel() else 0
    nll = -log_probs[mask]
    sums = torch.zeros(n, dtype=nll.dtype, device=nll.device).index_add(0, ids, nll)
    counts = torch.zeros(n, dtype=nll.dtype, device=nll.device).index_add(0, ids, torch.ones_like(nll))
    if n == 0:
        return log_probs.sum() * 0.0, 0  # no completion token: a zero loss that keeps the graph
    return (sums / counts).sum(), n


def tokenize_raw_eos(rows: list[dict], tokenizer) -> list[dict]:
    """`{input_ids, completion_mask}` rows in the Rethinking original's shape: the prompt rendered by the chat
    template with the generation prompt, then the completion text's tokens and the tokenizer's raw EOS token id
    (verl `OurSFTDataset`), instead of the template's own end of the assistant turn.

    Each row's completion must be exactly one assistant message; anything else is a DataError.
    """
    if tokenizer.eos_token_id is None:
        raise DataError("completion_end eos needs a tokenizer with an EOS token")
    out = []
    for number, row in enumerate(rows, start=1):
        completion = row["completion"]
        if len(completion) != 1 or completion[0].get("role") != "assistant":
            raise DataError(f"row {number}: completion_end eos needs exactly one assistant message per completion")
        prompt_text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        completion_ids = tokenizer(completion[0]["content"], add_special_tokens=False)["input_ids"]
        completion_ids = [*completion_ids, tokenizer.eos_token_id]
        out.append({"input_ids": prompt_ids + completion_ids,
                    "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids)})
    return out
