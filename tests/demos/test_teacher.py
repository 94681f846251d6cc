"""Teacher rejection sampling with the real hf backend and the tiny random model (it never solves a task, so the
filtering is tested with a verifier that accepts some of its samples, and the build path with one that accepts none).
"""

import pytest

from sftlab.backends import get_backend
from sftlab.data.presets import BuildConfig
from sftlab.data.suites import suite_rows
from sftlab.data.teacher import TeacherConfig, sample_teacher, teacher_rows
from sftlab.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def backend():
    b = get_backend("hf", "tiny-random", batch_size=4)
    yield b
    b.close()


def _rows(k=6):
    return [dict(r, split="train") for r in suite_rows("countdown-eval", n=k, splits=["4num"])]


def test_keeps_the_first_verified_sample_and_records_the_rates(backend):
    config = TeacherConfig(model="tiny-random", n=4, temperature=1.0, max_new_tokens=5, seed=3, batch_size=4)
    rows = _rows(4)
    seen: dict[str, list[str]] = {}

    def verify(row, text):
        seen.setdefault(row["id"], []).append(text)
        return len(text) % 2 == 0

    kept, stats = sample_teacher(rows, verify, config, backend=backend, progress=False)
    assert stats["prompts"] == 4 and stats["samples"] == 16
    assert stats["kept"] + stats["dropped"] == 4 and stats["kept"] == len(kept)
    accepted = sum(len(t) % 2 == 0 for texts in seen.values() for t in texts)
    assert stats["accepted_samples"] == accepted and stats["acceptance_rate"] == round(accepted / 16, 6)
    for row in kept:
        text = row["completion"][0]["content"]
        assert len(text) % 2 == 0
        first = next(i for i, t in enumerate(seen[row["id"]]) if len(t) % 2 == 0)
        assert seen[row["id"]][first] == text and row["metadata"]["teacher_sample"] == first
    dropped = [i for i, texts in seen.items() if not any(len(t) % 2 == 0 for t in texts)]
    assert stats["dropped"] == len(dropped) and not {r["id"] for r in kept} & set(dropped)
    # seeded per row, whatever the batch: the first prompt alone gives the same samples as in the batch
    one, _ = sample_teacher(rows[:1], lambda r, t: True, config, backend=backend, progress=False)
    assert one[0]["completion"][0]["content"] == seen[rows[0]["id"]][0]


def test_a_teacher_that_never_passes_is_a_one_line_error(backend):
    config = TeacherConfig(model="tiny-random", n=2, max_new_tokens=4, batch_size=4)
    with pytest.raises(DataError, match=r"passed the verifier on 0 of 3 prompts \(6 samples\)"):
        teacher_rows(_rows(3), config, backend=backend, progress=False)


def test_teacher_flags_are_checked():
    assert BuildConfig("countdown-teacher", teacher="tiny-random").options["teacher_samples"] == 4
    assert BuildConfig("sokoban-cot", teacher="m").options["teacher_samples"] == 16
    assert BuildConfig("gp-diverse-cot", teacher="m").options["teacher_samples"] == 3
    with pytest.raises(ConfigError):
        BuildConfig("gp-cot", options={"teacher_samples": 2})
    with pytest.raises(ConfigError):
        TeacherConfig(model="m", top_p=0)


# --- the original's Sokoban teacher filter --------------------------------------------------------------------
BASE = ("Up", "Down", "Left", "Right")
WORDS = ("tree", "fix", "jade", "freedom")
RANDOM = ("*", "&", "1", "M")


def _original_accepts(text, labels, answer):
    """The original `compute_score_with_action_sequence_and_diverse_prompt(...) == 1`, transcribed for one step
    (the prompt's `<think>` prefill is part of `text`; the action mapping comes from the prompt's labels)."""
    import re

    counts = {tag: text.count(tag) for tag in ("<think>", "</think>", "<answer>", "</answer>")}
    pos = [text.find(tag) for tag in counts]
    if any(c != 1 for c in counts.values()) or pos[0] > pos[1] or pos[1] > pos[2] or pos[2] > pos[3]:
        return False
    matches = list(re.finditer(r"<answer>(.*?)</answer>|<action>(.*?)</action>", text))
    final = (matches[-1].group(1) or matches[-1].group(2)) if matches else None
    final = final.strip() if final else None
    if final is None:
        return False
    words = [a for a in re.split(r"[,;\s]+", final.strip()) if a]
    if not words:
        return False
    mapping = {lab: i + 1 for i, lab in enumerate(labels)}
    norm = {k.strip().lower(): v for k, v in mapping.items()}
    alt = "(?:" + "|".join(re.escape(k) for k in mapping) + ")"
    m = re.fullmatch(rf"^\s*(([1-4])\s*\(({alt})\)|({alt})|([1-4]))\s*$", words[0].strip(), flags=re.I | re.X)
    got = 0
    if m and m.group(2):
        got = int(m.group(2))
    elif m and m.group(4):
        got = norm.get(m.group(4).strip().lower(), 0)
    elif m and m.group(5):
        got = int(m.group(5))
    else:
        got = norm.get(words[0].strip().lower(), 0)
    return got == BASE.index(answer) + 1


