import re

from sftlab.demos.solver_cot import sokoban_cot
from sftlab.task_adapters.sokoban_rows import trajectory
from sftlab.tasks.sokoban import SokobanGame, extract_answer, generate, parse_action

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
