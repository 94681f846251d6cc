"""Training methods on TRL: `sft` (supervised fine-tuning), `grpo` (RL) and `dpo` (preferences), in a registry.

- `sftlab.train.methods`: the method registry (`get_method`, `method_names`, `register`, plugins).
- `sftlab.train.config`: `TrainConfig`, the fields every method's config shares, and `LoraFields`.
- `sftlab.train.sft` / `grpo` / `dpo`: each method's config and train function, e.g. `train_sft(SftConfig(...))`.
- `sftlab.train.schedule`: `checkpoint_steps(schedule, total_steps, steps_per_epoch)`.
- `sftlab.train.runs`: `read_run`, `list_checkpoints` (step 0 = the base model), `read_log_history`.
- `sftlab.train.common`: the one training skeleton (`train_run`), the run folder, checkpoint-schedule callback,
  COMPLETE markers and JSONL log shared by the trainers (imports transformers; import it only inside training code).

Importing this package imports no torch.
"""