TEACHER_CASES = [
    ("<think> x </think> <answer> Up </answer>", "", BASE, "Up", True),
    (" x </think> <answer> Up </answer>", "<think>", BASE, "Up", True),   # the prompt's prefill counts
    (" x </think> <answer> Up </answer>", "", BASE, "Up", False),         # ... and is required then
    ("<think> x </think> <answer> Up </answer>", "<think>", BASE, "Up", False),  # two <think>
    ("<think></think> <answer> Up Down </answer>", "", BASE, "Up", True),  # the first word decides
    ("<think></think> <answer> up, left </answer>", "", BASE, "Up", True),
    ("<think></think> <answer> 1 </answer>", "", BASE, "Up", True),       # bare 1-4 = Up/Down/Left/Right
    ("<think></think> <answer> 1 </answer>", "", WORDS, "Up", True),
    ("<think></think> <answer> 3(tree) </answer>", "", WORDS, "Left", True),
    ("<think></think> <answer> TREE </answer>", "", WORDS, "Up", True),
    ("<think></think> <answer> 1 </answer>", "", RANDOM, "Up", False),    # "1" is a label there: Left
    ("<think></think> <answer> 1 </answer>", "", RANDOM, "Left", True),
    ("<think></think> <answer> Up. </answer>", "", BASE, "Up", False),
    ("<think></think> <answer>\nUp\n</answer>", "", BASE, "Up", False),  # no match across lines
    ("<answer> Up </answer> <think></think>", "", BASE, "Up", False),     # order
    ("<think></think> <answer>  </answer>", "", BASE, "Up", False),
    ("<think></think> <answer> Up </answer> <action>Down</action>", "", BASE, "Up", False),  # last match wins
    ("<think></think> <answer> Left </answer>", "", BASE, "Up", False),
]


@pytest.mark.parametrize(("text", "prefill", "labels", "answer", "expected"), TEACHER_CASES)
def test_sokoban_teacher_filter_is_the_originals(text, prefill, labels, answer, expected):
    from sftlab.task_adapters.sokoban_teacher import sokoban_accepts

    assert sokoban_accepts(text, labels, answer, prefill) is expected
    assert _original_accepts(prefill + text, labels, answer) is expected


@pytest.mark.parametrize("junk", [None, b"<think></think> <answer> Up </answer>", 5, ["x"], {"a": 1}])
def test_sokoban_teacher_filter_rejects_non_text(junk):
    from sftlab.task_adapters.sokoban_teacher import sokoban_accepts

    assert sokoban_accepts(junk, BASE, "Up") is False


def test_sokoban_teacher_verify_reads_the_rows_labels_answer_and_prefill():
    from sftlab.task_adapters.sokoban_teacher import sokoban_teacher_verify

    row = {"id": "r", "task": "sokoban", "answer": "Right", "metadata": {"labels": list(WORDS)},
           "prompt": [{"role": "user", "content": "..."}]}
    assert sokoban_teacher_verify(row, "<think> ok </think> <answer> freedom </answer>")
    assert sokoban_teacher_verify(row, "<think> ok </think> <answer> 4 </answer>")
    assert not sokoban_teacher_verify(row, "<think> ok </think> <answer> Right </answer>")  # not a prompt label
    prefilled = {**row, "prompt": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "<think>"}]}
    assert sokoban_teacher_verify(prefilled, " ok </think> <answer> freedom </answer>")


# --- the GP teacher filter's arithmetic (a build option) -----------------------------------------------------------


def _gp_row(row_id: str, numbers: list[int]) -> dict:
    cards = [str(n) for n in numbers]
    return {"id": row_id, "task": "general_points", "split": "train", "variant": "fixed", "seed": 0,
            "prompt": [{"role": "user", "content": f"Cards: {cards}. Make 24."}],
            "answer": {"numbers": numbers, "target": 24}, "metadata": {"cards": cards, "mapping": "all_10"}}


def test_gp_teacher_filter_takes_the_builds_arithmetic():
    from sftlab.backends.policies import ScriptedBackend

    rows = [_gp_row("gp-fragile", [3, 3, 8, 8]), _gp_row("gp-plain", [1, 2, 3, 4])]
    script = {"gp-fragile": ['{"cards": ["3", "3", "8", "8"], "number": [3, 3, 8, 8], "formula": "8/(3-8/3)"}'],
              "gp-plain": ['{"cards": ["1", "2", "3", "4"], "number": [1, 2, 3, 4], "formula": "1*2*3*4"}']}
    config = TeacherConfig(model="scripted", n=1, max_new_tokens=64, batch_size=2)

    def kept(arithmetic):
        options = BuildConfig("gp-cot", teacher="m", options={"gp_arithmetic": arithmetic}).options
        rows_kept, stats = teacher_rows(rows, config, backend=ScriptedBackend(script), progress=False,
                                        options=options)
        return [r["id"] for r in rows_kept], stats["accepted_samples"]

    # exact fractions: 8/(3-8/3) is 24 and passes; the original's float eval (23.999999999999996) rejects it
    assert kept("exact") == (["gp-fragile", "gp-plain"], 2)
    assert kept("float") == (["gp-plain"], 1)
    assert BuildConfig("gp-cot", teacher="m").options.get("gp_arithmetic", "exact") == "exact"


def test_gp_arithmetic_option_applies_to_gp_teacher_builds_only():
    with pytest.raises(ConfigError, match="option gp_arithmetic does not apply to gp-cot"):
        BuildConfig("gp-cot", options={"gp_arithmetic": "float"})  # the search CoT is exact by construction
    with pytest.raises(ConfigError, match="option gp_arithmetic does not apply to sokoban-cot"):
        BuildConfig("sokoban-cot", teacher="m", options={"gp_arithmetic": "float"})
    with pytest.raises(ConfigError, match="gp_arithmetic"):
        BuildConfig("gp-cot", teacher="m", options={"gp_arithmetic": "decimal"})
