import pytest

from sftlab.errors import ConfigError
from sftlab.tasks import crossdomain


def test_suite_is_deterministic_and_covers_every_domain():
    a = crossdomain.items(n_per_task=3, seed=5)
    b = crossdomain.items(n_per_task=3, seed=5)
    assert a == b
    assert {it.domain for it in a} == set(crossdomain.DOMAINS)
    assert len(a) == 3 * len(crossdomain.TASK_DOMAIN)
    assert crossdomain.items(n_per_task=3, seed=6) != a


def test_oracle_scores_one_and_wrong_answers_score_below_one():
    for item in crossdomain.items(n_per_task=4, seed=11):
        assert crossdomain.score(item, f"<think>easy</think> The answer is \\boxed{{{item.answer}}}") == 1.0
        assert crossdomain.score(item, f"<answer>{item.answer}</answer>") == 1.0
        assert crossdomain.score(item, "\\boxed{definitely not it 12345}") < 1.0
        assert crossdomain.score(item, "no final answer at all") == 0.0


def test_final_answer_extraction():
    assert crossdomain.final_answer("x \\boxed{\\frac{1}{2}} y") == "\\frac{1}{2}"
    assert crossdomain.final_answer("\\boxed{1} then \\boxed{2}") == "2"
    assert crossdomain.final_answer("<think>\\boxed{9}</think> <answer> 3 </answer>") == "3"
    assert crossdomain.final_answer("\\boxed{unclosed") is None
    assert crossdomain.final_answer("") is None
    assert crossdomain.final_answer("{" * 100_000) is None


def test_bad_config():
    with pytest.raises(ConfigError, match="unknown cross-domain task"):
        crossdomain.items(2, tasks=("puzzle24",))
    with pytest.raises(ConfigError):
        crossdomain.items(0)


def test_verify_gives_a_verdict_for_eval_rows():
    from sftlab.task_adapters.reasoning_rows import crossdomain_rows

    rows = list(crossdomain_rows(2, base_seed=3))
    assert {r["split"] for r in rows} == set(crossdomain.DOMAINS)
    for row in rows:
        good = crossdomain.verify(f"\\boxed{{{row['answer']['answer']}}}", row["answer"])
        assert good.correct and good.reward == 1
        bad = crossdomain.verify("<answer>zzz-not-it</answer>", row["answer"])
        assert not bad.correct and bad.reward == 0 and "wrong" in bad.reason
    assert crossdomain.verify("", rows[0]["answer"]).reason.startswith("no final answer")
