"""The training-method registry: what a method is, what it may be called, and one-line errors."""

from __future__ import annotations

import pytest

from sftlab.errors import ConfigError
from sftlab.train.config import TrainConfig
from sftlab.train.dpo import DpoConfig
from sftlab.train.grpo import GrpoConfig
from sftlab.train.methods import Method, get_method, load_method_module, method_names, register
from sftlab.train.sft import SftConfig


def _train(config, progress=True):
    return config.out


def test_the_built_in_methods_and_what_they_train_on():
    assert method_names()[:3] == ("sft", "grpo", "dpo")
    assert [(get_method(m).config, get_method(m).rows) for m in ("sft", "grpo", "dpo")] == [
        (SftConfig, "sft"), (GrpoConfig, "rl"), (DpoConfig, "pairs")]
    assert all(issubclass(get_method(m).config, TrainConfig) for m in method_names())


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "eval"}, "not one of the plan's step kinds"),
    ({"name": "My-Method"}, "lower-case letters"),
    ({"config": dict}, "config must be a TrainConfig subclass"),
    ({"rows": "demos"}, "unknown row kind 'demos'; choose one of: sft, rl, pairs"),
    ({"version": 0}, "version must be a positive integer"),
])
def test_a_malformed_method_is_refused_in_one_line(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Method(**{"name": "mine", "config": SftConfig, "train": _train, "rows": "sft", **kwargs})


def test_a_taken_name_and_an_empty_plugin_file_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="method name 'sft' is already taken"):
        register(Method("sft", SftConfig, _train, rows="sft"))
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(ConfigError, match="defines no method: set METHOD = Method"):
        load_method_module(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"method module .*broken.py failed to import: RuntimeError: boom"):
        load_method_module(broken)
    with pytest.raises(ConfigError, match="no such method module"):
        load_method_module(tmp_path / "missing.py")


def test_shared_fields_take_each_methods_defaults():
    sft, grpo, dpo = (cls(model="m", data="d", out="o") for cls in (SftConfig, GrpoConfig, DpoConfig))
    assert (sft.learning_rate, grpo.learning_rate, dpo.learning_rate) == (1e-5, 1e-6, 1e-6)
    assert (sft.schedule, grpo.schedule, dpo.schedule) == ("epoch", "log", "epoch")
    assert (sft.lr_scheduler, grpo.lr_scheduler) == ("cosine", "constant")
    assert GrpoConfig(model="m", data="d", out="o", learning_rate=3e-6).learning_rate == 3e-6  # given wins
    with pytest.raises(ConfigError, match="weight_decay must be >= 0"):
        DpoConfig(model="m", data="d", out="o", weight_decay=-1)
