"""A small real SFT data folder (Sokoban answer-only rows in the contract's shape) for the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftlab.io import write_jsonl, write_manifest
from sftlab.tasks.sokoban import SokobanGame, generate, render

INSTRUCTION = (
    "You are a Sokoban solver. # Wall | _ Floor | O Target | X Box | P You. Push every box onto a target.\n"
    "Answers: Up | Down | Left | Right\nThe current state is:\n"
)


def sokoban_rows(n_puzzles: int, first_seed: int = 42) -> list[dict]:
    """One row per state along each puzzle's optimal solution (horizon 1), like the Debunk SFT sets."""
    rows = []
    for seed in range(first_seed, first_seed + n_puzzles):
        puzzle = generate(dim=(6, 6), num_boxes=1, seed=seed)
        game = SokobanGame(puzzle.rows)
        for step, action in enumerate(puzzle.solution):
            rows.append({
                "id": f"test-sokoban-{seed}-{step}", "task": "sokoban", "split": "train", "variant": "fixed",
                "seed": seed,
                "prompt": [{"role": "user", "content": INSTRUCTION + render(game.rows)}],
                "completion": [{"role": "assistant", "content": f"<answer> {action} </answer>"}],
                "answer": action, "metadata": {"rows": list(game.rows), "step": step},
            })
            game.step(action)
    return rows


def write_data_folder(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", rows)
    write_manifest(folder, {"preset": "test-sokoban", "rows": len(rows)})
    return folder


@pytest.fixture(scope="session")
def sokoban_data(tmp_path_factory) -> Path:
    """A data folder with ~40 real Sokoban answer-only rows."""
    return write_data_folder(tmp_path_factory.mktemp("data") / "sokoban", sokoban_rows(12))
