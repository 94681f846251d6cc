"""Checkpoint schedules: exact step lists for epoch, log and explicit grids."""

from __future__ import annotations

import pytest

from sftlab.errors import ConfigError
from sftlab.train.schedule import LOG_GRID, checkpoint_steps, parse_schedule


def test_epoch_schedule_saves_each_epoch_end_and_the_last_step():
    assert checkpoint_steps("epoch", 30, 6) == [6, 12, 18, 24, 30]
    assert checkpoint_steps("epoch", 20, 6) == [6, 12, 18, 20]  # max_steps cut the run mid-epoch


def test_log_schedule_is_the_paper_grid_at_640_steps_and_scales():
    assert checkpoint_steps("log", 640, 80) == list(LOG_GRID) == [10, 20, 40, 80, 160, 320, 480, 640]
    assert checkpoint_steps("log", 1280, 80) == [2 * g for g in LOG_GRID]
    assert checkpoint_steps("log", 20, 4) == [1, 3, 5, 10, 15, 20]  # 80*20/640 = 2.5 rounds up
    assert checkpoint_steps("log", 8, 4) == [1, 2, 4, 6, 8]
    assert checkpoint_steps("log", 1, 1) == [1]


def test_explicit_schedule_adds_the_last_step_and_rejects_steps_beyond_the_run():
    assert checkpoint_steps("40,10,20", 50, 10) == [10, 20, 40, 50]
    assert checkpoint_steps([5, 5, 10], 10, 10) == [5, 10]
    with pytest.raises(ConfigError, match="beyond the run's 30"):
        checkpoint_steps([10, 40], 30, 10)


@pytest.mark.parametrize("bad", ["weekly", "10,x", "", [0, 5], [-1], "1.5"])
def test_bad_schedules_are_config_errors(bad):
    with pytest.raises(ConfigError):
        parse_schedule(bad)


def test_parse_schedule_normalises():
    assert parse_schedule(" LOG ") == "log"
    assert parse_schedule("20, 10") == (10, 20)
