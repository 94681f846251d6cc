"""Closed-loop Sokoban: scoring of hand-written responses, the oracle's exact numbers, the random policy against a
direct simulation, invalid actions using up turns."""

from __future__ import annotations

import random

import pytest

from sftlab.backends import SamplingParams, derive_seed, get_backend
from sftlab.data.suites import suite_rows
from sftlab.evaluate import closed_loop
from sftlab.tasks.sokoban import EVAL_TAGS, SokobanGame, parse_action

BASE = ("Up", "Down", "Left", "Right")
NUMERIC = ("1", "2", "3", "4")
FAKE = "FakeSokobanNumerical"


@pytest.fixture(scope="module")
def rows():
    return suite_rows("sokoban-eval", n=3)


def _by(metrics):
    return {(m.split, m.metric): m for m in metrics}


@pytest.mark.parametrize("response, accepted, direction, verdict", [
    ("<think> go </think> <answer> Up </answer>", BASE, "Up", "valid"),
    ("<answer>  left\n</answer>", BASE, "Left", "valid"),           # stripped, case-insensitive
    ("<answer> 3 </answer>", NUMERIC, "Left", "valid"),
    ("<answer> Right </answer> <answer> Up </answer>", BASE, "Right", "valid"),  # the first answer counts
    ("<answer> Up Down </answer>", BASE, None, "invalid label"),       # two actions in one answer
    ("<answer> Up || Left </answer>", BASE, None, "invalid label"),    # one string, as in the original
    ("<answer> <think>Up</think> </answer>", BASE, "Up", "valid"),      # tags inside are stripped (original)
    ("<answer> UP<|im_end|></answer>", BASE, "Up", "valid"),
    (b"<answer> Up </answer>", BASE, None, "invalid: no <answer>"),    # not text: a scored failure
    (None, BASE, None, "invalid: no <answer>"),
    ("<answer> North </answer>", BASE, None, "invalid label"),
    ("<answer> 1 </answer>", BASE, None, "invalid label"),             # Fake: the prompt's 1 is not accepted
    ("<answer> Up </answer>", NUMERIC, None, "invalid label"),
    ("I would go up.", BASE, None, "invalid: no <answer>"),
    ("", BASE, None, "invalid: no <answer>"),
    ("<answer> Up", BASE, None, "invalid: no <answer>"),
    ("x" * 100_000, BASE, None, "invalid: no <answer>"),
    ("x" * 100_000 + "<answer>Down</answer>", BASE, "Down", "valid"),
])
def test_score_action_on_hand_written_responses(response, accepted, direction, verdict):
    _answer, got, text = closed_loop.score_action(response, accepted)
    assert (got, text) == (direction, verdict)


def test_fake_accepts_only_base_words(rows):
    fake = next(r for r in rows if r["split"] == FAKE)
    accepted = fake["metadata"]["accepted"]
    assert tuple(accepted) == BASE and tuple(fake["metadata"]["labels"]) == NUMERIC
    for label in NUMERIC:
        assert closed_loop.score_action(f"<answer> {label} </answer>", accepted)[1] is None
    for word in BASE:
        assert closed_loop.score_action(f"<answer> {word} </answer>", accepted)[1] == word


def test_oracle_exact_numbers(rows):
    units = closed_loop.play(get_backend("oracle"), rows, SamplingParams(), seed=0)
    m = _by(closed_loop.aggregate(units, EVAL_TAGS))
    for tag in EVAL_TAGS:
        mine = [r for r in rows if r["split"] == tag]
        if tag == FAKE:
            # The oracle answers in the prompt's labels (1-4); the Fake env accepts only base words: every turn is
            # invalid, nothing moves, and all 30 turns are used.
            # The original leaves such episodes out of its validity/effectiveness means: no paper value at all.
            assert (m[tag, "success"].value, m[tag, "validity_all_episodes"].value,
                    m[tag, "effectiveness_all_episodes"].value) == (0, 0, 0)
            assert (tag, "action_is_valid") not in m and (tag, "action_is_effective") not in m
            assert m[tag, "turns"].value == 30 and m[tag, "num_actions"].value == 0
            assert (tag, "efficiency") not in m
        else:
            assert (m[tag, "success"].value, m[tag, "action_is_valid"].value, m[tag, "action_is_effective"].value,
                    m[tag, "validity_all_episodes"].value, m[tag, "effectiveness_all_episodes"].value) == (1,) * 5
            assert m[tag, "efficiency"].value == 1.0  # optimal play
            assert m[tag, "num_actions"].value == sum(len(r["answer"]) for r in mine) / len(mine)
            assert m[tag, "turns"].value == m[tag, "num_actions"].value
        assert m[tag, "success"].n == 3


def test_invalid_actions_use_up_turns(rows):
    fake = [r for r in rows if r["split"] == FAKE]
    units = closed_loop.play(get_backend("oracle"), fake, SamplingParams(), seed=0, max_turns=7)
    for unit in units:
        assert unit["summary"]["turns"] == 7 and unit["summary"]["valid"] == 0
        assert [r["verdict"] for r in unit["records"]] == ["invalid label"] * 7
        # no move was made: every prompt shows the initial grid
        assert len({r["prompt"] for r in unit["records"]}) == 1


