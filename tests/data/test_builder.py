import json
import subprocess
import sys
from pathlib import Path

import pytest

from sftlab import __version__
from sftlab.cli import main
from sftlab.data import BuildConfig, build_preset, load_rows
from sftlab.data.leakage import check_overlap
from sftlab.data.presets import PRESETS
from sftlab.data.suites import suite_rows
from sftlab.demos.corrupt import check_steps
from sftlab.errors import ConfigError, DataError
from sftlab.prompts.diversity import EVAL_LABELS
from sftlab.tasks import countdown
from sftlab.tasks.general_points import MIXED_PRESET, score
from sftlab.tasks.sokoban import VARIANTS, extract_answer, parse_action

DATA_FILES = ("train.jsonl", "train.parquet")


def _manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def _build_in_subprocess(out: Path) -> None:
    code = (
        "import sys; from sftlab.cli import main; "
        f"sys.exit(main(['data', 'build', 'sokoban-diverse-cot', 'countdown-lowq', '--n', '12', '--quiet', "
        f"'--out', {str(out)!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_same_preset_and_seed_give_byte_identical_files_in_two_processes(tmp_path):
    _build_in_subprocess(tmp_path / "a")
    _build_in_subprocess(tmp_path / "b")
    for preset in ("sokoban-diverse-cot", "countdown-lowq"):
        a, b = tmp_path / "a" / preset, tmp_path / "b" / preset
        for name in DATA_FILES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), (preset, name)
        ma, mb = _manifest(a), _manifest(b)
        ma.pop("build_seconds"), mb.pop("build_seconds")
        assert ma == mb


