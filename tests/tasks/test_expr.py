"""The safe expression parser: exact values, strict grammar, bounded input, no eval."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftlab.errors import SftlabError
from sftlab.tasks.expr import (
    BinOp,
    ExprError,
    Num,
    Verdict,
    evaluate,
    evaluate_tree,
    feedback_turn,
    format_expr,
    numbers_used,
    parse_expression,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1+2*3", 7),
        ("(1+2)*3", 9),
        ("8-3-2", 3),  # left-associative
        ("8/4/2", 1),
        ("2*3/4", Fraction(3, 2)),
        ("8/(3-8/3)", 24),  # the float-eval quirk: exact here
        (" 10 - ( 4 - 1 ) ", 7),
        ("08*3", 24),  # leading zeros are plain integers
        ("((((3))))", 3),
        ("0", 0),
    ],
)
def test_exact_values(text, value):
    assert evaluate(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-3+27",  # no unary minus
        "+3",
        "3+",
        "(3+4",
        "3+4)",
        "()",
        "3(4)",
        "(3)(4)",
        "3 4",
        "2**3",
        "2^3",
        "1.5*16",
        "x+1",
        "__import__('os')",
        "２４",  # fullwidth digits
        "٢٤",  # Arabic-Indic digits
        "NaN",
        "inf",
        "24=24",
        "1e3",
    ],
)
def test_illegal_text_is_none_and_error(text):
    assert evaluate(text) is None
    with pytest.raises(ExprError):
        parse_expression(text)


def test_division_by_zero_is_none_not_an_exception():
    assert evaluate("1/0") is None
    assert evaluate("5/(3-3)") is None
    with pytest.raises(ZeroDivisionError):
        evaluate_tree(parse_expression("5/(3-3)"))


def test_bounds_on_length_and_depth():
    assert evaluate("1+" * 99 + "1") == 100  # 199 characters
    assert evaluate("1+" * 100 + "1") is None  # 201 > max_len
    assert evaluate("(" * 50 + "3" + ")" * 50) == 3
    assert evaluate("(" * 51 + "3" + ")" * 51, max_len=1000) is None  # deeper than 50
    deep = "(" * 10_000 + "3" + ")" * 10_000
    assert evaluate(deep, max_len=10**6, max_depth=20_000) == 3  # iterative: no recursion limit
    with pytest.raises(ExprError, match="nested deeper"):
        parse_expression(deep, max_len=10**6)


def test_expr_error_is_a_user_facing_error_with_a_reason():
    with pytest.raises(SftlabError, match="expected a number or '\\(' after '\\*'"):
        parse_expression("2**3")
    with pytest.raises(ExprError, match="never closed"):
        parse_expression("(1+2")
    with pytest.raises(ExprError, match="no matching"):
        parse_expression("1+2)")


def test_parse_tree_and_format_round_trip():
    tree = parse_expression("8/(3-8/3)")
    assert tree == BinOp("/", Num(8), BinOp("-", Num(3), BinOp("/", Num(8), Num(3))))
    assert format_expr(tree) == "8/(3-8/3)"
    assert format_expr(parse_expression("((1+2)+3)*(4)")) == "(1+2+3)*4"
    assert format_expr(parse_expression("1-(2-3)")) == "1-(2-3)"
    assert format_expr(parse_expression("1-(2+3)")) == "1-(2+3)"
    assert format_expr(parse_expression("(1*2)/(3/4)")) == "1*2/(3/4)"


def test_huge_literals_and_deep_trees_do_not_crash():
    assert evaluate("9" * 5000, max_len=10**6) is None  # int() refuses > 4300 digits: a clean None
    with pytest.raises(ExprError, match="more than 1000 digits"):
        numbers_used("9" * 5000, max_len=10**6)
    chain = parse_expression("1+" * 5000 + "1", max_len=10**5)  # a 5000-deep left chain
    assert evaluate_tree(chain) == 5001
    assert format_expr(chain) == "1+" * 5000 + "1"  # iterative formatting


def test_numbers_used():
    assert numbers_used("(10-4)*(3+1)") == [10, 4, 3, 1]
    assert numbers_used("08+8") == [8, 8]
    with pytest.raises(ExprError, match="illegal character"):
        numbers_used("2^3")


def test_feedback_turn():
    failed = Verdict(-2, "you didn't use numbers: [3].")
    assert feedback_turn(failed) == "You failed this trial because you didn't use numbers: [3]."
    assert feedback_turn(Verdict(5, "your formula evaluates to 24.", correct=True)) == ""


# --- properties ---------------------------------------------------------------------------------------------------

_leaf = st.integers(min_value=0, max_value=50).map(Num)
_trees = st.recursive(_leaf, lambda sub: st.builds(BinOp, st.sampled_from("+-*/"), sub, sub), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_trees)
def test_format_then_parse_preserves_value(tree):
    text = format_expr(tree)
    try:
        expected = evaluate_tree(tree)
    except ZeroDivisionError:
        expected = None
    assert evaluate(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_evaluate_never_raises(text):
    value = evaluate(text)
    assert value is None or isinstance(value, Fraction)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-*/() ", max_size=120))
def test_evaluate_agrees_with_parse_on_operator_soup(text):
    try:
        tree = parse_expression(text)
    except ExprError:
        assert evaluate(text) is None
        return
    try:
        expected = evaluate_tree(tree)
    except ZeroDivisionError:
        expected = None
    assert evaluate(text) == expected