def test_random_policy_matches_a_direct_simulation(rows):
    seed = 5
    units = closed_loop.play(get_backend("random"), rows, SamplingParams(seed=seed), seed=seed)
    m = _by(closed_loop.aggregate(units, EVAL_TAGS))
    for tag in EVAL_TAGS:
        assert m[tag, "action_is_valid"].value == m[tag, "validity_all_episodes"].value == 1.0
    for row, unit in zip(rows, units, strict=True):
        accepted = row["metadata"]["accepted"]
        game = SokobanGame(row["metadata"]["rows"])
        turns = 0
        for turn in range(30):
            rng = random.Random(derive_seed(derive_seed(seed, row["id"], turn), 0))  # prompt seed -> sample 0
            game.step(parse_action(rng.choice(list(accepted)), accepted))
            turns += 1
            if game.solved or game.done:
                break
        assert (unit["summary"]["solved"], unit["summary"]["turns"]) == (game.solved, turns)
    solved = sum(u["summary"]["solved"] for u in units)
    assert 0 < solved < len(units)  # the simulation is not trivially all-or-nothing


def test_episode_trajectory_does_not_depend_on_its_neighbours(rows):
    backend = get_backend("random")
    alone = closed_loop.play(backend, rows[:1], SamplingParams(), seed=1)
    together = closed_loop.play(backend, rows, SamplingParams(), seed=1)
    assert alone[0] == together[0]
    skipped = closed_loop.play(backend, rows, SamplingParams(), seed=1, skip=frozenset({rows[0]["id"]}))
    assert [u["id"] for u in skipped] == [r["id"] for r in rows[1:]]
    assert skipped == together[1:]


def _script(rows, moves):
    from sftlab.backends.policies import ScriptedBackend

    row = {"id": "r", "task": "sokoban", "split": "SimpleSokoban", "answer": None,
           "metadata": {"rows": list(rows), "max_steps": 30}}
    backend = ScriptedBackend({"r": [f"<answer> {m} </answer>" for m in moves]})
    return closed_loop.play(backend, [row], SamplingParams(), seed=0, max_turns=len(moves))


def test_optimal_action_rate_scores_each_turn_against_a_shortest_solution():
    # Player, box and goal in a row: Right, Right solves it. Up leaves the shortest path, Down returns to it (one
    # move closer from where it was played), Left bumps a wall (no move), "Sideways" is not a label.
    rows = ("######", "#    #", "#@$ .#", "######")
    [unit] = _script(rows, ["Up", "Down", "Left", "Sideways", "Right", "Right"])
    assert [r["optimal"] for r in unit["records"]] == [False, True, False, False, True, True]
    assert [r["training_word"] for r in unit["records"]] == [True, True, True, False, True, True]
    assert unit["summary"]["solved"]
    m = _by(closed_loop.aggregate([unit], ["SimpleSokoban"]))
    assert m["SimpleSokoban", "optimal_action_rate"].value == 3 / 6 and m["SimpleSokoban", "optimal_action_rate"].n == 6
    assert m["SimpleSokoban", "training_word_rate"].value == 5 / 6


def test_a_push_into_a_dead_corner_is_not_optimal_and_nothing_after_it_is():
    rows = ("#####", "#   #", "# $ #", "#@  #", "#  .#", "#####")
    # Up, Right start the shortest solution; Down and Right step off it; the next Up pushes the box into the top
    # right corner, where it can never reach the goal: from there no move is optimal.
    [unit] = _script(rows, ["Up", "Right", "Down", "Right", "Up", "Left"])
    assert [r["optimal"] for r in unit["records"]] == [True, True, False, False, False, False]
    assert unit["records"][4]["effective"] and not unit["summary"]["solved"]


def test_the_oracle_plays_only_optimal_actions_and_answers_in_the_prompt_labels(rows):
    units = closed_loop.play(get_backend("oracle"), rows, SamplingParams(), seed=0)
    m = _by(closed_loop.aggregate(units, EVAL_TAGS))
    for tag in EVAL_TAGS:
        labels = next(r for r in rows if r["split"] == tag)["metadata"]["labels"]
        assert m[tag, "optimal_action_rate"].value == (0 if tag == FAKE else 1), tag
        assert m[tag, "training_word_rate"].value == (1 if tuple(labels) == BASE else 0), tag
        assert m[tag, "optimal_action_rate"].n == sum(u["summary"]["turns"] for u in units if u["split"] == tag)


def test_episodes_logged_before_the_per_turn_metrics_give_no_per_turn_numbers(rows):
    """A resumed evaluation may mix episodes from an older partial log (no per-turn counts) with new ones: the
    tag then gets no optimal_action_rate / training_word_rate rather than one that counts the old turns as 0."""
    ids = [r for r in rows if r["split"] == "SimpleSokoban"]
    units = closed_loop.play(get_backend("oracle"), ids, SamplingParams(), seed=0)
    for key in ("optimal_actions", "training_words"):
        del units[0]["summary"][key]
    metrics = {m.metric for m in closed_loop.aggregate(units, ["SimpleSokoban"])}
    assert "success" in metrics and not {"optimal_action_rate", "training_word_rate"} & metrics
