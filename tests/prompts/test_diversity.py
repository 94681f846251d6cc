from sftlab.prompts.diversity import (
    EVAL_LABELS,
    RAW_POOL,
    WORD_POOL,
    check_disjoint_from_variants,
    check_gp_disjoint,
    diverse_labels,
    mixed_mapping,
)
from sftlab.tasks.general_points import MIXED_PRESET, SPLITS
from sftlab.tasks.sokoban import VARIANTS


def test_pool_is_the_spec_pool_deduplicated():
    assert len(RAW_POOL) == 210
    assert len(WORD_POOL) == len(set(WORD_POOL)) == 206
    assert set(RAW_POOL) == set(WORD_POOL)
    for dup in ("mouse", "fish", "orange", "lime"):
        assert RAW_POOL.count(dup) == 2 and WORD_POOL.count(dup) == 1
    assert {"tree", "fix", "jade", "freedom"} <= set(WORD_POOL)


def test_pool_never_meets_an_eval_label_case_insensitively():
    folded = {w.casefold() for w in WORD_POOL}
    assert not folded & {label.casefold() for label in EVAL_LABELS}
    for variant in VARIANTS.values():
        assert not folded & {x.casefold() for x in variant.prompt_labels + variant.accepted_labels}
    check_disjoint_from_variants(VARIANTS.values())


def test_disjointness_check_catches_a_clash():
    class Fake:
        prompt_labels = ("tree", "b", "c", "d")
        accepted_labels = ("tree", "b", "c", "d")

    try:
        check_disjoint_from_variants([Fake()])
    except AssertionError as exc:
        assert "tree" in str(exc)
    else:
        raise AssertionError("a pool word used as an eval label was not caught")


def test_diverse_labels_are_deterministic_distinct_and_varied():
    sets = [diverse_labels(0, i) for i in range(300)]
    assert sets == [diverse_labels(0, i) for i in range(300)]
    assert all(len(set(s)) == 4 and set(s) <= set(WORD_POOL) for s in sets)
    assert len(set(sets)) == 300  # every row gets its own vocabulary
    assert diverse_labels(1, 0) != diverse_labels(0, 0)


def test_mixed_mapping_gives_equal_blocks_and_no_eval_rule():
    names = [mixed_mapping(i, 80, MIXED_PRESET) for i in range(80)]
    assert [names.count(m) for m in MIXED_PRESET] == [10] * 8
    assert names[:10] == [MIXED_PRESET[0]] * 10
    rule_variants = {s.prompt_mapping for s in SPLITS.values() if s.prompt_mapping != "all_10"}
    check_gp_disjoint(MIXED_PRESET, rule_variants)
    try:
        check_gp_disjoint(("all_5",), rule_variants)
    except AssertionError:
        pass
    else:
        raise AssertionError("all_5 in training was not caught")
