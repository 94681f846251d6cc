"""Leakage control: no eval puzzle, hand or query may appear, by content, in a training set.

Content keys (what "the same item" means):
- Sokoban: the XSB rows of a state. Every training row is a state; an eval episode is keyed by its initial state.
- General Points: the hand as the prompt shows it (cards in order, the stated face-card mapping, the target).
  The coarser "same arithmetic problem" key (sorted card values + mapping) is reported too, for information only:
  the 24-game has only a few hundred distinct value multisets, so any 10k-hand training set covers nearly all of
  them and that overlap is inherent to the task (see docs/data.md).
- Countdown: the sorted numbers and the target.

Training builds skip candidate instances whose key is in the task's default eval suite (unless --paper-seeds asks
for the original's seeds, overlap included) and then check the finished rows again; a non-zero overlap fails the
build unless --allow-overlap.
"""

from __future__ import annotations

import functools

from sftlab.data.suites import suite_rows
from sftlab.errors import DataError
from sftlab.task_adapters import TrainingData, get_task, require


def row_key(row: dict) -> str:
    """The content key of a row (training or eval), as its task defines it."""
    return _data(row["task"]).leakage_key(row)


def problem_key(row: dict) -> str | None:
    """The coarse "same problem" key of a row (General Points: sorted card values + mapping + target), or None."""
    return _data(row["task"]).problem_key(row)


def _data(task: str) -> TrainingData:
    return require(get_task(task), TrainingData)


def eval_suite_of(task: str) -> str:
    """The eval suite a training set of `task` is checked against."""
    suite = get_task(task).default_suite()
    if suite is None:
        raise DataError(f"task {task} has no eval suite to check training rows against")
    return suite


@functools.lru_cache(maxsize=4)
def _eval_rows(task: str) -> tuple[dict, ...]:
    """The default eval suite rows a training set of `task` could leak into (cached per process)."""
    return tuple(suite_rows(eval_suite_of(task), splits=_data(task).leakage_eval_splits()))


def eval_keys(task: str) -> dict[str, str]:
    """Key -> first eval row id, over the task's default eval suite."""
    out: dict[str, str] = {}
    for row in _eval_rows(task):
        out.setdefault(row_key(row), row["id"])
    return out


def check_overlap(train_rows: list[dict], eval_rows: list[dict]) -> dict:
    """Count the eval rows whose content key appears among `train_rows`; list a few of them."""
    train = {row_key(r) for r in train_rows}
    hits = [r["id"] for r in eval_rows if row_key(r) in train]
    report = {"eval_items": len(eval_rows), "overlap": len(hits), "overlap_examples": hits[:10]}
    coarse_train = {problem_key(r) for r in train_rows} - {None}
    if coarse_train:
        report["problem_overlap"] = sum(1 for r in eval_rows if problem_key(r) in coarse_train)
    return report


def leakage_report(task: str, train_rows: list[dict], *, skipped: int, paper_seeds: bool) -> dict:
    """The manifest's leakage section for a training build, against the task's default eval suite."""
    suite = eval_suite_of(task)
    report = {"eval_suite": suite, **check_overlap(train_rows, list(_eval_rows(task))),
              "skipped_training_candidates": skipped, "paper_seeds": paper_seeds,
              "key": _data(task).leakage_key_text}
    if paper_seeds:
        report["note"] = ("--paper-seeds: training seeds 42.. as in the original, which replays eval puzzles "
                          "(eval base seed 123 for Sokoban, 42 for General Points) in training")
    return report
