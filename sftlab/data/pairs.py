"""Preference pairs for DPO: each verified demonstration (chosen) beside a response the task's verifier fails
(rejected), built from a demonstration preset's rows (`<preset>-pairs`, docs/data.md).

The rejected response comes from the task adapter (`Rewards.rejected_response`): Sokoban swaps the demonstration's
action for another label, General Points and Countdown change one operator or number of its final expression, and
any other task falls back to its random policy's answer; whatever the candidate, it is kept only when the task's own
reward scores it below the demonstration. Rows whose demonstration fails the verifier, or for which no failing
response was found, are dropped and counted in the manifest. Same rows and seed give the same pairs.
"""

from __future__ import annotations

import random

from sftlab.task_adapters import Rewards, TrainingData, get_task, require

PAIRS_SUFFIX = "-pairs"


def demonstration_preset(pairs_preset: str) -> str:
    """The demonstration preset a pair preset is built over (`sokoban-cot-pairs` -> `sokoban-cot`)."""
    return pairs_preset.removesuffix(PAIRS_SUFFIX)


def pair_rows(task: str, rows: list[dict], seed: int) -> tuple[list[dict], dict]:
    """(pair rows, counts): each row's `completion` becomes `chosen`, with a `rejected` response beside it."""
    adapter = get_task(task)
    require(adapter, TrainingData), require(adapter, Rewards)  # a verified demonstration, a reward to rank by
    rng = random.Random(seed)
    pairs, unverified, unpaired = [], 0, 0
    for row in rows:
        if not adapter.verify_row(row):
            unverified += 1
            continue
        rejected = adapter.rejected_response(row, rng)
        if rejected is None:
            unpaired += 1
            continue
        pair = {}
        for key, value in row.items():
            if key == "completion":
                pair["chosen"] = value
                pair["rejected"] = [{"role": "assistant", "content": rejected}]
            else:
                pair[key] = value
        pairs.append(pair)
    return pairs, {"pairs": len(pairs), "dropped_unverified": unverified, "dropped_no_rejected": unpaired}
