"""The report's step-time table, read from real state files as `sftlab run` writes them."""

import json

from sftlab.analysis.report import build_report
from sftlab.analysis.timing import duration, read_step_states, step_rows


def _state(folder, name, **fields):
    (folder / "state").mkdir(parents=True, exist_ok=True)
    (folder / "state" / f"{name}.json").write_text(json.dumps(fields))


def test_durations_read_as_a_person_writes_them():
    assert [duration(s) for s in (None, 4.25, 578, 3725)] == ["-", "4.2 s", "9 min 38 s", "1 h 02 min"]


def test_steps_are_tabled_in_start_order_with_load_and_a_total(tmp_path):
    _state(tmp_path, "train__a", id="train/a", kind="sft", status="done", started=2, seconds=120.0,
           cpu_seconds=200.0, load=[1.94, 2.1])
    _state(tmp_path, "data__a", id="data/a", kind="data", status="done", started=1, seconds=3.0,
           cpu_seconds=2.5, load=[0.5, 0.61])
    _state(tmp_path, "report", id="report", kind="report", status="running", started=3)
    (tmp_path / "state" / "broken.json").write_text("{not json")
    rows = step_rows(read_step_states(tmp_path))
    assert rows == [("data/a", "done", "3.0 s", "2.5 s", "0.5 → 0.6"),
                    ("train/a", "done", "2 min 00 s", "3 min 20 s", "1.9 → 2.1"),
                    ("all steps", "", "2 min 03 s", "3 min 22 s", "")]
    md = build_report(tmp_path, weights=False).with_suffix(".md").read_text()
    assert "| train/a | done | 2 min 00 s | 3 min 20 s | 1.9 → 2.1 |" in md
