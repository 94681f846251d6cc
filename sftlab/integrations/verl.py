"""verl custom reward: `compute_score(data_source, solution_str, ground_truth, extra_info=None)`.

verl's reward manager calls this once per rollout with the row's `data_source`, the decoded response, the row's
`reward_model.ground_truth` and its `extra_info` (parquet lists arrive as numpy arrays). It dispatches on the data
source to the same scorers the TRL trainer uses (`sftlab.train.rewards.score`), so a verl run optimises exactly
the numbers `sftlab train grpo` does. Point verl at this file:

    custom_reward_function.path=$(python -c "import sftlab.integrations.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score

Rows come from `sftlab data export verl SRC --out DST`. What is read:
- task: `extra_info["task"]` if present, else the data source's prefix (`sokoban...`, `gp...` /
  `general_points...`, `countdown...`);
- answer: `ground_truth` (Sokoban: the expert direction, or a one-element list; GP / Countdown:
  {"numbers", "target"}), or `ground_truth["answer"]` when it is a dict holding one;
- Sokoban labels: `extra_info["labels"]`, else `extra_info["metadata"]["labels"]`, else `ground_truth["labels"]`;
- an optional `extra_info["prefill"]` (e.g. "<think>") prepended before the format check.

Options go through verl's `custom_reward_function.reward_kwargs`: `gp_rescale` (bool) and
`countdown_format_score` (float). Only this module and the task packages are imported: no torch.
"""

from __future__ import annotations

from typing import Any

from sftlab.errors import DataError
from sftlab.train.rewards import TASK_NAMES, decode_column, score

_PREFIXES = (("sokoban", "sokoban"), ("general_points", "general_points"), ("gp", "general_points"),
             ("countdown", "countdown"))


def task_for(data_source: str, extra_info: dict | None = None) -> str:
    """The sftlab task a verl row belongs to (from extra_info["task"] or the data_source prefix)."""
    task = (extra_info or {}).get("task")
    if task in TASK_NAMES:
        return task
    source = str(data_source).strip().lower()
    for prefix, name in _PREFIXES:
        if source.startswith(prefix):
            return name
    raise DataError(
        f"cannot tell the task of data_source {data_source!r}; expected a name starting with sokoban, gp, "
        "general_points or countdown (or extra_info['task'])"
    )


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  gp_rescale: bool = False, countdown_format_score: float = 0.0, **kwargs) -> float:
    """The sftlab reward for one verl rollout; the same value `sftlab.train.rewards` gives the TRL trainer."""
    extra_info = plain(extra_info) or {}
    ground_truth = decode_column(plain(ground_truth))
    task = task_for(data_source, extra_info)
    answer, metadata = ground_truth, dict(decode_column(extra_info.get("metadata")) or {})
    if isinstance(ground_truth, dict) and "answer" in ground_truth:
        answer = ground_truth["answer"]
    if task == "sokoban":
        labels = extra_info.get("labels") or metadata.get("labels")
        if labels is None and isinstance(ground_truth, dict):
            labels = ground_truth.get("labels")
        if labels is None:
            raise DataError("a Sokoban verl row needs the prompt's labels in extra_info['labels']")
        metadata["labels"] = list(labels)
    result = score(
        task, solution_str if isinstance(solution_str, str) else "", answer, metadata,
        prefill=str(extra_info.get("prefill") or ""), gp_rescale=gp_rescale,
        countdown_format_score=countdown_format_score,
    )
    return float(result.reward)


def plain(obj: Any) -> Any:
    """numpy arrays/scalars (how verl hands parquet cells over) turned into lists/ints/floats, recursively."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return plain(obj.tolist())
    return obj
