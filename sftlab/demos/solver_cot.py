"""Solver chains of thought: an algorithmic scaffold written from the solver's state.

Sokoban: where the player, the boxes and the targets are, the remaining shortest plan, why the next action (it
pushes a box onto a target / pushes a box along / walks the player into position for the next push), then the
action in the prompt's own labels. `board_copy="rows"` first copies each board row out with its index, so that a
square's row can be read off the model's own text rather than counted over the prompt's lines; `"indexed-rows"`
also writes each cell after its column; `"squares"` writes each cell before its whole square, `P(3, 2)`, and names
the player, boxes and targets the same way, so that a square is copied from the copy (an induction-style lookup)
rather than counted (docs/results-cpu.md measures each). General Points: the face-card values,
a backtracking search over partial results (see search_cot), the check, then the JSON answer.

Each builder returns the completion text. It is right by construction (written from the optimal plan or from the
exhaustive search); the data builder still re-verifies every completion with the task's own verifier.
"""

from __future__ import annotations

import random
from functools import partial

from sftlab.demos.answer_only import gp_json
from sftlab.demos.search_cot import Trace, search_trace
from sftlab.tasks.sokoban import DIRECTIONS, SokobanGame
from sftlab.tasks.sokoban.render import XSB_TO_SYMBOL
from sftlab.tasks.sokoban.xsb import parse_board


def _cell(rc) -> str:
    return f"({rc[0]}, {rc[1]})"


def _cells(cells, name=_cell) -> str:
    return ", ".join(name(c) for c in sorted(cells))


BOARD_COPIES = ("positions", "rows", "indexed-rows", "squares")


def board_copy_lines(rows, board_copy: str) -> list[str]:
    """The lines a CoT with `board_copy` (BOARD_COPIES) writes to copy the board `rows` (XSB) out: none for
    "positions"; `Row 4: # _ P # # #` (the prompt's symbols) per row for "rows"; `Row 4: 0# 1_ 2P 3# 4# 5#`, each
    cell after its column, for "indexed-rows"; `#(4, 0) _(4, 1) P(4, 2) ...`, each cell before its square, for
    "squares"."""
    if board_copy == "positions":
        return []
    if board_copy == "squares":
        return [" ".join(_symbol_square(rows, (r, c)) for c in range(len(row))) for r, row in enumerate(rows)]
    index = "{c}" if board_copy == "indexed-rows" else ""
    return [f"Row {r}: " + " ".join(index.format(c=c) + XSB_TO_SYMBOL[ch] for c, ch in enumerate(row))
            for r, row in enumerate(rows)]


def _symbol_square(rows, rc) -> str:
    return XSB_TO_SYMBOL[rows[rc[0]][rc[1]]] + _cell(rc)


def sokoban_cot(rows, plan, labels, board_copy: str = "positions") -> str:
    """The solver CoT for the position `rows` whose remaining shortest plan is `plan` (base directions).

    `labels` are the prompt's 4 labels in Up, Down, Left, Right order; the answer is written in them.
    `board_copy` (BOARD_COPIES) says how the board is copied out before the positions (`board_copy_lines`);
    with "squares" each position is also written after its symbol, as in the copy (`I am at P(3, 2).`).
    """
    if not plan:
        raise ValueError("a solved position has no next action")
    board = parse_board(rows)
    to_label = dict(zip(DIRECTIONS, labels, strict=True))
    boxes_off = board.boxes - board.goals
    square = partial(_symbol_square, rows) if board_copy == "squares" else _cell
    lines = [
        "Positions are (row, column), counting from 0 at the top-left.",
        *board_copy_lines(rows, board_copy),
        f"I am at {square(board.player)}.",
        f"Box{'es' if len(board.boxes) > 1 else ''} at {_cells(board.boxes, square)}"
        + (f", {len(board.boxes & board.goals)} already on a target." if board.boxes & board.goals else "."),
        f"Target{'s' if len(board.goals) > 1 else ''} at {_cells(board.goals, square)}.",
        f"{len(boxes_off)} box{'es' if len(boxes_off) != 1 else ''} still to place.",
        f"Shortest plan from here ({len(plan)} move{'s' if len(plan) != 1 else ''}): {', '.join(plan)}.",
    ]
    lines.append(_why(SokobanGame, board, plan))
    action = plan[0]
    label = to_label[action]
    if label != action:
        lines.append(f"In this prompt's answers, {action} is {label}.")
    return "<think> " + "\n".join(lines) + f" </think> <answer> {label} </answer>"


def _why(game_cls, board, plan) -> str:
    """One sentence on why the first move of `plan` is the right one, from replaying the plan."""
    game = game_cls(board.to_rows(), max_steps=max(30, len(plan) + 1))
    action = plan[0]
    before = board.boxes
    result = game.step(action)
    after = parse_board(game.rows).boxes
    if result.pushed:
        moved_from, moved_to = next(iter(before - after)), next(iter(after - before))
        if game.solved:
            return (f"Next: {action}. It pushes the box from {_cell(moved_from)} to {_cell(moved_to)}, "
                    f"onto the last target, which solves the puzzle.")
        if moved_to in board.goals:
            return (f"Next: {action}. It pushes the box from {_cell(moved_from)} onto the target at "
                    f"{_cell(moved_to)}.")
        return (f"Next: {action}. It pushes the box from {_cell(moved_from)} to {_cell(moved_to)}, "
                f"towards a target.")
    # A walking move: find the next push in the plan.
    for k, later in enumerate(plan[1:], start=1):
        if game.step(later).pushed:
            box = next(iter(after - parse_board(game.rows).boxes))
            return (f"Next: {action}. It walks me towards the box at {_cell(box)}: after {k} more "
                    f"move{'s' if k != 1 else ''} I can push it {later}.")
    return f"Next: {action}, the first move of the plan."


def _face_card_sentence(cards, numbers, mapping_values: dict) -> str:
    faces = [c for c in ("J", "Q", "K") if c in mapping_values]
    rule = ", ".join(f"{c} counts as {mapping_values[c]}" for c in faces)
    shown = ", ".join(str(c) for c in cards)
    values = ", ".join(str(n) for n in numbers)
    return f"The cards are {shown}. Here {rule}, and A counts as 1. So the numbers are {values}."


def gp_cot(cards, numbers, mapping_values: dict, target: int, rng: random.Random, dead_ends: int = 2) -> str | None:
    """The General Points solver CoT: face-card values, a backtracking search, the check, then the JSON answer.

    Returns None when `numbers` cannot make `target` (callers deal only solvable hands).
    """
    trace = search_trace(numbers, target, rng=rng, dead_ends=dead_ends, use_all=True)
    if trace is None:
        return None
    return gp_cot_text(cards, numbers, mapping_values, trace)


def gp_cot_text(cards, numbers, mapping_values: dict, trace: Trace) -> str:
    """Format a General Points search trace as a completion: `<think> ... </think>` then the JSON answer."""
    think = _face_card_sentence(cards, numbers, mapping_values) + "\n" + trace.text
    return f"<think>\n{think}\n</think>\n\n" + gp_json(cards, numbers, trace.expression)
