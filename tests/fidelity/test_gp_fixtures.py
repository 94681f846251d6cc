"""General Points splits and the reward against the original's outputs.

The splits match exactly. The reward matches on 2,796 of the 3,000 responses; the 204 others fall into three
deliberate-difference classes whose counts are asserted here and named in docs/fidelity.md.
"""

import json
from collections import Counter

from sftlab.prompts.general_points import user_prompt
from sftlab.tasks.general_points import SPLITS, canonical, make_split, score, solve

# docs/fidelity.md, "General Points reward": (original reward, ours) -> responses
MISMATCH_CLASSES = {
    "non-string JSON formula: the original crashes, ours -3": 171,
    "Unicode decimal digits: the original -1 (int() reads them, eval raises), ours -3": 26,
    "float eval: the original -1 on a correct formula (e.g. 8/(3-8/3)), ours +5 (exact)": 7,
}


def _class(row: dict, ours: int) -> str | None:
    original = row["reward"]
    if original == ours:
        return None
    if original == "crash" and row.get("crash_type") == "AttributeError" and ours == -3:
        return "non-string JSON formula: the original crashes, ours -3"
    formula = row.get("extracted_formula")
    if original == -1 and ours == -3 and isinstance(formula, str) \
            and any(ch.isdecimal() and not ch.isascii() for ch in formula):
        return "Unicode decimal digits: the original -1 (int() reads them, eval raises), ours -3"
    if original == -1 and ours == 5:
        return "float eval: the original -1 on a correct formula (e.g. 8/(3-8/3)), ours +5 (exact)"
    return f"unexplained: original {original}, ours {ours}"


def test_every_split_hand_and_prompt_is_the_originals(gp_splits):
    assert len(gp_splits) == 180
    by_split: dict[str, list[dict]] = {}
    for r in gp_splits:
        by_split.setdefault(r["split"], []).append(r)
    assert set(by_split) == set(SPLITS)
    for name, rows in by_split.items():
        hands = make_split(name, len(rows), 42)
        assert len(hands) == len(rows)
        for r, hand in zip(rows, hands, strict=True):
            assert list(hand.cards) == r["cards"] and list(hand.values) == r["display_cards"], (name, r["task_id"])
            assert hand.prompt_mapping == r["face_card_mapping"] and hand.target == r["target"]
            assert user_prompt(hand.cards, hand.prompt_mapping, target=hand.target) == r["prompt"]


def test_the_original_solvers_solutions_are_all_found_and_score_5(gp_splits):
    """Every solution the original's solver lists is (up to canonical form) one of ours and scores +5 here."""
    for r in gp_splits:
        ours = set(solve(r["display_cards"], r["target"]))
        assert bool(ours) == (r["solutions_count"] > 0)
        for formula in r.get("solutions") or r.get("solutions_head") or []:
            assert canonical(formula) in ours, (r["split"], r["task_id"], formula)
        answer = json.loads(r["answer"])
        assert score(r["answer"], r["display_cards"], r["target"]) == 5, answer


def test_the_diverse_training_prompt_ends_as_the_originals(gp_splits):
    """create_training_dataset.py's template ends with one newline after `}`, the test splits' with two."""
    r = gp_splits[0]
    assert r["prompt"].endswith("}\n\n")
    assert user_prompt(r["cards"], r["face_card_mapping"], target=r["target"], training=True) == r["prompt"][:-1]


def test_every_reward_is_the_originals_outside_the_named_classes(gp_rewards):
    assert len(gp_rewards) == 3000
    classes = Counter()
    for r in gp_rewards:
        kind = _class(r, score(r["response"], r["numbers"], r["target"]))
        if kind is not None:
            classes[kind] += 1
    assert dict(classes) == MISMATCH_CLASSES


def test_built_gp_prompts_end_as_the_originals(tmp_path):
    """Diverse training rows (create_training_dataset.py) end with one newline; fixed rows keep the test-split
    template (the original's fixed set came from another codebase, SFTvsRL)."""
    from sftlab.data.builder import build, load_rows
    from sftlab.data.presets import BuildConfig

    for preset, ending in (("gp-diverse-answer-only", "}\n"), ("gp-answer-only", "}\n\n")):
        build(BuildConfig(preset, n=8), tmp_path / preset, progress=False)
        for row in load_rows(tmp_path / preset):
            text = row["prompt"][-1]["content"]
            assert text.endswith(ending) and not text.endswith(ending + "\n"), preset


def test_float_arithmetic_restores_the_originals_float_eval(gp_rewards):
    """`arithmetic="float"` (sftlab eval --gp-arithmetic float) computes as the original's eval: the float class
    disappears, the two safety classes stay."""
    classes = Counter()
    for r in gp_rewards:
        kind = _class(r, score(r["response"], r["numbers"], r["target"], arithmetic="float"))
        if kind is not None:
            classes[kind] += 1
    expected = {k: v for k, v in MISMATCH_CLASSES.items() if not k.startswith("float eval")}
    assert dict(classes) == expected
    assert score('{"formula": "8/(3-8/3)"}', [3, 3, 8, 8], arithmetic="float") == -1
    assert score('{"formula": "8/(3-8/3)"}', [3, 3, 8, 8]) == 5
    assert score('{"formula": "(3+3/7)*7"}', [3, 3, 7, 7], arithmetic="float") == 5
    assert score('{"formula": "08*3*1*1"}', [8, 3, 1, 1], arithmetic="float") == -1  # eval: leading zeros
    assert score('{"formula": "08*3*1*1"}', [8, 3, 1, 1]) == 5
    assert score('{"formula": "4/(1-1)*6"}', [4, 1, 1, 6], arithmetic="float") == -1
