import random

from sftlab.demos.answer_only import countdown_summary, gp_answer_only, gp_json, sokoban_answer_only
from sftlab.demos.corrupt import check_steps, corrupt_steps, pick_rows, short_solution, wrong_expression
from sftlab.demos.search_cot import search_trace
from sftlab.tasks import countdown
from sftlab.tasks.general_points import deal, score


def _trace(seed):
    p = countdown.generate(seed)
    return p, search_trace(p.numbers, p.target, rng=random.Random(seed), dead_ends=2)


def test_corrupted_steps_are_wrong_but_the_answer_still_verifies():
    for seed in range(30):
        p, trace = _trace(700_000 + seed)
        text = f"<think>\n{trace.text}\n</think>\n\n" + countdown_summary(trace.steps, trace.expression)
        bad = corrupt_steps(text, random.Random(seed), share=0.34)
        total, wrong = check_steps(bad.split("</think>")[0])
        assert wrong >= 1 and total == check_steps(text.split("</think>")[0])[0]
        assert countdown.verify(bad, p.numbers, p.target).reward == 1


def test_wrong_expression_fails_the_verifier():
    for seed in range(30):
        p, trace = _trace(710_000 + seed)

        def ok(e, p=p):
            return countdown.verify(e, p.numbers, p.target).reward == 1

        bad = wrong_expression(trace.expression, ok, random.Random(seed))
        assert bad != trace.expression and not ok(bad)


def test_short_solution_is_terse_but_right():
    p, trace = _trace(720_000)
    text = short_solution(trace.steps, trace.expression)
    assert countdown.verify(text, p.numbers, p.target).reward == 1
    assert "<think>" not in text and text.count("\n") <= 3 and len(text) < len(trace.text)


def test_pick_rows_assigns_exact_fractions():
    picked = pick_rows(200, {"wrong_answer": 0.25, "wrong_step": 0.1}, random.Random(0))
    kinds = list(picked.values())
    assert kinds.count("wrong_answer") == 50 and kinds.count("wrong_step") == 20
    assert picked == pick_rows(200, {"wrong_answer": 0.25, "wrong_step": 0.1}, random.Random(0))


def test_answer_only_formats():
    assert sokoban_answer_only("tree") == "<think></think> <answer> tree </answer>\n"
    assert gp_json(["K", "2", "7", "5"], [10, 2, 7, 5], "10+2+7+5") == (
        '{\n"cards": ["K", "2", "7", "5"],\n "number": [10, 2, 7, 5],\n "formula": "10+2+7+5"\n}'
    )
    hand = deal(4)
    for seed in range(5):
        text = gp_answer_only(hand.cards, hand.values, hand.solutions, random.Random(seed))
        assert score(text, hand.values) == 5
