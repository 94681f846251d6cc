import random
import re

import pytest

from sftlab.demos.corrupt import check_steps
from sftlab.demos.search_cot import is_solvable, search_trace
from sftlab.demos.solver_cot import gp_cot
from sftlab.tasks import countdown
from sftlab.tasks.general_points import MAPPINGS, deal, score

DEAD = re.compile(r"cannot be reached from ([\d/, ]+)\. ")


def _problems(k=40):
    return [countdown.generate(500_000 + i) for i in range(k)]


def test_countdown_traces_verify_and_every_step_is_right():
    for p in _problems():
        trace = search_trace(p.numbers, p.target, rng=random.Random(p.seed), dead_ends=2)
        assert trace is not None
        assert countdown.verify(trace.expression, p.numbers, p.target).reward == 1
        total, wrong = check_steps(trace.text)
        assert total >= len(trace.steps) and wrong == 0


@pytest.mark.parametrize("dead_ends", [0, 1, 3])
def test_backtracking_knob_sets_the_number_of_dead_ends_and_markers(dead_ends):
    for p in _problems(25):
        trace = search_trace(p.numbers, p.target, rng=random.Random(p.seed), dead_ends=dead_ends)
        assert trace.dead_ends <= dead_ends
        assert trace.text.lower().count("backtrack") == trace.dead_ends
        assert len(DEAD.findall(trace.text)) == trace.dead_ends
    # the instances have enough unsolvable branches that the knob is honoured exactly on most
    shown = [search_trace(p.numbers, p.target, rng=random.Random(1), dead_ends=dead_ends).dead_ends
             for p in _problems(25)]
    assert sum(s == dead_ends for s in shown) >= 20


def test_dead_ends_are_real_dead_ends():
    checked = 0
    for p in _problems(30):
        trace = search_trace(p.numbers, p.target, rng=random.Random(3), dead_ends=3)
        for listing in DEAD.findall(trace.text):
            numbers = [x.strip() for x in listing.split(",")]
            if all(x.isdigit() for x in numbers):
                assert countdown.solve([int(x) for x in numbers], p.target) is None
                checked += 1
            assert not is_solvable([int(x) if x.isdigit() else x for x in numbers if x.isdigit()], p.target,
                                   use_all=False) or not all(x.isdigit() for x in numbers)
    assert checked > 20


def test_same_rng_same_solution_branch_whatever_the_dead_ends():
    p = _problems(1)[0]
    a = search_trace(p.numbers, p.target, rng=random.Random(9), dead_ends=0)
    b = search_trace(p.numbers, p.target, rng=random.Random(9), dead_ends=4)
    assert a.expression == b.expression and a.steps == b.steps
    assert len(b.text) > len(a.text)


def test_unsolvable_gives_none():
    assert search_trace([1, 1, 1, 1], 24, rng=random.Random(0), use_all=True) is None
    assert search_trace([1, 2], 999, rng=random.Random(0)) is None


def test_gp_cot_scores_five_and_uses_every_card():
    hands = [h for h in (deal(900_000 + i, mapping="mixed_8_9_10") for i in range(40)) if h]
    for h in hands:
        text = gp_cot(h.cards, h.values, MAPPINGS[h.mapping], 24, random.Random(h.seed), dead_ends=2)
        assert score(text, h.values, 24) == 5
        assert text.startswith("<think>\n") and "</think>\n\n{" in text
        assert "counts as" in text and text.count("backtrack") >= 1 or "backtrack" not in text
    # the famous fraction hand
    text = gp_cot(("3", "3", "8", "8"), (3, 3, 8, 8), MAPPINGS["all_10"], 24, random.Random(0))
    assert score(text, [3, 3, 8, 8]) == 5