@pytest.mark.slow
def test_gp_and_countdown_cot_are_byte_identical_across_processes(tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        code = ("import sys; from sftlab.cli import main; sys.exit(main(['data', 'build', 'gp-diverse-cot', "
                f"'countdown-cot', '--n', '16', '--quiet', '--out', {str(out)!r}]))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    for preset in ("gp-diverse-cot", "countdown-cot"):
        for name in DATA_FILES:
            assert (tmp_path / "a" / preset / name).read_bytes() == (tmp_path / "b" / preset / name).read_bytes()


def test_sokoban_verifier_rejects_malformed_completions():
    from sftlab.task_adapters.sokoban_rows import verify_row

    row = {"answer": "Up", "metadata": {"accepted": ["Up", "Down", "Left", "Right"]}}
    for text, ok in [("<think> x </think> <answer> Up </answer>", True), ("<think> x </think> no answer", False),
                     ("<answer> Up </answer> </think>", False), ("<think></think> <answer> Down </answer>", False),
                     ("", False)]:
        assert verify_row({**row, "completion": [{"role": "assistant", "content": text}]}) is ok


def test_a_different_seed_changes_the_data(tmp_path):
    a = build_preset("sokoban-diverse-answer-only", tmp_path / "a", n=5, progress=False)
    b = build_preset("sokoban-diverse-answer-only", tmp_path / "b", n=5, seed=1, progress=False)
    assert (a / "train.jsonl").read_bytes() != (b / "train.jsonl").read_bytes()


@pytest.mark.parametrize("preset", ["sokoban-answer-only", "sokoban-cot", "sokoban-diverse-answer-only",
                                    "sokoban-diverse-cot"])
def test_sokoban_completions_reverify_100_percent(tmp_path, preset):
    rows = load_rows(build_preset(preset, tmp_path / preset, n=15, progress=False))
    assert _manifest(tmp_path / preset)["verification"]["correct_fraction"] == 1.0
    for row in rows:
        text = row["completion"][0]["content"]
        meta = row["metadata"]
        assert parse_action(extract_answer(text), meta["accepted"]) == row["answer"] == meta["plan"][0]
        assert row["prompt"][0]["role"] == "user" and row["completion"][0]["role"] == "assistant"
        if "answer-only" in preset:
            assert text.startswith("<think></think> <answer> ")
        else:
            assert "Shortest plan from here" in text
    # one row per state along the path: steps of a puzzle run 0..k-1 and the plans shrink by one
    first = [r for r in rows if r["seed"] == rows[0]["seed"]]
    assert [r["metadata"]["step"] for r in first] == list(range(len(first)))
    assert len(first[0]["metadata"]["plan"]) == len(first)


def test_diverse_sokoban_vocabularies_vary_and_avoid_eval_labels(tmp_path):
    rows = load_rows(build_preset("sokoban-diverse-answer-only", tmp_path / "d", n=20, progress=False))
    label_sets = [tuple(r["metadata"]["labels"]) for r in rows]
    assert len(set(label_sets)) == len(rows)
    eval_labels = {x.casefold() for v in VARIANTS.values() for x in v.prompt_labels + v.accepted_labels}
    eval_labels |= {x.casefold() for x in EVAL_LABELS}
    for row, labels in zip(rows, label_sets, strict=True):
        assert not {x.casefold() for x in labels} & eval_labels
        user = row["prompt"][0]["content"]
        assert f"where {labels[0]} is Up, {labels[1]} is Down, {labels[2]} is Left, {labels[3]} is Right." in user
        assert extract_answer(row["completion"][0]["content"]).strip() in labels


def test_fixed_sokoban_prompt_has_base_words_only(tmp_path):
    rows = load_rows(build_preset("sokoban-rl", tmp_path / "rl", n=5, progress=False))
    assert all("completion" not in r for r in rows)
    assert all(r["metadata"]["labels"] == ["Up", "Down", "Left", "Right"] for r in rows)
    assert all("where" not in r["prompt"][0]["content"] for r in rows)


@pytest.mark.parametrize("preset", ["gp-answer-only", "gp-cot", "gp-diverse-cot"])
def test_gp_completions_score_five(tmp_path, preset):
    rows = load_rows(build_preset(preset, tmp_path / preset, n=16, progress=False))
    assert len(rows) == 16
    for row in rows:
        assert score(row["completion"][0]["content"], row["answer"]["numbers"], 24) == 5
    if "diverse" in preset:
        assert [r["metadata"]["mapping"] for r in rows] == [m for m in MIXED_PRESET for _ in range(2)]
    else:
        assert {r["metadata"]["mapping"] for r in rows} == {"all_10"}


def test_countdown_arms_share_queries_and_verify_as_configured(tmp_path):
    built = {p: load_rows(build_preset(p, tmp_path / p, n=40, progress=False))
             for p in ("countdown-cot", "countdown-nocot", "countdown-lowq", "countdown-rl",
                       "countdown-lowq-corrupted", "countdown-lowq-unverified")}
    prompts = {p: [r["prompt"] for r in rows] for p, rows in built.items()}
    assert all(v == prompts["countdown-cot"] for v in prompts.values())

    def ok(row):
        return countdown.verify(row["completion"][0]["content"], row["answer"]["numbers"],
                                row["answer"]["target"]).reward == 1

    assert all(ok(r) for r in built["countdown-cot"]) and all(ok(r) for r in built["countdown-nocot"])
    assert all("<think>" in r["completion"][0]["content"] for r in built["countdown-cot"])
    assert all("<think>" not in r["completion"][0]["content"] for r in built["countdown-nocot"])
    # lowq: exactly 25% wrong answers, 25% rows with wrong steps whose answers are right, all short
    lowq = built["countdown-lowq"]
    assert sum(not ok(r) for r in lowq) == 10
    stepped = [r for r in lowq if r["metadata"]["lowq"] == "wrong_step"]
    assert len(stepped) == 10 and all(ok(r) and check_steps(r["completion"][0]["content"])[1] for r in stepped)
    assert all("<think>" not in r["completion"][0]["content"] for r in lowq)
    corrupted = built["countdown-lowq-corrupted"]
    assert all(ok(r) for r in corrupted)
    assert sum(check_steps(r["completion"][0]["content"].split("</think>")[0])[1] > 0 for r in corrupted) == 20
    assert sum(not ok(r) for r in built["countdown-lowq-unverified"]) == 20
    assert _manifest(tmp_path / "countdown-lowq")["verification"]["correct"] == 30


def test_leakage_check_catches_a_planted_duplicate():
    eval_rows = suite_rows("sokoban-eval", n=3)
    planted = dict(eval_rows[4], split="train", id="planted")
    report = check_overlap([planted], eval_rows)
    assert report["overlap"] == 1 and report["overlap_examples"] == [eval_rows[4]["id"]]
    gp_eval = suite_rows("gp-eval", n=3, splits=["all_5"])
    assert check_overlap([dict(gp_eval[0], split="train")], gp_eval)["overlap"] == 1
    assert check_overlap([dict(gp_eval[0], split="train")], suite_rows("gp-eval", n=3, splits=["id"]))[
        "overlap"] == 0


def test_paper_seeds_overlap_fails_unless_allowed(tmp_path):
    out = tmp_path / "paper"
    with pytest.raises(DataError, match="--allow-overlap"):
        build_preset("sokoban-rl", out, paper_seeds=True, progress=False)
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written
    build_preset("sokoban-rl", out, paper_seeds=True, allow_overlap=True, progress=False)
    leak = _manifest(out)["leakage"]
    assert leak["overlap"] >= 100 and leak["paper_seeds"] and "42" in leak["note"]
    assert min(r["seed"] for r in load_rows(out)) == 42


def test_default_builds_have_no_overlap(tmp_path):
    for preset in ("sokoban-rl", "gp-rl"):
        build_preset(preset, tmp_path / preset, n=30, progress=False)
        assert _manifest(tmp_path / preset)["leakage"]["overlap"] == 0


def test_bad_configs_are_one_sentence_errors():
    cases = [
        dict(preset="nope"), dict(preset="sokoban-rl", teacher="tiny-random"), dict(preset="countdown-teacher"),
        dict(preset="sokoban-eval", paper_seeds=True), dict(preset="countdown-cot", paper_seeds=True),
        dict(preset="sokoban-cot", options={"dead_ends": 3}), dict(preset="gp-cot", options={"nope": 1}),
        dict(preset="countdown-lowq", options={"wrong_answer_fraction": 0.8, "wrong_step_fraction": 0.5}),
        dict(preset="gp-cot", n=0), dict(preset="gp-cot", seed=-1),
        dict(preset="sokoban-cot", options={"cot_board": "grid"}),
        dict(preset="sokoban-answer-only", options={"cot_board": "rows"}),
    ]
    for case in cases:
        with pytest.raises(ConfigError) as info:
            BuildConfig(**case)
        assert "\n" not in str(info.value)


def test_existing_folder_needs_force_and_load_rows_checks_the_manifest(tmp_path, capsys):
    out = build_preset("sokoban-rl", tmp_path / "x", n=3, progress=False)
    with pytest.raises(DataError, match="--force"):
        build_preset("sokoban-rl", out, n=3, progress=False)
    assert main(["data", "build", "sokoban-rl", "--n", "3", "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(DataError, match="no test split"):
        load_rows(out, "test")
    with (out / "train.jsonl").open("a") as fh:
        fh.write('{"id": "extra"}\n')
    with pytest.raises(DataError, match="does not match its manifest"):
        load_rows(out)
    with pytest.raises(DataError):
        load_rows(tmp_path / "no-such-folder-or-preset")


def test_load_rows_builds_a_preset_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SFTLAB_CACHE", str(tmp_path / "cache"))
    rows = load_rows("sokoban-eval", split="test")
    assert len(rows) == 800 and (tmp_path / "cache" / "data" / f"sokoban-eval-seed0-v{__version__}" / "manifest.json").is_file()
    assert load_rows("sokoban-eval", split="test") == rows


def test_every_preset_is_listed(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert name in out
