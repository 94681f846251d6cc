"""Run-folder reading: only complete checkpoints are listed, step 0 is the base model."""

from __future__ import annotations

import pytest

from sftlab.errors import DataError
from sftlab.io import atomic_write_json
from sftlab.train.runs import list_checkpoints, read_run


def test_half_written_checkpoints_are_never_listed(tmp_path):
    atomic_write_json(tmp_path / "run.json", {"kind": "sft", "base_model": "smollm2-135m", "status": "running"})
    for step, complete in ((20, True), (3, True), (40, False)):
        folder = tmp_path / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        if complete:
            (folder / "COMPLETE").write_text("{}")
    (tmp_path / "checkpoints" / "README.md").write_text("not a checkpoint")
    listed = list_checkpoints(tmp_path)
    assert [step for step, _ in listed] == [0, 3, 20]
    assert listed[0] == (0, "smollm2-135m") and listed[2][1].endswith("checkpoint-20")


def test_a_folder_without_run_json_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not a run folder"):
        read_run(tmp_path)
    with pytest.raises(DataError):
        list_checkpoints(tmp_path)
