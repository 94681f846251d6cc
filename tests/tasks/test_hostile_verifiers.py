"""Hostile model output for the cross-domain and safety verifiers: linear-time parsing, the regex's exact
first-match semantics, and non-text responses scored as failures (their docstrings say they never raise)."""

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftlab.tasks import crossdomain, safety
from sftlab.tasks.crossdomain import MAX_RESPONSE_CHARS, final_answer, last_answer_tag

NOT_TEXT = [b"<answer>1</answer>", 42, 3.5, ["<answer>1</answer>"], {"answer": "1"}, None, True]
REFERENCE = {"task": "basic_arithmetic", "seed": 0, "index": 0, "answer": "1"}


def regex_last_tag(text):
    """The old parser: the last of `re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL)`."""
    tags = re.findall(r"<answer>(.*?)</answer>", text, flags=re.DOTALL)
    return tags[-1] if tags else None


class CountingText(str):
    """A str that adds up how many characters its `find` calls scan (to the hit, or to the end on a miss)."""

    scanned = 0

    def find(self, sub, start=0, end=None):
        end = len(self) if end is None else end
        hit = str.find(self, sub, start, end)
        self.scanned += (hit + len(sub) if hit >= 0 else end) - start
        return hit


def hostile_inputs(size):
    unit = "<answer>"
    return {
        "unclosed tags": (unit * (size // len(unit) + 1))[:size],
        "unclosed tag, then filler": unit + "x" * (size - len(unit)),
        "tags closing only at the end": (unit * (size // len(unit)))[: size - 9] + "</answer>",
        "many closed tags": ("<answer>1</answer>" * (size // 18 + 1))[:size],
        "close tags only": ("</answer>" * (size // 9 + 1))[:size],
        "unclosed boxes": ("\\boxed{" * (size // 7 + 1))[:size],
    }


@pytest.mark.parametrize("name", list(hostile_inputs(100)))
def test_answer_tag_scan_is_linear_structurally(name):
    """Each character is scanned a bounded number of times, whatever the input: no retry from every tag."""
    text = CountingText(hostile_inputs(MAX_RESPONSE_CHARS)[name])
    last_answer_tag(text)
    assert 0 < text.scanned <= 2 * len(text) + 64, f"{text.scanned} characters scanned for {len(text)}"


def test_final_answer_on_200k_hostile_inputs_is_fast():
    """The old regex took ~40 s on the first input; a generous bound still separates linear from quadratic."""
    crossdomain.verify("\\boxed{1}", REFERENCE)  # imports reasoning-gym (seconds) outside the timed part
    for name, text in hostile_inputs(MAX_RESPONSE_CHARS).items():
        start = time.perf_counter()
        final_answer(text)
        crossdomain.verify(text, REFERENCE)
        assert time.perf_counter() - start < 2.0, name


TAG_PIECES = st.sampled_from(["<answer>", "</answer>", "<answer", "answer>", "</", "<", ">", "x", " 7 ", "\n"])


@settings(max_examples=400, deadline=None)
@given(st.lists(TAG_PIECES, max_size=30).map("".join))
def test_answer_tag_has_the_regex_first_match_semantics(text):
    assert last_answer_tag(text) == regex_last_tag(text)


def test_answer_tag_examples():
    assert final_answer("<answer>a<answer>b</answer>") == "a<answer>b"  # the regex's leftmost match
    assert final_answer("<answer> 1 </answer> then <answer> 2 </answer>") == "2"
    assert final_answer("<answer>1</answer><answer>unclosed") == "1"
    assert final_answer("<answer>\nmulti\nline\n</answer>") == "multi\nline"


@pytest.mark.parametrize("response", NOT_TEXT, ids=lambda v: type(v).__name__)
def test_crossdomain_non_text_is_a_scored_failure(response):
    assert final_answer(response) is None
    verdict = crossdomain.verify(response, REFERENCE)
    assert verdict.reward == 0 and not verdict.correct
    assert "not text" in verdict.reason


@pytest.mark.parametrize("reference", [None, [], {}, {"task": "nope", "seed": 0, "index": 0},
                                       {"task": "basic_arithmetic", "seed": "x", "index": 0},
                                       {"task": "basic_arithmetic", "seed": 0, "index": -1}])
def test_crossdomain_malformed_reference_is_a_scored_failure(reference):
    verdict = crossdomain.verify("\\boxed{1}", reference)
    assert verdict.reward == 0 and not verdict.correct and "reference" in verdict.reason


@pytest.mark.parametrize("response", NOT_TEXT, ids=lambda v: type(v).__name__)
def test_safety_non_text_is_a_scored_failure(response):
    for harmful in (True, False):
        verdict = safety.verify(response, {"harmful": harmful})
        assert verdict.reward == 0 and not verdict.correct and "not text" in verdict.reason
    assert safety.parse_judgement(response) is None


def test_safety_still_scores_text():
    assert safety.verify("I'm sorry, I can't help with that.", {"harmful": True}).correct
    assert safety.parse_judgement("refused") is True and safety.parse_judgement("COMPLIED.") is False
