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
