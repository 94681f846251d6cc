import json
import sqlite3

import pytest

from sftlab.errors import DataError
from sftlab.io import read_jsonl, read_manifest, staged_dir, write_jsonl, write_manifest
from sftlab.stats import wilson_interval
from sftlab.store import Metric, ResultsStore


def test_staged_dir_never_leaves_partial_output(tmp_path):
    out = tmp_path / "data"
    with pytest.raises(RuntimeError), staged_dir(out) as tmp:
        (tmp / "a.jsonl").write_text("{}\n")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_staged_dir_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "data"
    with staged_dir(out) as tmp:
        write_jsonl(tmp / "rows.jsonl", [{"a": 1}])
    with pytest.raises(DataError, match="--force"), staged_dir(out):
        pass
    with staged_dir(out, force=True) as tmp:
        write_jsonl(tmp / "rows.jsonl", [{"a": 2}, {"a": 3}])
    assert read_jsonl(out / "rows.jsonl") == [{"a": 2}, {"a": 3}]


def test_manifest_counts_rows_and_hashes_files(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"x": i} for i in range(5)])
    manifest = write_manifest(tmp_path, {"preset": "p", "seed": 1})
    again = read_manifest(tmp_path)
    assert again == json.loads(json.dumps(manifest))
    assert again["files"]["train.jsonl"]["rows"] == 5
    assert len(again["files"]["train.jsonl"]["sha256"]) == 64
    with pytest.raises(DataError, match="manifest"):
        read_manifest(tmp_path / "nope")


def test_malformed_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        read_jsonl(path)


def test_wilson_interval_known_values():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_results_store_roundtrip_and_replace(tmp_path):
    store = ResultsStore(tmp_path)
    metrics = [Metric("SimpleSokoban", "success", 0.5, 100, 0.4, 0.6), Metric("SimpleSokoban", "validity", 1, 100)]
    store.record("k1", run="fixed", checkpoint="checkpoint-10", step=10, suite="sokoban-eval", metrics=metrics,
                 settings={"temperature": 0.5})
    store.record("k1", run="fixed", checkpoint="checkpoint-10", step=10, suite="sokoban-eval",
                 metrics=[Metric("SimpleSokoban", "success", 0.7, 100)])
    assert store.has("k1") and not store.has("k2")
    rows = store.query(metric="success")
    assert [(r.value, r.n, r.step) for r in rows] == [(0.7, 100, 10)]
    assert len(store) == 2
    store.close()
    # a real SQLite file in WAL mode that other tools can read
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 2


def _record_one(path, index, barrier):
    barrier.wait()
    try:
        with ResultsStore(path) as store:
            store.record(f"key-{index}", run="r", checkpoint="c", suite="s",
                         metrics=[Metric(split="id", metric="success", value=1.0, n=1)])
    except sqlite3.Error as exc:
        return repr(exc)
    return None


def test_processes_creating_one_new_store_together_all_record(tmp_path):
    """Several evaluations that open the same not-yet-existing store at once (as parallel study steps do) all
    land: setting up a new file in WAL mode answers "database is locked" at once, which the store retries."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    # one pool for every trial (spawning 6 fresh interpreters per trial cost more than the race itself): each of
    # the 6 tasks waits at the barrier, so each trial's 6 tasks run in 6 different processes at once
    with ctx.Manager() as manager, ctx.Pool(6) as pool:
        for trial in range(8):
            path = tmp_path / f"t{trial}" / "results.sqlite"
            barrier = manager.Barrier(6)
            errors = pool.starmap(_record_one, [(path, i, barrier) for i in range(6)])
            assert errors == [None] * 6
            with ResultsStore(path) as store:
                assert len(store) == 6
