"""Eval variants, the per-variant action parser, the answer extractor, and `show`."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sftlab.errors import ConfigError
from sftlab.tasks import get_task
from sftlab.tasks.sokoban import (
    DIRECTIONS,
    EVAL_TAGS,
    VARIANTS,
    Variant,
    answer_span,
    eval_seeds,
    extract_answer,
    generate,
    get_variant,
    parse_action,
    show,
)

PAPER_ORDER = (
    "SimpleSokoban", "LargerSokoban", "ComplexSokoban", "TwoBoxesSokoban", "SimpleSokobanRandom",
    "SimpleSokobanNumerical", "SimpleSokobanAlphabetical", "FakeSokobanNumerical",
)


def test_variant_table_matches_the_spec():
    assert tuple(VARIANTS) == PAPER_ORDER + ("CardinalSokoban", "EmojiSokoban")
    assert EVAL_TAGS == PAPER_ORDER
    shapes = {name: (v.dim, v.num_boxes) for name, v in VARIANTS.items()}
    assert shapes["LargerSokoban"] == ((10, 10), 1)
    assert shapes["ComplexSokoban"] == ((10, 10), 2)
    assert shapes["TwoBoxesSokoban"] == ((6, 6), 2)
    assert all(shapes[n] == ((6, 6), 1) for n in PAPER_ORDER[4:])
    assert VARIANTS["SimpleSokobanRandom"].prompt_labels == ("*", "&", "1", "M")
    fake = VARIANTS["FakeSokobanNumerical"]
    assert fake.prompt_labels == ("1", "2", "3", "4") and fake.accepted_labels == DIRECTIONS
    assert fake.where_line and fake.role == "fake"
    assert not VARIANTS["SimpleSokoban"].where_line and not VARIANTS["CardinalSokoban"].where_line
    assert all(v.max_steps == 30 and v.search_depth == 30 for v in VARIANTS.values())
    assert str(VARIANTS["SimpleSokobanAlphabetical"]) == "6x6, 1 box, labels A/B/C/D (instruction variant)"


def test_get_variant_aliases_and_errors():
    assert get_variant("alphabetical").name == "SimpleSokobanAlphabetical"
    assert get_variant("FAKE").name == "FakeSokobanNumerical"
    assert get_variant("complexsokoban").name == "ComplexSokoban"
    with pytest.raises(ConfigError, match="unknown Sokoban variant 'hex'.*SimpleSokoban.*alphabetical"):
        get_variant("hex")


def test_bad_variant_definitions_are_rejected():
    with pytest.raises(ConfigError, match="role"):
        Variant("X", (6, 6), 1, DIRECTIONS, DIRECTIONS, False, "nonsense")
    with pytest.raises(ConfigError, match="distinct"):
        Variant("X", (6, 6), 1, ("a", "A", "b", "c"), DIRECTIONS, True, "extra")


ALL_LABELS = {lab for v in VARIANTS.values() for lab in v.accepted_labels + v.prompt_labels}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_parse_action_accepts_exactly_the_variants_labels(name):
    v = VARIANTS[name]
    for label, direction in zip(v.accepted_labels, DIRECTIONS, strict=True):
        assert parse_action(label, v.accepted_labels) == direction
        assert parse_action(f"  {label.lower()}\n", v.accepted_labels) == direction
        assert parse_action(label.upper(), v.accepted_labels) == direction
    for other in ALL_LABELS - set(v.accepted_labels):
        if other.casefold() in {a.casefold() for a in v.accepted_labels}:
            continue
        assert parse_action(other, v.accepted_labels) is None, other
    for junk in (None, "", "Up Down", "<answer> Up </answer>", "Upp", "1."):
        assert parse_action(junk, v.accepted_labels) is None


def test_fake_accepts_base_words_only():
    fake = get_variant("fake")
    assert parse_action("Left", fake.accepted_labels) == "Left"
    assert parse_action("3", fake.accepted_labels) is None
    assert parse_action("3", get_variant("numerical").accepted_labels) == "Left"
    assert parse_action("1", get_variant("random").accepted_labels) == "Left"  # "1" is Left in the Random set


def test_extract_answer_takes_the_first_match_across_lines():
    assert extract_answer("<think> hmm </think> <answer> Up </answer>") == "Up"
    assert extract_answer("<answer>\nLeft\n</answer><answer>Right</answer>") == "Left"
    assert answer_span("<answer>\nLeft\n</answer><answer>Right</answer>") == "\nLeft\n"
    assert extract_answer("<answer>Up") is None
    assert extract_answer("") is None and extract_answer(None) is None


# (response, what the original's `re.search(r"<answer>(.*?)</answer>", s, re.DOTALL)` + tag stripping gives)
ORIGINAL_CASES = [
    ("<answer>Up || Left</answer>", "Up || Left"),
    ("<answer> <think>Up</think> </answer>", "Up"),
    ("<answer><answer>Down</answer>", "Down"),
    ("<answer>A<|im_end|></answer>", "A"),
    ("<|im_start|><answer> Right <|im_end|> </answer> <answer>Up</answer>", "Right"),
    ("<answer>x</answer", None),
    ("</answer><answer>Left</answer>", "Left"),
    ("<answer>a<answer>b</answer>c</answer>", "ab"),
    ("<ANSWER>Up</ANSWER>", None),
    ("<answer></answer>", ""),
    ("<answer>" * 50 + "</answer>", ""),
    ("<answer>" * 50, None),
]


def _original(text):
    import re

    match = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    if match is None:
        return None
    content = match.group(1).strip()
    for token in ("<think>", "</think>", "<answer>", "</answer>", "<|im_start|>", "<|im_end|>"):
        content = content.replace(token, "").strip()
    return content


@pytest.mark.parametrize(("text", "expected"), ORIGINAL_CASES)
def test_extract_answer_is_the_originals_action_string(text, expected):
    assert extract_answer(text) == expected == _original(text)


@given(st.lists(st.sampled_from(["<answer>", "</answer>", "<think>", "</think>", "<|im_end|>", "Up", " ", "\n",
                                 "<", ">", "/", "a"]), max_size=30).map("".join))
def test_extract_answer_equals_the_original_regex_on_tag_soup(text):
    assert extract_answer(text) == _original(text)


@pytest.mark.parametrize("junk", [b"<answer>Up</answer>", 3, 2.5, ["<answer>Up</answer>"], {"a": 1}, None, object()])
def test_non_text_answers_are_a_scored_failure(junk):
    assert answer_span(junk) is None and extract_answer(junk) is None
    assert parse_action(junk, DIRECTIONS) is None


def test_extract_answer_is_linear_on_hostile_input():
    """An unclosed `<answer>` repeated up to the 200,000-character cap: the lazy DOTALL regex retries the scan
    from every `<answer>` (quadratic); ours scans twice. Checked by how the time grows with the length (x10
    characters must cost far less than x100), with the best of several runs to damp machine load."""
    import time

    def best(text):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert extract_answer(text) is None
            times.append(time.perf_counter() - start)
        return min(times)

    unit = "<answer>x"
    small, large = unit * (20_000 // len(unit)), unit * (200_000 // len(unit))
    assert best(large) < 0.05  # the regex took ~40 s here
    assert best(large) / max(best(small), 1e-6) < 40


def test_eval_seeds_follow_the_original_protocol():
    assert eval_seeds("SimpleSokoban")[:2] == [123, 124] and eval_seeds("simple")[-1] == 222
    assert eval_seeds("FakeSokobanNumerical")[0] == 123 + 700
    with pytest.raises(ConfigError, match="not one of the paper's eval tags"):
        eval_seeds("emoji")


def test_show_prints_grid_labels_and_solution_in_prompt_labels():
    text = show(seed=3, variant="alphabetical")
    p = generate(seed=3)
    letters = {"Up": "A", "Down": "B", "Left": "C", "Right": "D"}
    assert " # \t" in text and "A = Up, B = Down, C = Left, D = Right" in text
    assert text.rstrip().endswith(" ".join(letters[a] for a in p.solution))
    assert get_task("sokoban").show(seed=3, variant=None).startswith("SimpleSokoban (seed 3)")
    with pytest.raises(ConfigError):
        show(seed=0, variant="nope")


def test_cli_show(capsys):
    from sftlab.cli import main

    assert main(["tasks", "show", "sokoban", "--seed", "3", "--variant", "alphabetical"]) == 0
    out = capsys.readouterr().out
    assert "SimpleSokobanAlphabetical" in out and "solution (" in out
    assert main(["tasks", "show", "sokoban", "--variant", "bogus"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown Sokoban variant")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_show_works_for_every_variant(name):
    v = VARIANTS[name]
    text = show(seed=11, variant=name)
    grid_lines = [line for line in text.splitlines() if line.startswith(" # \t")]
    assert len(grid_lines) == v.dim[0]
    sol = text.rsplit(": ", 1)[1].split()
    assert sol and set(sol) <= set(v.prompt_labels)
