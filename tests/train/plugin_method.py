"""A test-only training method, registered from a file (`--method-module`, the spec key `method_module`): plain
SFT on TRL's own SFTTrainer, with no recipe, written as a plugin writes one (a config on the shared fields, the
shared training skeleton, a Method)."""

from dataclasses import dataclass

from sftlab.settings import setting
from sftlab.train.config import TrainConfig
from sftlab.train.methods import Method


@dataclass(frozen=True)
class PlainSftConfig(TrainConfig):
    LABEL = "plain SFT"
    DEFAULTS = {"num_epochs": 1.0, "learning_rate": 1e-3, "lr_scheduler": "constant", "warmup_ratio": 0.0,
                "weight_decay": 0.0, "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
                "global_batch": 2, "schedule": "epoch"}

    max_length: int = setting(512, "Max tokens of prompt + completion.")


def train_plain_sft(config: PlainSftConfig, progress: bool = True):
    from sftlab.train import common
    from sftlab.train.config import check_device, trainer_args
    from sftlab.train.sft import load_sft_rows

    gpu = check_device(config)
    rows, manifest = load_sft_rows(config.data)
    per_device, accum = common.batch_plan(config.global_batch, config.per_device_batch, common.world_size())

    def build(run):
        import datasets
        from trl import SFTConfig, SFTTrainer

        from sftlab.models import load

        model, tokenizer = load(config.model, device="cpu", dtype="float32", for_training=True)
        args = SFTConfig(**trainer_args(config, run, per_device, accum, gpu, progress), max_length=config.max_length)
        return SFTTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list(rows),
                          processing_class=tokenizer)

    return common.train_run(config, kind="plain_sft", manifest=manifest, build=build, progress=progress,
                            describe=lambda trainer, steps: {"rows": len(rows), **steps},
                            summary=lambda plan: f"plain_sft: {plan['total_steps']} steps")


METHOD = Method("plain_sft", PlainSftConfig, train_plain_sft, rows="sft", help="Plain SFT (a test plugin).")
