"""A tiny real study (tiny-random model, a few Sokoban puzzles, a few steps) shared by the end-to-end tests."""

import importlib

import pytest
import yaml

STAGES = ("sftlab.data", "sftlab.train.sft", "sftlab.train.runs", "sftlab.evaluate", "sftlab.analysis.report")


def require_stages():
    """Skip (naming the missing module) until every stage the plan calls is installed."""
    for name in STAGES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            pytest.skip(f"stage not available yet: {name} ({exc})")


def tiny_spec(max_steps: int = 2, schedule=None, temperature: float = 0.5) -> dict:
    sft = {"max_steps": max_steps, "global_batch": 2, "per_device_batch": 2, "max_length": 512,
           "learning_rate": 0.001}
    if schedule is not None:
        sft["schedule"] = schedule
    return {
        "name": "tiny",
        "hardware": "any CPU",
        "measured": "seconds",
        "task": "sokoban",
        "models": ["tiny-random"],
        "seeds": [1],
        "data": {"n": 2, "seed": 0},
        "conditions": [
            {"name": "fixed", "prompts": "fixed", "demo": "answer-only", "method": "sft"},
            {"name": "diverse", "prompts": "diverse", "demo": "answer-only", "method": "sft"},
        ],
        "train": {"sft": sft, "resources": {"cpus": 1}},
        "eval": {"suites": ["sokoban-eval"], "splits": ["SimpleSokoban", "FakeSokobanNumerical"],
                 "episodes": 2, "max_new_tokens": 6, "max_turns": 2, "temperature": temperature,
                 "checkpoints": "all", "baselines": ["base", "oracle", "random"]},
    }


@pytest.fixture
def write_spec(tmp_path):
    def write(raw: dict, name: str = "tiny.yaml"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return write
