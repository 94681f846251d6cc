"""Training stages on TRL: `sft` (supervised fine-tuning) and, beside it, `grpo` (RL).

- `sftlab.train.sft`: `SftConfig`, `train_sft(config) -> run folder`.
- `sftlab.train.schedule`: `checkpoint_steps(schedule, total_steps, steps_per_epoch)`.
- `sftlab.train.runs`: `read_run`, `list_checkpoints` (step 0 = the base model), `read_log_history`.
- `sftlab.train.common`: the run folder, checkpoint-schedule callback, COMPLETE markers and JSONL log shared by
  the trainers (imports transformers; import it only inside training code).

Importing this package imports no torch.
"""
