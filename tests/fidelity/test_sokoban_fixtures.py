"""Sokoban rooms, BFS labels, eval and training prompts and answer-only completions against the original's outputs.

The one remaining room mismatch class is counted (docs/fidelity.md): seeds whose first generation attempt raised
in the original, whose retry seed comes from Python's per-process salted `hash()`.
"""

import pytest

from sftlab.demos.answer_only import sokoban_answer_only
from sftlab.prompts.sokoban import raw_prompt
from sftlab.task_adapters.sokoban_rows import trajectory
from sftlab.tasks.sokoban import generate, get_variant, solve

HASH_SALTED_RETRIES = 1  # docs/fidelity.md: "rooms", deliberate difference


def test_every_reproducible_room_and_bfs_path_is_the_originals(sokoban_rooms):
    ok = [r for r in sokoban_rooms if r["status"] == "ok"]
    raised = [r for r in sokoban_rooms if r["status"] == "raised"]
    assert len(ok) == 449 and len(raised) == HASH_SALTED_RETRIES
    for r in ok:
        puzzle = generate(dim=tuple(r["dim"]), num_boxes=r["num_boxes"], seed=r["seed"], search_depth=30)
        assert list(puzzle.rows) == r["rows"], r["seed"]
        assert list(puzzle.solution) == r["bfs"], r["seed"]
        assert puzzle.attempt == 0
        assert solve(tuple(r["rows"]), 30) == r["bfs"]


def test_a_hash_salted_retry_room_differs_but_is_valid(sokoban_rooms):
    for r in (r for r in sokoban_rooms if r["status"] == "raised"):
        puzzle = generate(dim=tuple(r["dim"]), num_boxes=r["num_boxes"], seed=r["seed"], search_depth=30)
        assert puzzle.attempt > 0 and puzzle.solution  # ours: a reproducible retry seed, always solvable


def test_training_labels_follow_the_originals_initial_bfs_path(sokoban_rooms):
    """The original labels state k of a puzzle with action k of the initial BFS path; we re-solve each state.
    Both give the same label on every state of all 449 rooms."""
    for r in (r for r in sokoban_rooms if r["status"] == "ok"):
        assert [plan[0] for _state, plan in trajectory(tuple(r["rows"]))] == r["bfs"], r["seed"]


@pytest.mark.parametrize("protocol", ["paper", "clean"])
def test_eval_prompts_are_the_originals_byte_for_byte(sokoban_prompts, protocol):
    evals = [r for r in sokoban_prompts if r["kind"] == "eval"]
    assert len(evals) == 8
    for r in evals:
        v = get_variant(r["tag"])
        assert tuple(r["parse_action_lookup"][k] for k in "1234") == v.accepted_labels
        got = raw_prompt(r["rows"], v.prompt_labels, v.where_line, protocol=protocol)
        if protocol == "paper":
            assert got == r["prompt"], r["tag"]
        else:  # exactly the one stray byte less
            assert got == r["prompt"].replace("Decide the next action:\\\n", "Decide the next action:\n")
            assert len(got) == len(r["prompt"]) - 1


def test_training_prompts_are_the_originals_byte_for_byte(sokoban_prompts):
    trains = [r for r in sokoban_prompts if r["kind"] == "train"]
    assert len(trains) == 20
    for r in trains:
        if r["dataset"] == "diverse_answer_only":
            got = raw_prompt(r["rows"], r["words"], where_line=True)
        elif r["dataset"] == "fixed_answer_only_prefix_variant":
            got = raw_prompt(r["rows"], answer_only=True)
        else:
            got = raw_prompt(r["rows"])
        assert got == r["prompt"], (r["dataset"], r["row"])
        assert "\\" not in r["prompt"]  # no stray backslash in training prompts


def test_answer_only_completions_are_the_originals(sokoban_prompts):
    """Our chat prompts cannot prefill `<think>`, so the completion carries it: `<think>` + the original's
    response, byte for byte (its trailing newline included)."""
    for r in sokoban_prompts:
        if r.get("dataset") == "fixed_answer_only":
            assert "<think>" + r["response"] == sokoban_answer_only(r["label"][0])
        elif r.get("dataset") == "diverse_answer_only":
            word = r["words"][("Up", "Down", "Left", "Right").index(r["label"][0])]
            assert "<think>" + r["response"] == sokoban_answer_only(word)
        elif r.get("dataset", "").endswith(("HEAD_converter", "prefix_variant")):
            assert r["response"] == f"{r['label'][0]} </answer>\n"  # the HEAD converter's answer-only form


def test_built_training_rows_match_the_originals(sokoban_prompts, tmp_path):
    """`sftlab data build sokoban-answer-only --paper-seeds`: its first rows are the original's rows 0..4 (state,
    label, prompt text inside the chat wrapper, completion)."""
    from sftlab.data.builder import build, load_rows
    from sftlab.data.presets import BuildConfig

    build(BuildConfig("sokoban-answer-only", n=2, paper_seeds=True, allow_overlap=True), tmp_path / "d",
          progress=False)
    rows = load_rows(tmp_path / "d")
    originals = [r for r in sokoban_prompts if r.get("dataset") == "fixed_answer_only"]
    for r in originals:
        ours = rows[r["row"]]
        assert ours["metadata"]["rows"] == r["rows"] and ours["answer"] == r["label"][0]
        assert ours["metadata"]["puzzle_seed"] == r["puzzle_seed"] and ours["metadata"]["step"] == r["step"]
        user = ours["prompt"][-1]["content"]
        assert r["prompt"] == f"<|im_start|>user\n{user} <|im_end|>\n<|im_start|>assistant\n<think>"
        assert ours["completion"][-1]["content"] == "<think>" + r["response"]
