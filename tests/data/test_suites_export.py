import json

import pandas as pd
import pytest

from sftlab.cli import main
from sftlab.data import build_preset, load_rows
from sftlab.data.export import export
from sftlab.data.suites import suite_rows
from sftlab.errors import ConfigError
from sftlab.tasks.general_points import SPLITS, score
from sftlab.tasks.sokoban import EVAL_TAGS, SokobanGame, get_variant


def test_sokoban_eval_suite_follows_the_paper_protocol():
    rows = suite_rows("sokoban-eval", n=3)
    assert [r["split"] for r in rows] == [t for t in EVAL_TAGS for _ in range(3)]
    for t, tag in enumerate(EVAL_TAGS):
        tag_rows = [r for r in rows if r["split"] == tag]
        assert [r["seed"] for r in tag_rows] == [123 + 100 * t + j for j in range(3)]
        v = get_variant(tag)
        for r in tag_rows:
            meta = r["metadata"]
            assert meta["labels"] == list(v.prompt_labels) and meta["accepted"] == list(v.accepted_labels)
            assert meta["dim"] == list(v.dim) and meta["num_boxes"] == v.num_boxes and meta["step"] == 0
            assert "completion" not in r
            game = SokobanGame(meta["rows"])
            for move in r["answer"]:
                game.step(move)
            assert game.solved
    fake = [r for r in rows if r["split"] == "FakeSokobanNumerical"][0]
    assert "where 1 is Up" in fake["prompt"][0]["content"]
    assert fake["metadata"]["accepted"] == ["Up", "Down", "Left", "Right"]
    assert suite_rows("sokoban-eval", n=3) == rows


def test_gp_eval_suite_has_the_nine_splits_with_their_rules():
    rows = suite_rows("gp-eval", n=4)
    assert len(rows) == 9 * 4 and [r["split"] for r in rows[::4]] == list(SPLITS)
    for r in rows:
        spec = SPLITS[r["split"]]
        assert r["metadata"]["mapping"] == spec.prompt_mapping and r["metadata"]["value_mapping"] == spec.value_mapping
        assert len(r["answer"]["numbers"]) == spec.num_cards
        best = r["metadata"]["solutions"][0]
        assert score(json.dumps({"formula": best}), r["answer"]["numbers"]) == 5
    fake = [r for r in rows if r["split"] == "all_5_fake"][0]
    assert "all count as '5'" in fake["prompt"][0]["content"]
    assert [r["seed"] for r in rows if r["split"] == "id"] == [42, 43, 44, 45]


def test_countdown_eval_suite_has_in_domain_first():
    rows = suite_rows("countdown-eval", n=3)
    assert rows[0]["split"] == "4num" and rows[0]["metadata"]["role"] == "id"
    assert {r["split"] for r in rows} >= {"3num", "4num", "5num", "large"}


def test_unknown_suite_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown eval suite"):
        suite_rows("nope")


def test_verl_export_loads_with_pandas(tmp_path):
    src = build_preset("sokoban-diverse-cot", tmp_path / "src", n=4, progress=False)
    assert main(["data", "export", "verl", str(src), "--out", str(tmp_path / "verl")]) == 0
    df = pd.read_parquet(tmp_path / "verl" / "train.parquet")
    assert {"data_source", "prompt", "ability", "reward_model", "extra_info"} <= set(df.columns)
    rows = load_rows(src)
    assert len(df) == len(rows)
    first = df.iloc[0]
    assert first["data_source"] == "sokoban_6x6_1horizon_random" and first["ability"] == "bfs"
    assert first["reward_model"]["style"] == "rule"
    assert list(first["reward_model"]["ground_truth"]) == [rows[0]["answer"]]
    assert first["prompt"][0]["content"] == rows[0]["prompt"][0]["content"]
    assert first["extra_info"]["answer"] == rows[0]["completion"][0]["content"]
    gp = build_preset("gp-eval", tmp_path / "gp", n=2, progress=False)
    export("verl", gp, tmp_path / "gpv")
    gdf = pd.read_parquet(tmp_path / "gpv" / "test.parquet")
    assert gdf.iloc[0]["data_source"] == "gp_l_id" and gdf.iloc[0]["reward_model"]["ground_truth"]["target"] == 24


def test_trl_export_and_parquet_match_jsonl(tmp_path):
    src = build_preset("countdown-nocot", tmp_path / "src", n=5, progress=False)
    assert pd.read_parquet(src / "train.parquet")["id"].tolist() == [r["id"] for r in load_rows(src)]
    export("trl", src, tmp_path / "trl")
    df = pd.read_parquet(tmp_path / "trl" / "train.parquet")
    assert list(df.columns) == ["prompt", "completion"] and len(df) == 5


def test_show_prints_rows(tmp_path, capsys):
    src = build_preset("gp-diverse-answer-only", tmp_path / "g", n=8, progress=False)
    assert main(["data", "show", str(src), "--n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("=== gp-diverse-answer-only-") == 2 and "--- completion (assistant) ---" in out
    assert main(["data", "show", str(tmp_path / "missing")]) == 2
