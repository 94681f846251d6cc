"""The SFT recipes: named sets of the training choices each paper's original scripts made (no torch imported here).

`SftConfig(recipe=...)` fills every recipe field the caller left unset (None) from `SFT_RECIPES[recipe]`; a field
given explicitly always wins. docs/training.md explains each value and docs/fidelity.md ("Training recipes and losses") cites the script.

- `default`: sftlab's defaults since the first release: the Debunk hyper-parameters with TRL's loss normalisation
  and a 2048-token limit, so runs and measured results from before recipes existed train exactly as before.
- `debunk`: the Debunk original (XiaofengLin7/debunking-sft-generalization@077d4cf,
  `debunk_sft/trainer/fsdp_sft_trainer.py`, `scripts/*/*_train_and_eval.sh`).
- `rethinking`: the Rethinking original (Nebularaid2000/rethink_sft_generalization,
  `training_scripts/Qwen3-14B_*_lr5e-5_ep8_bs256.sh`, `verl/trainer/fsdp_sft_trainer_ours.py`,
  `verl/utils/dataset/sft_dataset.py::OurSFTDataset`).
"""

from __future__ import annotations

# How the per-token cross-entropy becomes the loss that is backpropagated (docs/training.md has a worked example).
LOSS_NORMALIZATIONS = ("batch_token_mean", "sequence_mean_sum", "microbatch_mean_sum")
# How a completion ends in the training sequence.
COMPLETION_ENDS = ("chat_template", "eos")
# Weight decay, warmup rounding and non-finite gradients: the transformers Trainer's or verl's (sftlab.train.optim).
OPTIMIZER_RULES = ("transformers", "verl")
# fp32: fp32 weights and AdamW states (with --bf16, bf16 autocast); pure_bf16: weights, gradients and AdamW states
# in bf16, as verl's `model.fsdp_config.model_dtype=bf16`.
PRECISIONS = ("fp32", "pure_bf16")

_DEFAULT = {
    "num_epochs": 5,
    "learning_rate": 1e-5,
    "adam_beta1": 0.9,
    "adam_beta2": 0.95,
    "weight_decay": 0.01,
    "lr_scheduler": "cosine",
    "warmup_ratio": 0.1,
    "max_grad_norm": 1.0,
    "global_batch": 128,
    "per_device_batch": None,  # auto: the largest divisor of the per-process share <= 8
    "max_length": 2048,
    "schedule": "epoch",
    "loss_normalization": "batch_token_mean",
    "shuffle": True,
    "completion_end": "chat_template",
    "optimizer_rules": "transformers",
    "precision": "fp32",
}

SFT_RECIPES: dict[str, dict] = {
    "default": _DEFAULT,
    "debunk": {
        **_DEFAULT,
        # data.max_length=5000 with truncation "error" in the original; sftlab truncates the end instead
        "max_length": 5000,
        # verl, micro-batch 1: each sequence's token-mean is backpropagated on its own, no 1/accumulation factor
        "loss_normalization": "sequence_mean_sum",
        # the verl fork's SFTDataset: `response + tokenizer.eos_token`, the model's raw EOS (<|endoftext|> for a
        # Qwen2.5 base model), not the chat template's end of turn
        "completion_end": "eos",
        "optimizer_rules": "verl",  # AdamW over all parameters, int() warmup, non-finite gradient steps skipped
    },
    "rethinking": {
        "num_epochs": 8,
        "learning_rate": 5e-5,
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,  # optim.betas="[0.9,0.999]"
        "weight_decay": 0.01,
        "lr_scheduler": "cosine",
        "warmup_ratio": 0.1,
        "max_grad_norm": 1.0,
        "global_batch": 256,
        "per_device_batch": 4,  # micro_batch_size_per_gpu=4: the unit of the loss below
        "max_length": 20000,  # truncation=right
        "schedule": "log",  # save_freq=10; the paper evaluates 10, 20, 40 ... 640 of a 640-step run
        "loss_normalization": "microbatch_mean_sum",  # loss_agg_mode=token-mean per micro-batch, summed
        "shuffle": False,  # data.shuffle_train=False
        "completion_end": "eos",  # OurSFTDataset: response ids + tokenizer.eos_token_id, no chat-template end
        "optimizer_rules": "verl",
        "precision": "pure_bf16",  # model.fsdp_config.model_dtype=bf16 in every script
    },
}

RECIPE_FIELDS = tuple(_DEFAULT)
