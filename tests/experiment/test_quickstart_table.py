"""The quickstart's table shows the store's own numbers: the last checkpoint of each run, with intervals."""

from rich.console import Console

from sftlab.experiment.quickstart import results_table
from sftlab.store import Metric, ResultsStore


def _render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_table_shows_last_checkpoint_values_and_intervals(tmp_path):
    store_path = tmp_path / "results.sqlite"
    with ResultsStore(store_path) as store:
        def put(key, run, checkpoint, step, value):
            store.record(key, run=run, checkpoint=checkpoint, step=step, suite="sokoban-eval", metrics=[
                Metric("SimpleSokobanAlphabetical", "success", value, 4, value / 2, min(1.0, value + 0.1)),
                Metric("SimpleSokobanAlphabetical", "action_is_valid", 0.5, 2, 0.1, 0.9),
                Metric("SimpleSokobanAlphabetical", "validity_all_episodes", 0.05, 20, 0.0, 0.25)])

        put("k1", "fixed", "checkpoint-6", 6, 0.5)
        put("k2", "fixed", "checkpoint-12", 12, 0.25)
        put("k3", "base", "base", 0, 0.0)
        put("k4", "oracle", "oracle", None, 1.0)
    text = _render(results_table(store_path, suite="sokoban-eval", splits=["SimpleSokobanAlphabetical"],
                                 runs=["fixed"]))
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Alpha." in text and "fixed @6" not in text
    success = next(line for line in lines if "fixed @12" in line)
    paper, strict = lines[lines.index(success) + 1], lines[lines.index(success) + 2]
    assert "success" in success and "25% (12-35)" in success
    assert "action_is_valid" in paper and "50% (10-90)" in paper
    assert "validity_all_episodes" in strict and "5% (0-25)" in strict
    names = [name for line in lines for name in ("base", "fixed @12", "oracle") if name in line]
    assert names == ["base", "fixed @12", "oracle"]
