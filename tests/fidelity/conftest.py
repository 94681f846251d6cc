"""The original code's own outputs (tests/fixtures/original/README.md says how each file was produced)."""

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "original"


def load(name: str) -> list[dict]:
    """The rows of one fixture file."""
    with (FIXTURES / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def sokoban_metrics() -> list[dict]:
    return load("sokoban_metrics.jsonl")


@pytest.fixture(scope="session")
def sokoban_prompts() -> list[dict]:
    return load("sokoban_prompts.jsonl")


@pytest.fixture(scope="session")
def sokoban_rooms() -> list[dict]:
    return load("sokoban_rooms.jsonl")


@pytest.fixture(scope="session")
def gp_splits() -> list[dict]:
    return load("gp_splits.jsonl")


@pytest.fixture(scope="session")
def gp_rewards() -> list[dict]:
    return load("gp_rewards.jsonl")
