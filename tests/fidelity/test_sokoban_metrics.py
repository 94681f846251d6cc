"""The 32 scripted episodes the original evaluation loop played, replayed through sftlab's closed-loop evaluator.

Every turn's raw response goes through `closed_loop.play` (the evaluator `sftlab eval` runs) via a scripted
backend; the per-turn verdicts, the per-episode metrics and the per-tag means must equal the original's exactly.
"""

import pytest

from sftlab.backends import SamplingParams
from sftlab.backends.policies import ScriptedBackend
from sftlab.evaluate import closed_loop
from sftlab.tasks.sokoban import get_variant


def _replay(episodes, protocol="paper"):
    rows = [{"id": f"ep{e['env_id']}", "task": "sokoban", "split": e["tag"], "seed": e["seed"],
             "answer": e["room"]["bfs"], "metadata": {"rows": e["room"]["rows"], "max_steps": 30}}
            for e in episodes]
    backend = ScriptedBackend({f"ep{e['env_id']}": [t["response"] for t in e["turns"]] for e in episodes})
    units = closed_loop.play(backend, rows, SamplingParams(), seed=0, max_turns=30, prompt_protocol=protocol)
    return backend, units


@pytest.fixture(scope="module")
def replay(sokoban_metrics):
    episodes = [r for r in sokoban_metrics if r["type"] == "episode"]
    backend, units = _replay(episodes)
    return episodes, backend, units


def test_the_variants_offer_and_accept_the_originals_labels(sokoban_metrics):
    for e in (r for r in sokoban_metrics if r["type"] == "episode"):
        variant = get_variant(e["tag"])
        lookup = e["parse_action_lookup"]
        assert variant.accepted_labels == tuple(lookup[k] for k in ("1", "2", "3", "4"))
        assert variant.prompt_labels == tuple(e["prompt_vocab"])


def test_every_turn_is_scored_as_the_original_scored_it(replay):
    episodes, backend, units = replay
    for episode, unit in zip(episodes, units, strict=True):
        turns = episode["turns"]
        assert len(unit["records"]) == len(turns), episode["env_id"]
        assert len(backend.prompts[unit["id"]]) == len(turns)
        for record, turn in zip(unit["records"], turns, strict=True):
            assert record["valid"] == turn["valid"] == bool(turn["executed_actions"])
            assert record["parsed"] == (turn["mapped_actions"][0] if turn["mapped_actions"] else None)
            if turn["parsed_actions"]:  # what the original's parser read (one string per response)
                assert record["answer"] == turn["parsed_actions"][0]
            else:
                assert record["answer"] is None
            assert record["effective"] == bool(turn["info"].get("action_is_effective", False))
        assert unit["summary"]["solved"] == bool(turns[-1]["success"])


def test_per_episode_metrics_equal_the_originals(replay):
    episodes, _backend, units = replay
    for episode, unit in zip(episodes, units, strict=True):
        prefix = episode["tag"] + "/"
        original = {k.removeprefix(prefix): v for k, v in episode["env_metrics"].items()}
        assert unit["summary"]["paper"] == original, episode["env_id"]
        assert unit["summary"]["paper"]["num_actions"] == episode["final_status"]["num_actions"]


def test_per_tag_metrics_equal_the_originals_exactly(replay, sokoban_metrics):
    _episodes, _backend, units = replay
    tags = [r for r in sokoban_metrics if r["type"] == "tag_metrics"]
    metrics = closed_loop.aggregate(units, [t["tag"] for t in tags])
    got = {(m.split, m.metric): m for m in metrics}
    for tag in tags:
        for name, value in tag["metrics"].items():
            assert got[tag["tag"], name].value == value, (tag["tag"], name)  # exact, not approx
        included = sum(1 for u in units if u["split"] == tag["tag"] and "action_is_valid" in u["summary"]["paper"])
        assert got[tag["tag"], "action_is_valid"].n == included


def test_all_invalid_episodes_are_left_out_of_the_papers_validity_but_not_of_sftlabs(replay):
    _episodes, _backend, units = replay
    simple = [u for u in units if u["split"] == "SimpleSokoban"]
    # SimpleSokoban: one of its 4 episodes never produced a valid action (no <answer> tag at all).
    assert sum(u["summary"]["valid"] == 0 for u in simple) == 1
    got = {m.metric: m.value for m in closed_loop.aggregate(units, ["SimpleSokoban"])}
    ratios = [u["summary"]["valid"] / u["summary"]["turns"] for u in simple]
    assert got["action_is_valid"] == pytest.approx(sum(ratios) / 3)
    assert got["validity_all_episodes"] == pytest.approx(sum(ratios) / 4)
    assert got["num_actions"] == sum(u["summary"]["valid"] for u in simple) / 4
    assert got["turns"] == sum(u["summary"]["turns"] for u in simple) / 4


def test_a_tag_where_nothing_was_executed_has_no_paper_validity():
    units = [{"split": "T", "summary": {"solved": False, "turns": 30, "valid": 0, "effective": 0, "optimal": 3,
                                        "paper": {"success": 0.0, "num_actions": 0}, "tokens": [1], "markers": [0]}}]
    names = {m.metric for m in closed_loop.aggregate(units, ["T"])}
    assert "action_is_valid" not in names and "action_is_effective" not in names
    assert {"success", "num_actions", "validity_all_episodes", "turns"} <= names


def test_the_scripted_backend_refuses_a_turn_beyond_its_script():
    from sftlab.errors import ConfigError

    backend = ScriptedBackend({"a": ["<answer> Up </answer>"]})
    row = {"id": "a", "task": "sokoban"}
    assert backend.generate([[{"role": "user", "content": "x"}]], SamplingParams(), rows=[row])[0][0].text \
        == "<answer> Up </answer>"
    with pytest.raises(ConfigError, match="beyond"):
        backend.generate([[{"role": "user", "content": "x"}]], SamplingParams(), rows=[row])


def test_the_evaluator_sends_the_originals_eval_prompt(replay, sokoban_prompts):
    """Episode 0 (SimpleSokoban, seed 123) is the room of the original's first eval prompt: the user text the
    evaluator sent on turn 0, in the original's wrapping, is that prompt byte for byte."""
    _episodes, backend, _units = replay
    original = next(r for r in sokoban_prompts if r["kind"] == "eval" and r["seed"] == 123)
    sent = backend.prompts["ep0"][0][-1]["content"]
    assert f"<|im_start|>user\n{sent} <|im_end|>\n<|im_start|>assistant\n<think>" == original["prompt"]
