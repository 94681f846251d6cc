import re

import pytest

from sftlab.data.builder import build_preset
from sftlab.demos.solver_cot import sokoban_cot
from sftlab.io import read_jsonl
from sftlab.task_adapters.sokoban_rows import trajectory
from sftlab.tasks.sokoban import SokobanGame, extract_answer, generate, parse_action
from sftlab.tasks.sokoban.render import render

LABELS = ("tree", "fox", "cup", "jade")


def test_sokoban_cot_answers_the_expert_action_and_its_plan_solves_the_puzzle():
    for seed in range(15):
        for dim, boxes in (((6, 6), 1), ((6, 6), 2)):
            puzzle = generate(dim=dim, num_boxes=boxes, seed=seed)
            for rows, plan in trajectory(puzzle.rows):
                text = sokoban_cot(rows, plan, LABELS)
                assert text.startswith("<think> ") and " </think> <answer> " in text
                assert parse_action(extract_answer(text), LABELS) == plan[0]
                written = re.search(r"Shortest plan from here \(\d+ moves?\): ([A-Za-z, ]+)\.", text).group(1)
                game = SokobanGame(rows, max_steps=100)
                for move in written.split(", "):
                    game.step(move)
                assert game.solved


def test_sokoban_cot_explains_the_push_onto_the_target():
    puzzle = generate(seed=7)
    states = trajectory(puzzle.rows)
    last_rows, last_plan = states[-1]
    text = sokoban_cot(last_rows, last_plan, ("Up", "Down", "Left", "Right"))
    assert "which solves the puzzle" in text
    assert "In this prompt's answers" not in text  # base labels need no translation


@pytest.mark.parametrize("board_copy", ["rows", "indexed-rows"])
def test_cot_board_copies_the_prompts_board_row_by_row_and_changes_nothing_else(tmp_path, board_copy):
    """`--option cot_board=rows` (or `indexed-rows`): the CoT first copies each board row, with its index, in the
    prompt's symbols (each after its column with `indexed-rows`); the rest of the CoT is unchanged."""
    plain = list(read_jsonl(build_preset("sokoban-cot", tmp_path / "plain", n=4, progress=False) / "train.jsonl"))
    copied = list(read_jsonl(build_preset("sokoban-cot", tmp_path / board_copy, n=4, progress=False,
                                          options={"cot_board": board_copy}) / "train.jsonl"))
    assert len(plain) == len(copied) > 4
    for before, after in zip(plain, copied, strict=True):
        assert after["prompt"] == before["prompt"] and after["answer"] == before["answer"]
        text = after["completion"][0]["content"]
        lines = [line for line in text.split("\n") if line.startswith("Row ")]
        assert [line.split(":")[0] for line in lines] == [f"Row {r}" for r in range(len(after["metadata"]["rows"]))]
        cells = [line.split(": ", 1)[1].split(" ") for line in lines]
        if board_copy == "indexed-rows":
            assert all(cell[:-1] == str(c) for row in cells for c, cell in enumerate(row))
        grid = "\n".join("".join(f" {cell[-1]} \t" for cell in row) for row in cells)
        assert grid == render(after["metadata"]["rows"])
        assert "\n".join(line for line in text.split("\n") if not line.startswith("Row ")) == \
            before["completion"][0]["content"]


def test_cot_board_squares_writes_each_cell_before_its_square_and_names_positions_as_in_the_copy(tmp_path):
    """`--option cot_board=squares`: the CoT copies the board as `P(3, 2)` cells, row by row, and names the player,
    boxes and targets with the symbol and square the copy shows; everything else is the default CoT's text."""
    plain = list(read_jsonl(build_preset("sokoban-cot", tmp_path / "plain", n=4, progress=False) / "train.jsonl"))
    squares = list(read_jsonl(build_preset("sokoban-cot", tmp_path / "squares", n=4, progress=False,
                                           options={"cot_board": "squares"}) / "train.jsonl"))
    assert len(plain) == len(squares) > 4
    cell = re.compile(r"(\S)\((\d+), (\d+)\)")
    for before, after in zip(plain, squares, strict=True):
        assert after["prompt"] == before["prompt"] and after["answer"] == before["answer"]
        rows = after["metadata"]["rows"]
        lines = after["completion"][0]["content"].split("\n")
        copy = lines[1:1 + len(rows)]
        cells = [cell.findall(line) for line in copy]
        assert [" ".join(f"{s}({r}, {c})" for s, r, c in row) for row in cells] == copy
        assert all((int(r), int(c)) == (i, j) for i, row in enumerate(cells) for j, (_, r, c) in enumerate(row))
        assert "\n".join("".join(f" {s} \t" for s, _, _ in row) for row in cells) == render(rows)
        shown = {(int(r), int(c)): s for row in cells for s, r, c in row}
        named = lines[1 + len(rows):4 + len(rows)]  # "I am at ...", "Box(es) at ...", "Target(s) at ..."
        for line in named:
            for s, r, c in cell.findall(line):
                assert shown[int(r), int(c)] == s
        assert {shown[int(r), int(c)] for r, c in [cell.search(named[0]).groups()[1:]]} <= {"P", "S"}
        unnamed = [cell.sub(r"(\2, \3)", line) for line in named]
        assert "\n".join(lines[:1] + unnamed + lines[4 + len(rows):]) == before["completion"][0]["content"]
