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

from sftlab.errors import DataError

EVAL_SUITE_OF_TASK = {"sokoban": "sokoban-eval", "general_points": "gp-eval", "countdown": "countdown-eval"}


def row_key(row: dict) -> str:
    """The content key of a row (training or eval)."""
    task, meta = row["task"], row["metadata"]
    if task == "sokoban":
        return "\n".join(meta["rows"])
    if task == "general_points":
        return f"{meta['mapping']}|{row['answer']['target']}|{','.join(meta['cards'])}"
    if task == "countdown":
        numbers = sorted(int(x) for x in row["answer"]["numbers"])
        return f"{','.join(map(str, numbers))}|{row['answer']['target']}"
    raise DataError(f"no leakage key for task {task!r}")


def problem_key(row: dict) -> str | None:
    """The coarse General Points key: sorted card values + mapping + target (None for other tasks)."""
    if row["task"] != "general_points":
        return None
    values = ",".join(str(v) for v in sorted(row["answer"]["numbers"]))
    return f"{row['metadata']['mapping']}|{row['answer']['target']}|{values}"


@functools.lru_cache(maxsize=4)
def _eval_rows(task: str) -> tuple[dict, ...]:
    """The default eval suite rows a training set of `task` could leak into (cached per process).

    General Points training hands have 4 cards, so the 5-card split cannot match and is not dealt here.
    """
    from sftlab.data.suites import suite_rows

    splits = None
    if task == "general_points":
        from sftlab.tasks.general_points import SPLITS

        splits = [name for name, spec in SPLITS.items() if spec.num_cards == 4]
    return tuple(suite_rows(EVAL_SUITE_OF_TASK[task], splits=splits))


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
    suite = EVAL_SUITE_OF_TASK[task]
    report = {"eval_suite": suite, **check_overlap(train_rows, list(_eval_rows(task))),
              "skipped_training_candidates": skipped, "paper_seeds": paper_seeds,
              "key": {"sokoban": "XSB rows of every training state vs each eval episode's initial state",
                      "general_points": "cards as shown (in order) + stated mapping + target",
                      "countdown": "sorted numbers + target"}[task]}
    if paper_seeds:
        report["note"] = ("--paper-seeds: training seeds 42.. as in the original, which replays eval puzzles "
                          "(eval base seed 123 for Sokoban, 42 for General Points) in training")
    return report
