"""General Points: mappings, dealing (faithful to the original's RNG use), the complete solver, the 9 splits."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest

from sftlab.errors import ConfigError
from sftlab.tasks import get_task
from sftlab.tasks.expr import evaluate, numbers_used
from sftlab.tasks.general_points import (
    MAPPINGS,
    MIXED_PRESET,
    SPLITS,
    VARIANTS,
    canonical,
    deal,
    deal_split,
    face_card_msg,
    is_solvable,
    make_split,
    score,
    show,
    solve,
)

# --- mappings -----------------------------------------------------------------------------------------------------


def test_the_23_mappings_of_the_spec():
    uniform = [f"all_{v}" for v in (5, 7, 8, 9, 10, 11, 12, 13)]
    three = {
        "mixed_9_10_11": (9, 10, 11),
        "mixed_10_11_12": (10, 11, 12),
        "mixed_8_9_10": (8, 9, 10),
        "mixed_11_12_13": (11, 12, 13),
        "mixed_9_11_13": (9, 11, 13),
        "mixed_7_9_11": (7, 9, 11),
        "mixed_8_10_12": (8, 10, 12),
        "sequential_7_8_9": (7, 8, 9),
        "sequential_8_9_10": (8, 9, 10),
        "skip_6_8_10": (6, 8, 10),
        "skip_7_9_11": (7, 9, 11),
        "skip_8_10_12": (8, 10, 12),
        "skip_9_11_13": (9, 11, 13),
        "low_range_5_7_9": (5, 7, 9),
        "mid_range_8_10_12": (8, 10, 12),
    }
    assert len(MAPPINGS) == 23
    assert set(MAPPINGS) == set(uniform) | set(three)
    for name in uniform:
        v = int(name.split("_")[1])
        assert MAPPINGS[name] == {"J": v, "Q": v, "K": v}
    for name, (j, q, k) in three.items():
        assert MAPPINGS[name] == {"J": j, "Q": q, "K": k}
    assert MIXED_PRESET == (
        "all_8",
        "all_9",
        "all_10",
        "mixed_8_9_10",
        "sequential_7_8_9",
        "sequential_8_9_10",
        "low_range_5_7_9",
        "skip_6_8_10",
    )


def test_face_card_sentences():
    assert face_card_msg("all_10") == "'J', 'Q', and 'K' all count as '10'"
    assert face_card_msg("mixed_9_10_11") == "'J' counts as '9', 'Q' counts as '10', and 'K' counts as '11'"
    assert face_card_msg("skip_6_8_10") == "'J' counts as '6', 'Q' counts as '8', and 'K' counts as '10'"
    with pytest.raises(ConfigError, match="unknown face-card mapping"):
        face_card_msg("all_99")


# --- solver -------------------------------------------------------------------------------------------------------


def test_known_facts():
    assert solve([1, 1, 1, 1]) == []
    assert not is_solvable([1, 1, 1, 1])
    # 3,3,8,8 has exactly one solution family: 8/(3-8/3) and its commutative rearrangements.
    assert solve([3, 3, 8, 8]) == ["8/(3-8/3)"]
    assert canonical("8/(3-(8/3))") == canonical("8 / (3 - 8 / 3)") == "8/(3-8/3)"
    assert solve([1, 2, 3, 4]) == ["(1+2+3)*4", "(1+3)*(2+4)", "1*2*3*4", "2*3*4/1"]
    assert solve([6], 6) == ["6"] and solve([], 24) == []


def test_canonical_identifies_commutative_and_associative_forms():
    assert canonical("(10-4)*(3+1)") == canonical("(1+3)*(10-4)") == canonical("(3+1)*(10-4)")
    assert canonical("1+2+3*7") == canonical("(1+2)+3*7") == canonical("7*3+(2+1)")
    assert canonical("10-(4-3)") == canonical("10+3-4")
    assert canonical("8/(1/3)") == canonical("3*8/1") == "3*8/1"
    assert canonical("8-3") != canonical("3-8")


def _brute_values(nums: list[int]) -> set[Fraction]:
    """Every value of every expression tree over all of `nums` (small, independent reference)."""
    if len(nums) == 1:
        return {Fraction(nums[0])}
    out = set()
    n = len(nums)
    for mask in range(1, 2**n - 1):
        left = [nums[i] for i in range(n) if mask >> i & 1]
        right = [nums[i] for i in range(n) if not mask >> i & 1]
        for a in _brute_values(left):
            for b in _brute_values(right):
                out |= {a + b, a - b, a * b}
                if b:
                    out.add(a / b)
    return out


def test_solver_agrees_with_an_independent_brute_force_on_random_hands():
    rng = random.Random(7)
    for _ in range(30):
        hand = [rng.randint(1, 13) for _ in range(4)]
        target = rng.choice([24, 24, 24, 10, 36])
        sols = solve(hand, target)
        assert bool(sols) == (target in _brute_values(hand)), hand
        for s in sols:
            assert evaluate(s) == target
            assert sorted(numbers_used(s)) == sorted(hand)
            assert canonical(s) == s
        assert sols == sorted(set(sols))


def test_every_solution_scores_5_and_mutations_do_not():
    rng = random.Random(11)
    checked = 0
    for _ in range(40):
        hand = [rng.randint(1, 10) for _ in range(4)]
        for s in solve(hand)[:5]:
            checked += 1
            assert score(f'{{"cards": [], "number": [], "formula": "{s}"}}', hand) == 5
            assert score(f'{{"formula": "{s}=24"}}', hand) == 5
            # Swap one operator: still legal with the right numbers, so either correct (rare) or -1.
            ops = [i for i, ch in enumerate(s) if ch in "+-*/"]
            i = rng.choice(ops)
            mutated = s[:i] + {"+": "-", "-": "+", "*": "/", "/": "*"}[s[i]] + s[i + 1 :]
            expected = 5 if evaluate(mutated) == 24 else -1
            assert score(f'{{"formula": "{mutated}"}}', hand) == expected
            # Drop the last number's digits: the number multiset is wrong (-2) or the grammar breaks (-3).
            assert score(f'{{"formula": "{s}+1"}}', hand) == -2
    assert checked > 50


def test_5_cards_complete_beyond_the_bracket_templates():
    # 1,2,3,4,5 has 93 canonical solutions; the original's bracket templates reach only 56 of them (measured with
    # the reference solver of benchmarks/gp_solve.py). These three need a group nested inside a group:
    sols = solve([1, 2, 3, 4, 5])
    assert len(sols) == 93 and all(evaluate(s) == 24 for s in sols)
    for beyond in ("((1+5)*2-4)*3", "((1+2)/3+5)*4", "((3+5)*1-2)*4"):
        assert canonical(beyond) in sols
    assert "(10/2+7)*(5-3)" in solve([2, 3, 5, 7, 10])


# --- dealing ------------------------------------------------------------------------------------------------------


def test_deal_reproduces_the_original_hands():
    # Reference hands from the original algorithm (global `random.seed(seed)`, its solver's permutation shuffle),
    # re-run outside the repo; the SFT-vs-RL env's own example for seed 42 is also ['2', '7', 'Q', '2'].
    assert [deal_split("id", s).cards for s in (42, 43, 44)] == [
        ("2", "7", "Q", "2"),
        ("Q", "A", "5", "J"),
        ("10", "J", "3", "5"),
    ]
    assert [deal_split("large", s).cards for s in (42, 43, 44)] == [
        ("15", "9", "4", "A"),
        ("10", "2", "17", "5"),
        ("8", "18", "4", "J"),
    ]
    assert deal_split("5cards", 42).cards == ("Q", "A", "J", "5", "2")


def test_deal_is_deterministic_and_solvable():
    a, b = deal(123, ood=True, mapping="mixed_9_10_11"), deal(123, ood=True, mapping="mixed_9_10_11")
    assert a == b
    assert a.solutions and a.solutions == tuple(solve(a.values))
    assert a.values == tuple({"J": 9, "Q": 10, "K": 11, "A": 1}.get(c) or int(c) for c in a.cards)
    assert any(c in "JQK" for c in a.cards)


def test_deal_other_targets_and_sizes():
    h = deal(5, num_cards=5, target=36)
    assert len(h.cards) == 5 and h.target == 36
    assert all(evaluate(s) == 36 for s in h.solutions)
    assert deal(0, num_cards=2, largest_card=1, target=24, max_tries=3) is None  # 1+1 can never make 24


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": -1},
        {"seed": 0, "num_cards": 9},
        {"seed": 0, "largest_card": 20},
        {"seed": 0, "mapping": "all_10s"},
        {"seed": 0, "max_tries": -1},
    ],
)
def test_deal_rejects_bad_config(kwargs):
    with pytest.raises(ConfigError):
        deal(**kwargs)


# --- splits -------------------------------------------------------------------------------------------------------


def test_the_9_splits():
    assert set(SPLITS) == {
        "id",
        "all_5",
        "all_7",
        "all_5_fake",
        "5cards",
        "large",
        "face_card_as_regular",
        "all_12",
        "fake",
    }
    assert (SPLITS["all_5_fake"].prompt_mapping, SPLITS["all_5_fake"].value_mapping) == ("all_5", "all_10")
    assert (SPLITS["fake"].prompt_mapping, SPLITS["fake"].value_mapping) == ("mixed_11_12_13", "all_10")
    assert SPLITS["id"].data_source == "gp_l_id"
    assert set(VARIANTS) == set(SPLITS)


@pytest.mark.parametrize(
    "name", ["id", "all_5", "all_7", "all_12", "face_card_as_regular", "fake", "all_5_fake"]
)
def test_face_card_split_rules(name):
    spec = SPLITS[name]
    hands = make_split(name, n=40)
    assert len(hands) == 40
    assert [h.seed for h in hands] == list(range(42, 82))
    for h in hands:
        assert len(h.cards) == 4 and h.target == 24
        assert any(c in ("J", "Q", "K") for c in h.cards), h  # ood: at least one face card
        assert all(c in ("A", "J", "Q", "K") or 2 <= int(c) <= 10 for c in h.cards)
        assert h.mapping == spec.value_mapping and h.prompt_mapping == spec.prompt_mapping
        for card, value in zip(h.cards, h.values, strict=True):
            if card in ("J", "Q", "K"):
                assert value == MAPPINGS[spec.value_mapping][card]
        assert h.solutions and all(evaluate(s) == 24 for s in h.solutions)


def test_large_split_has_a_card_in_14_to_19():
    hands = make_split("large", n=40)
    assert len(hands) == 40
    for h in hands:
        ranks = [int(c) for c in h.cards if c not in ("A", "J", "Q", "K")]
        assert any(14 <= r <= 19 for r in ranks), h
        assert all(c in ("A", "J", "Q", "K") or 2 <= int(c) <= 19 for c in h.cards)


def test_5cards_split():
    hands = make_split("5cards", n=8)
    assert len(hands) == 8
    assert all(len(h.cards) == 5 and len(h.values) == 5 and max(h.values) <= 10 for h in hands)


def test_fake_split_scores_with_10s():
    h = make_split("fake", n=1)[0]
    assert h.prompt_mapping == "mixed_11_12_13"
    formula = h.solutions[0]
    assert score(f'{{"formula": "{formula}"}}', h.values) == 5


def test_ood_distribution_uses_every_face_card():
    counts = Counter(c for h in make_split("id", n=60) for c in h.cards if c in "JQK")
    assert set(counts) == {"J", "Q", "K"}


def test_make_split_rejects_unknown_split():
    with pytest.raises(ConfigError, match="unknown General Points split"):
        make_split("ood")


def test_show_via_the_task_registry():
    module = get_task("general_points")
    text = module.show(seed=3, variant="large")
    assert "split 'large'" in text and "Cards:" in text and "Solutions" in text
    assert show(seed=3).startswith("General Points, split 'id'")
